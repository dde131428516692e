"""What a refused recording says: the game it concerns and why, so that a
server's log line is enough to act on."""
import liapstore
from liapstore import Conflict, InvalidInput
from liapstore.testing.support import SHORT, expect, play_recorded, record, script, start


def test_conflicts_name_the_game_and_the_reason(store):
    sc = script(19)
    table = start(store, **SHORT)
    gid = table.game.id
    record(store, gid, sc.steps[:4])
    e = expect(Conflict, store.record_action, gid, 9, sc.actions[8])
    assert str(gid) in str(e) and "version 4" in str(e) and "5" in str(e)
    different = {"type": "deal", "hands": list(reversed(sc.actions[0]["hands"]))}
    e = expect(Conflict, store.record_action, gid, 1, different)
    assert str(gid) in str(e) and "different action" in str(e)
    e = expect(InvalidInput, store.record_action, gid, 5, {"type": "fly"})
    assert str(gid) in str(e) and "#5" in str(e)

    store.abandon_game(gid)
    e = expect(Conflict, store.record_action, gid, 5, sc.actions[4])
    assert str(gid) in str(e)
    e = expect(Conflict, store.abandon_game, gid)
    assert str(gid) in str(e) and "over" in str(e)

    done, _, game = play_recorded(store, 20, code="DONE")
    e = expect(Conflict, store.abandon_game, game.id)
    assert str(game.id) in str(e) and "already over" in str(e)


def test_an_abandoned_game_says_so_to_a_fresh_store(store_url):
    sc = script(21)
    with liapstore.connect(store_url) as a:
        table = start(a, **SHORT)
        gid = table.game.id
        record(a, gid, sc.steps[:3])
        a.abandon_game(gid)
        if not a.durable:
            fresh = a
        else:
            fresh = liapstore.connect(store_url)
        try:
            e = expect(Conflict, fresh.record_action, gid, 4, sc.actions[3])
            assert str(gid) in str(e) and "abandoned" in str(e)
        finally:
            if fresh is not a:
                fresh.close()


def test_numbers_ahead_and_used_numbers_say_which(store):
    sc = script(22)
    table = start(store, **SHORT)
    gid = table.game.id
    record(store, gid, sc.steps[:3])
    # Through the cached state and through the database alike.
    for fresh in (False, True):
        if fresh and store.durable:
            store = liapstore.connect(store.url)
        for ahead in (5, 6):
            e = expect(Conflict, store.record_action, gid, ahead, sc.actions[ahead - 1])
            assert "next sequence number is 4" in str(e) and f"not {ahead}" in str(e)
        e = expect(Conflict, store.record_action, gid, 2, {"type": "fly"})
        assert "already holds a different action" in str(e) and "is not next" not in str(e)
    if store.durable:
        store.close()


def test_list_games_names_its_bad_arguments(store):
    for kwargs, name in (({"room_id": "room-1"}, "room_id"), ({"player_id": 7}, "player_id"),
                         ({"active": "yes"}, "active"), ({"limit": 0}, "limit")):
        e = expect(InvalidInput, store.list_games, **kwargs)
        assert name in str(e), (name, str(e))


def test_list_games_pages_by_fifty(store):
    from liapstore.testing.support import make_players, make_room
    players = [p.id for p in make_players(store)]
    room = make_room(store)
    for _ in range(51):
        store.start_game(room.id, players)
    page = store.list_games()
    assert len(page.items) == 50
    assert len(store.list_games(after=page.next_cursor).items) == 1


def test_game_methods_name_their_bad_arguments(store):
    table = start(store, **SHORT)
    gid = table.game.id
    for call, name in ((lambda: store.get_game("g"), "game_id"),
                       (lambda: store.get_seats("g"), "game_id"),
                       (lambda: store.list_rounds("g"), "game_id"),
                       (lambda: store.list_turns(gid, round_number=0), "round_number"),
                       (lambda: store.list_actions("g"), "game_id"),
                       (lambda: store.list_actions(gid, after_sequence=-1), "after_sequence"),
                       (lambda: store.list_actions(gid, limit=0), "limit"),
                       (lambda: store.record_action("g", 1, {}), "game_id"),
                       (lambda: store.record_action(gid, 0, {}), "sequence_number"),
                       (lambda: store.record_action(gid, 1, "deal"), "action"),
                       (lambda: store.load_game("g"), "game_id"),
                       (lambda: store.abandon_game("g"), "game_id"),
                       (lambda: store.start_game("r", []), "room_id"),
                       (lambda: store.start_game(table.room.id, ["p"] * 4), "players"),
                       (lambda: store.start_game(table.room.id, [p.id for p in table.players],
                                                 bots=[7]), "bots"),
                       (lambda: store.start_game(table.room.id, [p.id for p in table.players],
                                                 winning_score=0), "winning_score"),
                       (lambda: store.start_game(table.room.id, [p.id for p in table.players],
                                                 max_rounds=0), "max_rounds")):
        e = expect(InvalidInput, call)
        assert name in str(e), (name, str(e))


def test_any_seat_can_be_a_bot(store):
    from liapstore.testing.support import make_players, make_room
    players = [p.id for p in make_players(store)]
    game = store.start_game(make_room(store).id, players, bots=[0, 3])
    assert [s.is_bot for s in store.get_seats(game.id)] == [True, False, False, True]


def test_settings_have_upper_bounds(store):
    from liapstore.testing.support import make_players, make_room
    players = [p.id for p in make_players(store)]
    room = make_room(store)
    for kwargs, name in (({"winning_score": 10_001}, "winning_score"), ({"max_rounds": 1_001}, "max_rounds")):
        e = expect(InvalidInput, store.start_game, room.id, players, **kwargs)
        assert name in str(e)
    game = store.start_game(room.id, players, winning_score=10_000, max_rounds=1_000)
    assert (game.winning_score, game.max_rounds) == (10_000, 1_000)
