"""A player's data: ``export_player`` gathers it, ``erase_player`` removes the
personal part while the games stay whole for the other players."""
import json
from datetime import datetime, timezone

from liapstore.errors import Conflict, InvalidInput, NotFound
from liapstore.testing.support import (SHORT, expect, innermost, make_players, play_recorded,
                                       rows, start, update_own)

UTC = timezone.utc


def _befriended(store, a, b, c):
    """a and b are friends, c asked a, a blocked nobody; returns nothing."""
    store.request_friend(a.id, b.id)
    store.accept_friend(b.id, a.id)
    store.request_friend(c.id, a.id)


def _everything_about(store, seed=3):
    """Alice with an e-mail, settings, a session, a connection, an event,
    friends, a played game and its achievements; returns (alice, table, token)."""
    table, _, game = play_recorded(store, seed)
    alice = update_own(store, table.players[0].id, email="alice@mail.example",
                                settings={"theme": "dark"}, display_name="Alice Liddell")
    _, token = store.create_session(alice.id, ip_address="192.0.2.7", user_agent="Firefox")
    store.open_connection(alice.id, ip_address="192.0.2.7", user_agent="Firefox")
    store.record_event("login", {"ip": "192.0.2.7"}, player_id=alice.id)
    outsider = store.create_player("outsider")
    _befriended(store, alice, table.players[1], outsider)
    return alice, table, game, token, outsider


def test_export_holds_everything_about_the_player_as_json(store):
    alice, table, game, token, outsider = _everything_about(store)
    data = store.export_player(alice.id)
    assert json.loads(json.dumps(data)) == data
    assert data["profile"]["username"] == alice.username
    assert data["profile"]["email"] == "alice@mail.example"
    assert data["profile"]["settings"] == {"theme": "dark"}
    assert data["erased_at"] is None
    assert data["statistics"]["all_time"]["games_played"] == 1
    assert {p["period"] for p in data["statistics"]["periods"]} >= {"all"}
    [played] = data["games"]
    assert played["id"] == str(game.id) and played["seat"]["position"] == 0
    own = [a for a in store.list_actions(game.id) if a.player_id == alice.id]
    assert [a["sequence_number"] for a in played["actions"]] == [a.sequence_number for a in own]
    assert own and all(a.player_id == alice.id for a in own)
    [session] = data["sessions"]
    assert session["ip_address"] == "192.0.2.7" and "token_hash" not in session
    assert token not in json.dumps(data)
    assert len(data["connections"]) == 1
    assert [e["event_type"] for e in data["analytics_events"]] == ["login"]
    friends = {(f["player_id"], f["friend_id"], f["status"]) for f in data["friends"]}
    assert friends == {(str(alice.id), str(table.players[1].id), "accepted"),
                       (str(outsider.id), str(alice.id), "pending")}
    started = {code for code, n in store.achievement_progress(alice.id).items() if n}
    assert started and {a["achievement"] for a in data["achievements"]} == started
    assert data["audit"] and all(a["changed_data"]["id"] == str(alice.id) for a in data["audit"])
    assert "email_encrypted" not in data["profile"]


def test_export_of_an_unknown_or_malformed_id(store):
    expect(NotFound, store.export_player, "00000000-0000-4000-8000-000000000000")
    expect(InvalidInput, store.export_player, "not-an-id")


def test_erasure_removes_personal_data_and_keeps_games_valid(store):
    alice, table, game, token, outsider = _everything_about(store)
    friend = table.players[1]
    before_history = store.match_history(player_id=friend.id).items
    report = store.erase_player(alice.id)
    assert report["already_erased"] is False
    assert report["removed"]["player_sessions"] == 1
    assert report["removed"]["friendships"] == 3   # two rows of the friendship, one request

    placeholder = store.get_player(alice.id)
    assert placeholder.username == report["username"] and placeholder.username.startswith("erased-")
    assert (placeholder.display_name, placeholder.email, placeholder.settings,
            placeholder.is_active) == ("Erased player", None, {}, False)
    assert store.erased_at(alice.id) is not None and store.erased_at(friend.id) is None
    expect(NotFound, store.get_session, token)
    assert store.list_sessions(alice.id) == []
    assert store.list_connections(player_id=alice.id) == []
    assert store.list_events(player_id=alice.id).items == ()
    assert store.list_friends(friend.id) == []
    assert store.list_friend_requests(outsider.id, outgoing=True) == []
    assert store.list_achievements(alice.id) == []
    assert store.rank(alice.id) is None

    # The game is whole: it replays and verifies, statistics agree, and the
    # other players' history shows the seat as the placeholder.
    assert store.verify_game(game.id) == []
    assert store.verify_stats() == []
    after_history = store.match_history(player_id=friend.id).items
    assert [m.game_id for m in after_history] == [m.game_id for m in before_history]
    seat = after_history[0].seats[0]
    assert (seat.player_id, seat.username, seat.display_name) == \
        (alice.id, placeholder.username, "Erased player")
    # The username is free again.
    assert store.create_player(alice.username).id != alice.id


def test_the_audit_trail_records_the_erasure_without_the_data(store):
    alice, *_ = _everything_about(store)
    store.erase_player(alice.id)
    entries = []
    page = store.list_audit_log(limit=1000)
    entries += page.items
    text = json.dumps([e.changed_data for e in entries])
    for personal in (alice.username, "Alice Liddell", "alice@mail.example", "dark"):
        assert personal not in text, personal
    about = [e for e in entries if (e.changed_data or {}).get("id") == str(alice.id)]
    assert about[-1].operation == "ERASE"
    assert about[-1].changed_data["removed"]["player_sessions"] == 1
    assert all(e.ip_address is None for e in about)
    assert all(set(e.changed_data) == {"id", "erased"} for e in about[:-1])


def test_export_after_erasure_holds_no_personal_data(store):
    alice, table, game, *_ = _everything_about(store)
    store.erase_player(alice.id)
    data = store.export_player(alice.id)
    assert data["erased_at"] is not None
    assert data["profile"]["email"] is None and data["profile"]["display_name"] == "Erased player"
    assert (data["sessions"], data["connections"], data["analytics_events"], data["friends"],
            data["achievements"]) == ([], [], [], [], [])
    assert [g["id"] for g in data["games"]] == [str(game.id)]


def test_erased_players_leave_the_boards(store):
    players = make_players(store, prefix="regular")
    table = start(store, players=players, code="R0", **SHORT)
    play_recorded(store, 0, table=table)
    for n in range(1, 10):
        t = start(store, players=players, code=f"R{n}", **SHORT)
        play_recorded(store, n, table=t)
    assert len(store.leaderboard(by="wins")) == 4
    gone = players[2]
    store.erase_player(gone.id)
    for by in ("wins", "score", "winrate"):
        board = store.leaderboard(by=by)
        assert gone.id not in [e.id for e in board] and len(board) == 3
        # Ranks are counted from the value counts: they must agree with the board.
        for e in board:
            assert store.rank(e.id, by=by).rank == e.rank
    assert store.leaderboard_around(gone.id) == []
    assert store.verify_stats() == []
    store.rebuild_stats()
    assert len(store.leaderboard(by="wins")) == 3 and store.verify_stats() == []
    store.create_season("whole", datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    assert gone.id not in [e.id for e in store.leaderboard(season="whole")]
    assert store.verify_stats() == []
    store.backfill_achievements()
    assert store.list_achievements(gone.id) == []
    # A placeholder keeps its all-time counters: they are facts about the games.
    assert store.get_player(gone.id).games_played == 10


def test_erasure_is_refused_while_the_player_is_in_an_unfinished_game(store):
    table = start(store, **SHORT)
    alice = table.players[0]
    store.create_session(alice.id)
    before = rows(store)
    expect(Conflict, store.erase_player, alice.id)
    assert rows(store) == before
    assert store.get_player(alice.id) == alice
    store.abandon_game(table.game.id)
    assert store.erase_player(alice.id)["already_erased"] is False


def test_an_erased_player_takes_no_seat(store):
    players = make_players(store, prefix="seat")
    store.erase_player(players[0].id)
    room = store.create_room("SEATS", "Seats")
    before = rows(store)
    expect(Conflict, store.start_game, room.id, [p.id for p in players])
    assert rows(store) == before
    assert store.get_room(room.id).status == "waiting"


def test_erasing_twice_changes_nothing(store):
    alice = store.create_player("twice", email="t@mail.example")
    first = store.erase_player(alice.id)
    before = rows(store)
    second = store.erase_player(alice.id)
    assert second["already_erased"] is True and second["username"] == first["username"]
    assert rows(store) == before


def test_a_failed_erasure_leaves_everything_as_it_was(store):
    alice, table, game, token, _ = _everything_about(store)
    before, player = rows(store), store.get_player(alice.id)
    audit = store.list_audit_log(limit=1000).items

    def fail(player_id):
        raise RuntimeError("key store down")
    # The per-player key's destruction runs inside the erasure's transaction.
    target = innermost(store)
    target._destroy_player_key = fail
    try:
        expect(RuntimeError, store.erase_player, alice.id)
    finally:
        del target._destroy_player_key
    assert rows(store) == before
    assert store.get_player(alice.id) == player
    assert store.get_session(token).player_id == alice.id
    assert store.list_audit_log(limit=1000).items == audit
    # The caller's own transaction rolls an erasure back too.
    try:
        with store.transaction():
            store.erase_player(alice.id)
            raise KeyError("caller gives up")
    except KeyError:
        pass
    assert store.get_player(alice.id) == player and rows(store) == before
    assert store.erased_at(alice.id) is None


def test_erasure_of_an_unknown_player(store):
    expect(NotFound, store.erase_player, "00000000-0000-4000-8000-000000000000")
    expect(InvalidInput, store.erase_player, 42)
