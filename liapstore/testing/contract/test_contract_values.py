"""Transactions, and values that must come back exactly as they went in."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from liapstore import Conflict, InvalidInput, LiapstoreError, NotFound
from liapstore.testing.support import expect, make_players, rows, update_own

UTC = timezone.utc


class Boom(Exception):
    pass


# -- transactions ----------------------------------------------------------------------------


def test_failed_transaction_leaves_nothing(store):
    counts = rows(store)
    with pytest.raises(Boom):
        with store.transaction():
            p = store.create_player("alice")
            store.create_room("R1", "Room", created_by=p.id)
            store.create_session(p.id)
            raise Boom()
    assert rows(store) == counts
    expect(NotFound, store.get_player_by_username, "alice")
    expect(NotFound, store.get_room_by_code, "R1")


def test_successful_transaction_keeps_everything(store):
    with store.transaction():
        p = store.create_player("alice")
        update_own(store, p.id, display_name="Alice")
        r = store.create_room("R1", "Room", created_by=p.id)
    assert store.get_player(p.id).display_name == "Alice"
    assert store.get_room(r.id).created_by == p.id


def test_failed_update_inside_a_transaction_is_undone(store):
    p = store.create_player("alice", settings={"v": 1})
    with pytest.raises(Boom):
        with store.transaction():
            update_own(store, p.id, settings={"v": 2}, display_name="changed")
            assert store.get_player(p.id).settings == {"v": 2}
            raise Boom()
    assert store.get_player(p.id) == p


def test_nested_transaction_failure_undoes_only_the_inner_block(store):
    with store.transaction():
        store.create_player("outer_1")
        with pytest.raises(Boom):
            with store.transaction():
                store.create_player("inner_1")
                raise Boom()
        store.create_player("outer_2")
    assert [p.username for p in store.list_players()] == ["outer_1", "outer_2"]


def test_outer_failure_undoes_a_committed_inner_block(store):
    counts = rows(store)
    with pytest.raises(Boom):
        with store.transaction():
            with store.transaction():
                store.create_player("inner_1")
            store.create_player("outer_1")
            raise Boom()
    assert rows(store) == counts


def test_a_library_error_aborts_the_transaction(store):
    counts = rows(store)
    with pytest.raises(NotFound):
        with store.transaction():
            store.create_player("alice")
            store.create_room("R1", "Room", created_by=uuid.uuid4())
    assert rows(store) == counts


def test_a_caught_conflict_does_not_spoil_the_transaction(store):
    # "Create it unless it exists" inside a transaction: the Conflict is
    # handled, and the transaction goes on to commit the rest.
    store.create_player("alice")
    with store.transaction():
        store.create_player("bob")
        try:
            store.create_player("alice")
        except Conflict:
            pass
        store.create_player("carol")
    assert [p.username for p in store.list_players()] == ["alice", "bob", "carol"]


def test_errors_inside_transactions_are_liapstore_errors(store):
    store.create_player("alice")
    with pytest.raises(LiapstoreError):
        with store.transaction():
            try:
                store.create_player("alice")
            except Conflict:
                pass
            store.create_player("bob")
            store.get_player_by_username("nobody")


# -- values -------------------------------------------------------------------------------------


def test_datetimes_are_aware_utc(store):
    p = store.create_player("alice")
    for record in (p, store.get_player(p.id), store.list_players().items[0]):
        for value in (record.created_at, record.last_seen):
            assert isinstance(value, datetime)
            assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
    r = store.create_room("R1", "Room")
    assert store.get_room(r.id).created_at.utcoffset() == timedelta(0)


def test_datetimes_keep_microseconds_and_instants(store):
    p = store.create_player("alice")
    for when in (datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
                 datetime(2024, 7, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=9, minutes=30))),
                 datetime(1999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-11))),
                 datetime(2100, 1, 1, tzinfo=UTC)):
        stored = store.update_player(p.id, last_seen=when).last_seen
        again = store.get_player(p.id).last_seen
        assert stored == again == when
        assert again.utcoffset() == timedelta(0)
        assert (again.year, again.month, again.day, again.hour, again.minute, again.second,
                again.microsecond) == when.astimezone(UTC).timetuple()[:6] + (when.microsecond,)


def test_datetimes_far_in_the_past_round_trip_or_are_rejected(store):
    p = store.create_player("alice")
    for when in (datetime(999, 12, 31, tzinfo=UTC), datetime(1, 1, 1, 12, tzinfo=UTC),
                 datetime(1, 1, 1, 1, tzinfo=timezone(timedelta(hours=5)))):
        try:
            store.update_player(p.id, last_seen=when)
        except InvalidInput:
            continue
        assert store.get_player(p.id).last_seen == when, when


def test_naive_datetimes_are_invalid_input(store):
    p = store.create_player("alice")
    naive = datetime(2024, 1, 1, 12, 0)
    counts = rows(store)
    expect(InvalidInput, store.update_player, p.id, last_seen=naive)
    expect(InvalidInput, store.record_event, "x", timestamp=naive)
    expect(InvalidInput, store.list_events, since=naive)
    expect(InvalidInput, store.list_events, until=naive)
    expect(InvalidInput, store.delete_expired_sessions, now=naive)
    expect(InvalidInput, store.sweep_stale_connections, now=naive)
    assert rows(store) == counts
    assert store.get_player(p.id) == p


def test_ids_are_uuids(store):
    players = make_players(store)
    room = store.create_room("R1", "Room", created_by=players[0].id)
    game = store.start_game(room.id, [p.id for p in players])
    session, _ = store.create_session(players[0].id)
    conn = store.open_connection(players[0].id, room_id=room.id)
    for value in (players[0].id, room.id, room.created_by, game.id, game.room_id, session.id,
                  session.player_id, conn.connection_id, conn.player_id, conn.room_id,
                  store.get_room(room.id).current_game_id, store.get_seats(game.id)[0].player_id,
                  store.get_seats(game.id)[0].game_id, store.list_players().items[0].id,
                  store.list_games().items[0].room_id):
        assert type(value) is uuid.UUID


JSON_VALUES = {
    "nested": {"a": {"b": {"c": [1, 2, {"d": [None, True, False]}]}}},
    "unicode": "héllo wörld ✓ 日本語 🎲 \u200b",
    "escapes": "quote\" backslash\\ newline\n tab\t",
    "numbers": [0, -1, 2 ** 53, 2 ** 70, -(2 ** 63), 1.5, -0.25, 1e-10, 0.1, 7.25],
    "empty": {"list": [], "dict": {}, "str": ""},
    "keys with spaces and ünicode": {"🔑": "v", "": "empty key"},
}


def test_json_round_trips_exactly(store):
    p = store.create_player("alice", settings=JSON_VALUES)
    assert p.settings == JSON_VALUES
    assert store.get_player(p.id).settings == JSON_VALUES
    r = store.create_room("R1", "Room", game_settings=JSON_VALUES)
    assert store.get_room(r.id).game_settings == JSON_VALUES
    e = store.record_event("x", JSON_VALUES)
    assert store.list_events().items[0].event_data == JSON_VALUES == e.event_data
    got = store.get_player(p.id).settings
    assert [type(x) for x in got["numbers"]] == [type(x) for x in JSON_VALUES["numbers"]]


def test_json_floats_read_back_as_jsonb_does_on_every_backend(store):
    # PostgreSQL's JSONB keeps numbers as decimals and prints an integral one
    # without a fraction; every backend reads such a float back as that int.
    floats = [-2.5e-300, 5e-324, 0.1, 123456789.0, 1e15, -3.0]
    p = store.create_player("alice", settings={"floats": floats})
    want = [(float, -2.5e-300), (float, 5e-324), (float, 0.1), (int, 123456789),
            (int, 10 ** 15), (int, -3)]
    assert [(type(x), x) for x in p.settings["floats"]] == want
    assert [(type(x), x) for x in store.get_player(p.id).settings["floats"]] == want


def test_json_floats_too_large_to_store_exactly_are_invalid_input(store):
    # Floats from 2**53 on are integral and JSONB would hand back the exact
    # decimal of their text, a different number.
    for big in (1e16, 1e300, 1.7976931348623157e308, -2.0 ** 53):
        expect(InvalidInput, store.create_player, "alice", settings={"x": [big]})
    assert store.status()["rows"]["players"] == 0


def test_json_records_are_copies(store):
    settings = {"list": [1, 2], "d": {"k": "v"}}
    p = store.create_player("alice", settings=settings)
    settings["list"].append(3)
    p.settings["d"]["k"] = "changed"
    assert store.get_player(p.id).settings == {"list": [1, 2], "d": {"k": "v"}}
    got = store.get_player(p.id)
    got.settings["list"].clear()
    assert store.get_player(p.id).settings == {"list": [1, 2], "d": {"k": "v"}}


def test_non_json_values_are_invalid_input(store):
    counts = rows(store)
    for settings in ({"s": {1, 2}}, {"b": b"bytes"}, {"d": datetime.now(UTC)}, {"n": float("nan")},
                     {"i": float("-inf")}, {"u": uuid.uuid4()}, {"nul": "a\x00b"}, {"a\x00": 1},
                     {"big": "x" * 1_000_001}):
        expect(InvalidInput, store.create_player, "alice", settings=settings)
    assert rows(store) == counts


def test_nul_characters_are_invalid_input(store):
    p = store.create_player("alice")
    counts = rows(store)
    expect(InvalidInput, store.create_player, "bob", display_name="B\x00b")
    expect(InvalidInput, store.update_player, p.id, display_name="A\x00")
    expect(InvalidInput, store.create_room, "R\x001", "Room")
    expect(InvalidInput, store.create_room, "R1", "Ro\x00om")
    expect(InvalidInput, store.create_session, p.id, user_agent="ua\x00")
    expect(InvalidInput, store.open_connection, p.id, user_agent="\x00")
    expect(InvalidInput, store.record_event, "ev\x00")
    expect(InvalidInput, store.get_player_by_username, "ali\x00ce")
    assert rows(store) == counts
    assert store.get_player(p.id) == p


def test_unencodable_strings_are_invalid_input(store):
    # A lone surrogate cannot be stored as UTF-8 by any database.
    p = store.create_player("alice")
    counts = rows(store)
    expect(InvalidInput, store.create_player, "bob", display_name="bad \ud800 name")
    expect(InvalidInput, store.update_player, p.id, display_name="\udfff")
    expect(InvalidInput, store.create_room, "R1", "room \ud83d")
    expect(InvalidInput, store.create_player, "carol", settings={"k": "\ud800"})
    assert rows(store) == counts
    assert store.get_player(p.id) == p


def test_long_and_unicode_text_round_trips(store):
    name = "名" * 100
    p = store.create_player("alice", display_name=name)
    assert store.get_player(p.id).display_name == name
    ua = "Mozilla/5.0 " + "é" * 900
    c = store.open_connection(p.id, user_agent=ua)
    assert store.get_connection(c.connection_id).user_agent == ua
    r = store.create_room("ÜNÏ", "Zimmer für Spieler 🎲")
    assert store.get_room_by_code("ÜNÏ") == r


def test_a_literal_backslash_u0000_is_text_not_a_nul(store):
    # Only a real NUL is refused; the six characters \u0000 are ordinary text.
    settings = {"path": "C:\\u0000dir", "two": "\\\\u0000"}
    p = store.create_player("alice", settings=settings)
    assert store.get_player(p.id).settings == settings
