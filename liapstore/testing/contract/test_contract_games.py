"""Starting games, reading them back, and listing them."""
import uuid
from datetime import datetime, timezone

import pytest

import liapstore
from liapstore import InvalidInput, NotFound
from liapstore.game import rules
from liapstore.testing.support import SHORT, expect, make_players, make_room, play_recorded, rows, start

UTC = timezone.utc


def test_start_game(store):
    players = make_players(store)
    room = make_room(store)
    before = datetime.now(UTC)
    game = store.start_game(room.id, [p.id for p in players], bots=(1, 3), winning_score=30,
                            max_rounds=7)
    assert isinstance(game, liapstore.Game) and isinstance(game.id, uuid.UUID)
    assert game.room_id == room.id
    assert before <= game.started_at <= datetime.now(UTC)
    assert game.ended_at is None and not game.finished
    assert (game.winning_score, game.max_rounds, game.initial_multiplier) == (30, 7, 1)
    assert game.version == 0
    assert game.winner_id is None and game.final_scores is None
    fresh = rules.new_game(30, 7)
    assert game.current_phase == fresh.phase and game.current_round == fresh.round
    assert game.phase_data == fresh.to_dict()
    assert store.get_game(game.id) == game
    assert store.get_game(str(game.id)) == game

    seats = store.get_seats(game.id)
    assert [s.position for s in seats] == [0, 1, 2, 3]
    assert [s.player_id for s in seats] == [p.id for p in players]
    assert [s.is_bot for s in seats] == [False, True, False, True]
    for s in seats:
        assert isinstance(s, liapstore.Seat)
        assert (s.game_id, s.score, s.is_active, s.pieces_in_hand, s.declared_piles,
                s.captured_piles) == (game.id, 0, True, [], None, 0)

    r = store.get_room(room.id)
    assert (r.status, r.current_game_id) == ("playing", game.id)

    saved = store.load_game(game.id)
    assert saved.game == game and saved.state == fresh
    assert [s.player_id for s in saved.seats] == [p.id for p in players]


def test_start_game_accepts_string_ids_and_defaults(store):
    players = make_players(store)
    room = make_room(store)
    game = store.start_game(str(room.id), [str(p.id) for p in players])
    assert (game.winning_score, game.max_rounds, game.version) == (50, 20, 0)
    assert [s.is_bot for s in store.get_seats(game.id)] == [False] * 4


def test_bad_player_lists_and_settings_are_invalid_input(store):
    players = make_players(store)
    ps = [p.id for p in players]
    room = make_room(store)
    counts = rows(store)
    for bad in [ps[:3], ps + ps[:1], [], ps[:3] + ps[:1], [ps[0]] * 4, None, "abcd",
                {p: 1 for p in ps}, ps[:3] + ["not-a-uuid"], ps[:3] + [None]]:
        expect(InvalidInput, store.start_game, room.id, bad)
        assert rows(store) == counts, bad
    for kwargs in [{"bots": (4,)}, {"bots": (-1,)}, {"bots": ("1",)},
                   {"winning_score": 0}, {"winning_score": "50"}, {"max_rounds": 0},
                   {"max_rounds": 1.5}]:
        expect(InvalidInput, store.start_game, room.id, ps, **kwargs)
        assert rows(store) == counts, kwargs
    r = store.get_room(room.id)
    assert (r.status, r.current_game_id) == ("waiting", None)


def test_unknown_room_writes_nothing(store):
    players = make_players(store)
    counts = rows(store)
    with pytest.raises(NotFound):
        store.start_game(uuid.uuid4(), [p.id for p in players])
    assert rows(store) == counts
    with pytest.raises(InvalidInput):
        store.start_game("room-1", [p.id for p in players])


def test_unknown_player_writes_nothing(store):
    known = [p.id for p in make_players(store)]
    room = make_room(store)
    counts = rows(store)
    for missing_seat in (0, 3):
        players = list(known)
        players[missing_seat] = uuid.uuid4()
        expect(NotFound, store.start_game, room.id, players)
        assert rows(store) == counts
    assert rows(store)["games"] == 0 and rows(store)["game_players"] == 0
    r = store.get_room(room.id)
    assert (r.status, r.current_game_id) == ("waiting", None)
    assert store.unfinished_games() == []
    assert len(store.list_games()) == 0


def test_unknown_game(store):
    with pytest.raises(NotFound):
        store.get_game(uuid.uuid4())
    with pytest.raises(NotFound):
        store.get_seats(uuid.uuid4())
    with pytest.raises(NotFound):
        store.load_game(uuid.uuid4())
    with pytest.raises(InvalidInput):
        store.get_game("nope")


def test_list_games_filters_and_pages(store):
    ps = make_players(store, 6)
    room_a, room_b = make_room(store, "RA"), make_room(store, "RB")
    g1 = store.start_game(room_a.id, [p.id for p in ps[:4]], **SHORT)
    g2 = store.start_game(room_b.id, [p.id for p in ps[2:6]], **SHORT)
    g3 = store.start_game(room_a.id, [ps[5].id, ps[0].id, ps[4].id, ps[1].id], **SHORT)
    # Finish g2 by recording a whole scripted game on it.
    from liapstore.testing.support import record, script
    record(store, g2.id, script(1, **SHORT).steps)
    g2 = store.get_game(g2.id)
    assert g2.finished

    ids = lambda page: [g.id for g in page]  # noqa: E731
    assert ids(store.list_games()) == [g1.id, g2.id, g3.id]
    assert ids(store.list_games(room_id=room_a.id)) == [g1.id, g3.id]
    assert ids(store.list_games(room_id=room_b.id)) == [g2.id]
    assert ids(store.list_games(player_id=ps[0].id)) == [g1.id, g3.id]
    assert ids(store.list_games(player_id=ps[2].id)) == [g1.id, g2.id]
    assert ids(store.list_games(player_id=ps[5].id)) == [g2.id, g3.id]
    assert ids(store.list_games(player_id=uuid.uuid4())) == []
    assert ids(store.list_games(active=True)) == [g1.id, g3.id]
    assert ids(store.list_games(active=False)) == [g2.id]
    assert ids(store.list_games(room_id=room_a.id, active=False)) == []
    assert ids(store.list_games(player_id=ps[3].id, active=True)) == [g1.id]
    assert store.list_games(room_id=room_b.id).items[0] == g2

    page1 = store.list_games(limit=2)
    assert ids(page1) == [g1.id, g2.id] and page1.next_cursor
    page2 = store.list_games(limit=2, after=page1.next_cursor)
    assert ids(page2) == [g3.id] and page2.next_cursor is None
    page = store.list_games(player_id=ps[0].id, limit=1)
    assert ids(page) == [g1.id]
    assert ids(store.list_games(player_id=ps[0].id, limit=1, after=page.next_cursor)) == [g3.id]

    for bad in ({"room_id": "x"}, {"player_id": 3}, {"active": "no"}, {"limit": 0}):
        with pytest.raises(InvalidInput):
            store.list_games(**bad)


def test_list_turns_rejects_bad_round_numbers(store):
    table = start(store, **SHORT)
    for bad in (0, -1, "1", 1.0):
        with pytest.raises(InvalidInput):
            store.list_turns(table.game.id, round_number=bad)
    _, _, game = play_recorded(store, 0, table=table)
    for bad in (0, -1, "1", 1.0):
        with pytest.raises(InvalidInput):
            store.list_turns(game.id, round_number=bad)


def test_a_room_can_host_a_new_game_after_the_last_one_ended(store):
    table, _, first = play_recorded(store, 2)
    assert store.get_room(table.room.id).status == "finished"
    second = store.start_game(table.room.id, [p.id for p in table.players], **SHORT)
    room = store.get_room(table.room.id)
    assert (room.status, room.current_game_id) == ("playing", second.id)
    assert [g.id for g in store.list_games(room_id=table.room.id)] == [first.id, second.id]
