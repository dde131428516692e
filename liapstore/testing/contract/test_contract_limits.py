"""The input limits, and the values that once escaped as the wrong exception.

Each limit of liapstore/validate.py (and the README's "Limits") is pinned here
on every backend: JSON depth, size, keys and numbers; 64-bit integer
arguments; text, addresses, times and cursors; malformed actions and imported
game states. Several values here once escaped as RecursionError,
OverflowError or TypeError, or were stored and then broke every read of them.
test_contract_hostile.py throws generated hostile values at the same methods.
"""
import base64
import enum
import ipaddress
import json
import uuid
from collections import Counter, OrderedDict, defaultdict
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from liapstore import InvalidInput, NotFound
from liapstore.validate import MAX_JSON_BYTES, MAX_JSON_DEPTH, MAX_JSON_INT_DIGITS
from liapstore.testing.support import (SHORT, expect, find_seed, make_players, record, rows,
                                       script, start, update_own)

UTC = timezone.utc
INT64 = 2 ** 63


def nested(depth, leaf=1, kind="list"):
    """A JSON value ``depth`` arrays (or objects) deep, built without recursion."""
    value = leaf
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    return value


def refused(fn, *args, **kwargs):
    """expect(InvalidInput, ...) for values whose repr() itself fails (too deep, too many digits)."""
    try:
        fn(*args, **kwargs)
    except InvalidInput as e:
        return e
    except Exception as e:  # noqa: BLE001 - turned into a readable failure
        raise AssertionError(f"{fn.__name__} raised {type(e).__module__}.{type(e).__name__}: {e}; "
                             "expected InvalidInput") from e
    raise AssertionError(f"{fn.__name__} accepted a value it must refuse")


class Colour(enum.IntEnum):
    RED = 3


class Text(str):
    def __str__(self):
        return "not what was passed"


# -- JSON depth, size and types ------------------------------------------------------------------


def json_writers(store):
    """Every public write that takes a JSON value, as ``name -> call(value)``."""
    player = store.create_player("alice")
    room = store.create_room("R1", "Room")
    table = start(store, code="GAME1", **SHORT)
    return {
        "create_player": lambda x: store.create_player("bob", settings=x),
        "update_player": lambda x: update_own(store, player.id, settings=x),
        "create_room": lambda x: store.create_room("R2", "Room", game_settings=x),
        "update_room": lambda x: store.update_room(room.id, game_settings=x),
        "record_event": lambda x: store.record_event("x", x),
        "record_action": lambda x: store.record_action(table.game.id, 1, x),
    }


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 500, 990, 1000, 10_000])
def test_json_nested_beyond_the_limit_is_invalid_input_on_every_write(store, depth):
    writers = json_writers(store)
    counts = rows(store)
    for name, write in writers.items():
        for kind in ("list", "dict"):
            value = {"type": "deal", "hands": nested(depth - 1, kind=kind)}
            assert "nested" in str(refused(write, value)), name
    assert rows(store) == counts


def test_json_at_the_depth_limit_is_stored_and_reads_back_everywhere(store):
    deep = {"d": nested(MAX_JSON_DEPTH - 1, kind="dict")}
    deep_list = {"l": nested(MAX_JSON_DEPTH - 1)}
    p = store.create_player("alice", settings=deep)
    assert store.get_player(p.id).settings == deep
    assert store.list_players().items[0].settings == deep
    assert update_own(store, p.id, settings=deep_list).settings == deep_list
    assert store.get_player_by_username("alice").settings == deep_list
    # The audit trail holds the settings one level further down.
    assert store.list_audit_log().items
    r = store.create_room("R1", "Room", game_settings=deep)
    assert store.get_room(r.id).game_settings == deep
    assert store.list_rooms().items[0].game_settings == deep
    e = store.record_event("x", deep_list)
    assert store.list_events().items[0].event_data == deep_list == e.event_data


def test_json_that_contains_itself_is_invalid_input(store):
    loop = {"a": []}
    loop["a"].append(loop)
    expect(InvalidInput, store.create_player, "alice", settings=loop)
    assert rows(store)["players"] == 0


def test_json_size_is_counted_in_utf8_bytes_of_compact_json(store):
    # '{"s":""}' is 8 bytes; the string fills the rest up to the limit.
    fits = {"s": "x" * (MAX_JSON_BYTES - 8)}
    p = store.create_player("alice", settings=fits)
    assert store.get_player(p.id).settings == fits
    counts = rows(store)
    expect(InvalidInput, store.create_player, "bob", settings={"s": "x" * (MAX_JSON_BYTES - 7)})
    # Half as many characters, but two bytes each.
    expect(InvalidInput, store.create_player, "bob", settings={"s": "é" * (MAX_JSON_BYTES // 2)})
    # Many small values: refused without being copied whole first.
    expect(InvalidInput, store.create_player, "bob", settings={"l": [0] * (MAX_JSON_BYTES // 2 + 1)})
    assert rows(store) == counts


def test_json_integers_up_to_the_digit_limit_round_trip(store):
    biggest = 10 ** MAX_JSON_INT_DIGITS - 1
    values = {"big": [biggest, -biggest, 2 ** 64, -(2 ** 63) - 1, 2 ** 63]}
    p = store.create_player("alice", settings=values)
    assert store.get_player(p.id).settings == values
    counts = rows(store)
    for huge in (10 ** MAX_JSON_INT_DIGITS, -(10 ** MAX_JSON_INT_DIGITS),
                 10 ** 5000):  # 10**5000 is beyond what Python converts to text by default
        refused(store.create_player, "bob", settings={"n": huge})
    assert rows(store) == counts


def test_json_object_keys_must_be_strings(store):
    counts = rows(store)
    for settings_ in ({1: "a"}, {None: 1}, {True: 1}, {1.5: 1}, {(1, 2): 1}, {"ok": {2: "b"}},
                      {b"k": 1}):
        e = expect(InvalidInput, store.create_player, "alice", settings=settings_)
        assert "key" in str(e)
    assert rows(store) == counts


def test_json_of_other_types_is_invalid_input(store):
    counts = rows(store)
    for value in ({1, 2}, frozenset(), b"x", bytearray(b"x"), Decimal("1.5"), uuid.uuid4(),
                  datetime.now(UTC), object(), 1j, float("nan"), float("inf"), -float("inf"),
                  range(3), iter([1])):
        expect(InvalidInput, store.create_player, "alice", settings={"v": value})
        expect(InvalidInput, store.record_event, "x", {"v": [value]})
    assert rows(store) == counts


def test_json_containers_and_subclasses_read_back_as_plain_json(store):
    # Tuples are arrays (read back as lists); a subclass stores its content.
    counts_by = Counter(a=2)
    given_ = {"t": (1, (2, "x")), "od": OrderedDict(b=1), "c": counts_by,
              "dd": defaultdict(list, k=[1]), "enum": Colour.RED, "text": Text("abc"),
              "bools": [True, False], "float": 1.0}
    want = {"t": [1, [2, "x"]], "od": {"b": 1}, "c": {"a": 2}, "dd": {"k": [1]}, "enum": 3,
            "text": "abc", "bools": [True, False], "float": 1}
    p = store.create_player("alice", settings=given_)
    for got in (p.settings, store.get_player(p.id).settings):
        assert got == want
        assert type(got["enum"]) is int and type(got["text"]) is str
        assert type(got["od"]) is dict and type(got["c"]) is dict
        assert type(got["bools"][0]) is bool


def test_a_real_nul_after_a_literal_backslash_is_invalid_input(store):
    # The converse of test_a_literal_backslash_u0000_is_text_not_a_nul: one or
    # two backslashes written by the user, then a real NUL character.
    counts = rows(store)
    for text in ("\\\x00", "C:\\\x00", "\\\\\x00", "\\u0000\x00"):
        expect(InvalidInput, store.create_player, "alice", settings={"path": text})
        expect(InvalidInput, store.create_player, "alice", settings={text: 1})
        expect(InvalidInput, store.record_event, "x", {"v": [text]})
    assert rows(store) == counts


# -- actions the rules engine must refuse --------------------------------------------------------


MALFORMED_ACTIONS = [
    {"type": []}, {"type": {}}, {"type": 1}, {"type": None}, {"type": True}, {"type": "DEAL"},
    {}, {"hands": []}, {"type": "deal"}, {"type": "deal", "hands": "x" * 32},
    {"type": "deal", "hands": None}, {"type": "deal", "hands": [[]] * 4},
    {"type": "deal", "hands": [[1] * 8] * 4}, {"type": "deal", "hands": [[["GENERAL_RED"]] * 8] * 4},
    {"type": "deal", "hands": [[{"k": "GENERAL_RED"}] * 8] * 4},
    {"type": "deal", "hands": {"0": []}}, {"type": "deal", "hands": [None] * 4},
    {"type": "deal", "hands": [], "extra": 1},
    {"type": "declare", "seat": [0], "piles": 1}, {"type": "declare", "seat": "0", "piles": 1},
    {"type": "declare", "seat": True, "piles": 1}, {"type": "declare", "seat": 0.5, "piles": 1},
    {"type": "declare", "seat": INT64, "piles": 1}, {"type": "declare", "seat": -1, "piles": 1},
    {"type": "redeal", "seat": 0, "accept": "yes"}, {"type": "redeal", "seat": 0, "accept": 1},
    {"type": "play", "seat": 0, "pieces": "GENERAL_RED"}, {"type": "play", "seat": 0, "pieces": None},
    {"type": "play", "seat": 0, "pieces": [None]}, {"type": "play", "seat": 0, "pieces": {}},
]


def test_malformed_actions_are_invalid_input_and_write_nothing(store):
    table = start(store, **SHORT)
    counts = rows(store)
    for action in MALFORMED_ACTIONS:
        expect(InvalidInput, store.record_action, table.game.id, 1, action)
    assert rows(store) == counts
    assert store.get_game(table.game.id).version == 0


@pytest.mark.parametrize("kind", ["redeal", "declare", "play"])
def test_malformed_actions_in_later_phases_are_invalid_input(store, kind):
    # The same malformed values where the game waits for a redeal choice, a
    # declaration or a play, so that every handler of the rules sees them.
    seed, sc = find_seed(lambda s: any(a["type"] == kind for a in s.actions))
    table = start(store, **SHORT)
    stop = next(i for i, a in enumerate(sc.actions) if a["type"] == kind)
    record(store, table.game.id, sc.steps[:stop])
    counts = rows(store)
    for action in MALFORMED_ACTIONS + [dict(sc.actions[stop], seat=[]),
                                       dict(sc.actions[stop], seat=sc.actions[stop]["seat"] + 4)]:
        expect(InvalidInput, store.record_action, table.game.id, stop + 1, action)
    assert rows(store) == counts
    assert store.get_game(table.game.id).version == stop


def test_import_game_refuses_states_the_engine_cannot_carry_on_from(store):
    # Each would have been stored, then broken the next record_action with a
    # TypeError or IndexError (or been stored before failing half-way).
    players = [p.id for p in make_players(store)]
    state = next(s for _, s, _, _ in script(1, winning_score=10, max_rounds=2).steps
                 if s.phase == "DECLARATION")
    bad = [replace(state, hands=(1, 2, 3, 4)), replace(state, hands=(("X",) * 8,) * 4),
           replace(state, phase="TURN", turn_starter=None), replace(state, scores=("a",) * 4),
           replace(state, round=-1), replace(state, round=3), replace(state, declarations=(1, 2)),
           replace(state, declarations=(1, 2, 3, 4)), replace(state, plays=((9, ("GENERAL_RED",)),)),
           replace(state, multiplier=2 ** 70), replace(state, starter=7),
           replace(state, starter=None), replace(state, dealt="yes"),
           replace(state, phase="PREPARATION", redeal_pending=()),
           replace(state, phase="PREPARATION", redeal_pending=("x",)),
           replace(state, zero_streak=(None,) * 4), replace(state, captured=(9, 0, 0, 0))]
    room = store.create_room("R1", "Room")
    counts = rows(store)
    for odd in bad:
        expect(InvalidInput, store.import_game, room.id, players, odd)
    assert rows(store) == counts
    game = store.import_game(room.id, players, state)
    assert store.load_game(game.id).state == state


# -- integer arguments: 64 bits ------------------------------------------------------------------


def test_integer_arguments_beyond_64_bits_are_invalid_input(store):
    table = start(store, **SHORT)
    g = table.game.id
    room = store.create_room("R2", "Room")
    ids = [p.id for p in table.players]
    counts = rows(store)
    for huge in (INT64, 2 ** 64, -INT64 - 1, 10 ** 5000):
        refused(store.list_actions, g, after_sequence=huge)
        refused(store.list_actions, g, limit=huge)
        refused(store.record_action, g, huge, {"type": "deal", "hands": []})
        refused(store.list_turns, g, round_number=huge)
        refused(store.start_game, room.id, ids, winning_score=huge)
        refused(store.start_game, room.id, ids, bots=[huge])
        refused(store.list_players, limit=huge)
        refused(store.create_room, "R3", "Room", max_players=huge)
        refused(store.create_session, ids[0], ttl=huge)
        refused(store.sweep_stale_connections, huge)
    assert rows(store) == counts
    # The largest 64-bit value is a valid (empty) window.
    assert store.list_actions(g, after_sequence=INT64 - 1) == []


def test_integer_arguments_of_other_types_are_invalid_input(store):
    table = start(store, **SHORT)
    g = table.game.id
    counts = rows(store)
    for bad in (True, 1.0, "1", b"1", None, [1], Decimal(1), float("nan")):
        expect(InvalidInput, store.list_actions, g, after_sequence=bad)
        expect(InvalidInput, store.record_action, g, bad, script(0, **SHORT).actions[0])
        expect(InvalidInput, store.create_room, "R3", "Room", max_players=bad)
        expect(InvalidInput, store.leaderboard, limit=bad)
    assert rows(store) == counts


def test_an_int_subclass_is_stored_as_its_number(store):
    room = store.create_room("R1", "Room", max_players=Colour.RED)
    assert type(store.get_room(room.id).max_players) is int
    assert store.get_room(room.id).max_players == 3


def test_durations_out_of_range_are_invalid_input(store):
    p = store.create_player("alice")
    counts = rows(store)
    for ttl in (10 ** 20, float("inf"), float("nan"), timedelta.max, 1e300, -1, 0, True):
        expect(InvalidInput, store.create_session, p.id, ttl=ttl)
        expect(InvalidInput, store.sweep_stale_connections, ttl)
    expect(InvalidInput, store.sweep_stale_connections, timedelta(days=1),
           now=datetime(1, 1, 1, tzinfo=UTC))
    assert rows(store) == counts


# -- text and other arguments --------------------------------------------------------------------


def test_text_of_a_str_subclass_is_stored_as_its_characters(store):
    p = store.create_player(Text("alice"), Text("Alice"))
    for got in (p, store.get_player(p.id)):
        assert type(got.username) is str and got.username == "alice"
        assert type(got.display_name) is str and got.display_name == "Alice"
    r = store.create_room(Text("R1"), Text("Room"))
    assert type(store.get_room(r.id).room_code) is str
    assert store.update_room(r.id, status=Text("finished")).status == "finished"


def test_wrong_types_for_text_and_ids_are_invalid_input(store):
    p = store.create_player("alice")
    counts = rows(store)
    for bad in (b"bob", ["bob"], {"bob": 1}, 123, None, True, 1.5, object()):
        expect(InvalidInput, store.create_player, bad)
        if bad is not None:
            expect(InvalidInput, store.create_player, "carol", bad)
            expect(InvalidInput, store.create_room, "R1", bad)
            expect(InvalidInput, store.record_event, bad)
            expect(InvalidInput, store.get_player_by_username, bad)
            # A token of any kind that opens no session is refused alike
            # (test_contract_sessions_expiry.py), a wrong type included.
            expect(NotFound, store.get_session, bad)
            expect(InvalidInput, store.search_rooms, bad)
            expect(InvalidInput, store.update_room, uuid.uuid4(), status=bad)
            expect(InvalidInput, store.get_player, bad)
            expect(InvalidInput, store.create_session, p.id, ip_address=bad)
            expect(InvalidInput, store.list_events, event_type=bad)
            expect(InvalidInput, store.list_audit_log, table_name=bad)
        expect(InvalidInput, store.update_player, p.id, is_active=bad if bad is not True else 1)
        expect(InvalidInput, store.open_connection, p.id, connection_id=bad if bad is not None else "")
    for empty in ("", 0, b"", [], {}):  # only None means "make an id up"
        expect(InvalidInput, store.open_connection, p.id, connection_id=empty)
    assert rows(store) == counts


def _python_form(address):
    # Python 3.13 prints IPv4-mapped addresses with a dotted quad, older ones in hex.
    return str(ipaddress.ip_address(address))


# Forms PostgreSQL's INET accepts, and the text every backend reads back:
# Python's (psycopg reads INET into ipaddress objects).
INET_FORMS = {
    "1.2.3.4": "1.2.3.4", "1.2.3.4/32": "1.2.3.4", "10.1.2.3/8": "10.1.2.3/8",
    "1.2.3.4/0": "1.2.3.4/0", "FE80::1": "fe80::1", "::": "::", "::1": "::1", "::/0": "::/0",
    "::ffff:1.2.3.4": _python_form("::ffff:1.2.3.4"),
    "0:0:0:0:0:ffff:0102:0304": _python_form("::ffff:1.2.3.4"),
    "::1.2.3.4": "::102:304", "::1.2.3.4/100": "::102:304/100", "::0.0.1.2": "::102",
    "1:0:0:1:0:0:0:1": "1:0:0:1::1", "0:0:1:0:0:0:0:0": "0:0:1::",
    "2001:db8::1/128": "2001:db8::1", "2001:DB8:0:0:1::/64": "2001:db8:0:0:1::/64",
}


def test_ip_addresses_read_back_the_same_on_every_backend(store):
    p = store.create_player("alice")
    for given_, want in INET_FORMS.items():
        session, token = store.create_session(p.id, ip_address=given_)
        assert session.ip_address == want, given_
        assert store.get_session(token).ip_address == want, given_
        conn = store.open_connection(p.id, ip_address=given_)
        assert conn.ip_address == want, given_
        assert store.get_connection(conn.connection_id).ip_address == want, given_


def test_ip_addresses_postgresql_refuses_are_invalid_input(store):
    p = store.create_player("alice")
    counts = rows(store)
    for bad in ("fe80::1%eth0", "1.2.3.4/255.255.0.0", "1.2.3.4/0.0.0.255", " 1.2.3.4", "1.2.3.4 ",
                "1.2.3.4/33", "::/129", "1.2.3", "localhost", "1.2.3.4\x00", "", "1.2.3.4/+8",
                "1.2.3.4/٣", "١.2.3.4"):
        expect(InvalidInput, store.create_session, p.id, ip_address=bad)
        expect(InvalidInput, store.open_connection, p.id, ip_address=bad)
    assert rows(store) == counts


def test_datetimes_of_other_kinds_are_invalid_input(store):
    class NoOffset(timezone.__base__):
        def utcoffset(self, dt):
            return None

    class Broken(timezone.__base__):
        def utcoffset(self, dt):
            return "one hour"

    p = store.create_player("alice")
    counts = rows(store)
    for bad in (datetime(2024, 1, 1, tzinfo=NoOffset()), datetime(2024, 1, 1, tzinfo=Broken()),
                "2024-01-01T00:00:00+00:00", 1700000000, datetime(2024, 1, 1).date(),
                datetime.max.replace(tzinfo=timezone(-timedelta(hours=1)))):
        expect(InvalidInput, store.update_player, p.id, last_seen=bad)
        expect(InvalidInput, store.record_event, "x", timestamp=bad)
        expect(InvalidInput, store.list_events, since=bad)
    assert rows(store) == counts
    assert store.get_player(p.id) == p


def forged(listing, keys):
    raw = json.dumps({"l": listing, "k": keys})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_forged_cursors_are_invalid_input(store):
    for i in range(3):
        store.create_player(f"user_{i}")
        store.record_event("x")
    deep = "[" * 700 + "]" * 700  # as deep as a cursor of the allowed length can hold
    cases = [
        (store.list_players, forged("players:username", [5])),
        (store.list_players, forged("players:username", [None])),
        (store.list_players, forged("players:username", [["a"]])),
        (store.list_players, forged("players:username", ["a\x00"])),
        (store.list_players, forged("players:username", ["\ud800"])),
        (store.list_players, forged("players:username", [{"u": str(uuid.uuid4())}])),
        (store.list_players, forged("players:username", ["a", "b"])),
        (store.list_players, forged("players:username", {"k": 1})),
        (store.list_rooms, forged("rooms:created_at,id", ["2024", "x"])),
        (store.list_rooms, forged("rooms:created_at,id", [{"t": "2024-01-01T00:00:00+00:00"}, 7])),
        (store.list_rooms, forged("rooms:created_at,id", [{"t": "2024-01-01T00:00:00"},
                                                          {"u": str(uuid.uuid4())}])),
        # No UTC form: before year 1, after year 9999.
        (store.list_rooms, forged("rooms:created_at,id", [{"t": "0001-01-01T00:00:00+14:00"},
                                                          {"u": str(uuid.uuid4())}])),
        (store.list_rooms, forged("rooms:created_at,id", [{"t": "9999-12-31T23:59:59-14:00"},
                                                          {"u": str(uuid.uuid4())}])),
        (store.list_events, forged("analytics_events:timestamp,id",
                                   [{"t": "2024-01-01T00:00:00+00:00"}, INT64])),
        (store.list_events, forged("analytics_events:timestamp,id",
                                   [{"t": "2024-01-01T00:00:00+00:00"}, {"u": str(uuid.uuid4())}])),
        (store.list_audit_log, forged("audit_log:id", ["1"])),
        (store.list_audit_log, forged("audit_log:id", [True])),
        (store.list_audit_log, base64.urlsafe_b64encode(
            json.dumps({"l": "audit_log:id"})[:-1].encode() + b', "k": ' + deep.encode() + b"}"
        ).decode()),
        (store.list_players, "x" * 100_000),
        (store.list_players, "\ud800"),
        (store.list_players, "é"),
    ]
    for listing, cursor in cases:
        expect(InvalidInput, listing, after=cursor, limit=1)
    # A well-formed forged cursor of the right types is just a position.
    assert store.list_players(after=forged("players:username", ["user_0"])).items[0].username == "user_1"
