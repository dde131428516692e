"""Hostile input: every call succeeds and reads back equal, or raises InvalidInput.

Hypothesis throws hostile values (injection strings, quotes, NUL, lone
surrogates, megabyte strings, JSON nested 10,000 deep, NaN and infinities,
huge integers, wrong types, lying subclasses) at every public method that
takes text or JSON, one or two arguments at a time, on one store per backend.
Each call must succeed and read back identically, or raise InvalidInput
(Conflict / NotFound only where its arguments say so: a name already taken,
an id that names nothing) and leave every table's row count as it was.

The number of examples per backend is LIAPSTORE_HOSTILE_EXAMPLES (default
150: a few seconds per backend; the ``crash`` tox environment runs 10,000).
The limits themselves are pinned one by one in test_contract_limits.py.
"""
import base64
import dataclasses
import enum
import ipaddress
import json
import os
import uuid
from collections import Counter, OrderedDict, defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liapstore import Conflict, InvalidInput, NotFound
from liapstore.keys import normalize
from liapstore.validate import MAX_JSON_BYTES, MAX_JSON_DEPTH, MAX_JSON_INT_DIGITS
from liapstore.testing.support import SHORT, rows, script

UTC = timezone.utc


def nested(depth, leaf=1, kind="list"):
    """A JSON value ``depth`` arrays (or objects) deep, built without recursion."""
    value = leaf
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    return value


def forged(listing, keys):
    """A cursor made by hand: the listing's name and any sort key."""
    raw = json.dumps({"l": listing, "k": keys})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


class Colour(enum.IntEnum):
    RED = 3


class Text(str):
    def __str__(self):
        return "not what was passed"


EXAMPLES = int(os.environ.get("LIAPSTORE_HOSTILE_EXAMPLES", "150"))

INJECTIONS = [
    "'; DROP TABLE players; --", "Robert'); DROP TABLE rooms;--", "\" OR \"1\"=\"1", "' OR 1=1 --",
    "1; SELECT pg_sleep(10)", "$1", "?", ":name", "%s", "%(x)s", "%", "_", "%_%", "\\", "\\\\",
    "'", "''", '"', "`", "--", "/*", "*/", ";", "NULL", "null", "None", "true", "{}", "[]",
    "\\u0000", "\\\x00", "\x00", "a\x00b", "\ud800", "a\udfffb", "\ud83d\ude00", "😀", "\u2028",
    "\ufeff", "\uffff", "\U0010ffff", "\r\n", "\t", " ", "", "名", "é", "\u0301", "<script>",
    "${jndi:ldap://x}", "../../etc/passwd", "NOT_STARTED", "waiting", "GENERAL_RED", "deal",
]


def _brief_repr(self):
    return f"<{self.brief}>"


# Values hypothesis prints by name: their repr() would be a megabyte long,
# recurse too deep, or (an int of 5,000 digits) raise.
class BriefStr(str):
    __repr__ = _brief_repr


class BriefInt(int):
    __repr__ = _brief_repr


class BriefDict(dict):
    __repr__ = _brief_repr


def brief(name, make):
    """A strategy for one value made at draw time and printed as ``<name>``."""
    def wrap(value):
        kind = BriefStr if isinstance(value, str) else BriefInt if isinstance(value, int) else BriefDict
        made = kind(value)
        made.brief = name
        return made
    return st.builds(make).map(wrap)


HUGE_INT = brief("10**5000", lambda: 10 ** 5000)
LONG_TEXT = st.one_of(*(brief(name, make) for name, make in [
    ("1,000,001 x", lambda: "x" * 1_000_001), ("600,000 é", lambda: "é" * 600_000),
    ("101 名", lambda: "名" * 101), ("51 a", lambda: "a" * 51), ("1001 a", lambda: "a" * 1001),
    ("21 a", lambda: "a" * 21)]))


class Sneaky(dict):
    """A dict whose methods lie about its content; its content is what counts."""

    def items(self):
        return [("sneaky", 1)]

    def keys(self):
        return ["sneaky"]

    def __iter__(self):
        return iter(["sneaky"])


texts = st.one_of(
    st.text(max_size=20),
    st.sampled_from(INJECTIONS),
    st.lists(st.sampled_from(INJECTIONS) | st.text(max_size=4), min_size=1, max_size=4).map("".join),
    LONG_TEXT,
    st.builds(Text, st.text(min_size=1, max_size=8)),
)
ODD_OBJECTS = [object(), 1j, Decimal("1.5"), b"\x00", bytearray(b"a"), {1}, frozenset(), (),
               Colour.RED, float("nan"), float("inf"), -float("inf"), 2 ** 63, 2 ** 64,
               -(2 ** 63) - 1, range(2), Sneaky(a=1)]
wrong = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.binary(max_size=6),
                  st.lists(st.integers(), max_size=2), st.uuids(),
                  st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
                  st.sampled_from(ODD_OBJECTS), HUGE_INT)
hostile_text = texts | wrong
ints = st.one_of(st.integers(), st.integers(-2, 10), HUGE_INT, st.sampled_from(
    [0, -1, 2 ** 31, 2 ** 53, 2 ** 63 - 1, 2 ** 63, -(2 ** 63), -(2 ** 63) - 1, 2 ** 64,
     10 ** MAX_JSON_INT_DIGITS - 1, 10 ** MAX_JSON_INT_DIGITS, True, Colour.RED]))
floats = st.floats() | st.sampled_from([-0.0, 5e-324, 1e16, 2.0 ** 53, 1.5, 0.1, 1e-320])
json_keys = texts | st.sampled_from([1, None, True, 1.5, (1,), b"k"])
json_values = st.recursive(
    st.none() | st.booleans() | ints | floats | texts,
    lambda inner: (st.lists(inner, max_size=4) | st.tuples(inner, inner)
                   | st.dictionaries(json_keys, inner, max_size=4)
                   | st.dictionaries(st.text(max_size=3), inner, max_size=2).map(OrderedDict)),
    max_leaves=15)


def _loop():
    loop = {"a": []}
    loop["a"].append(loop)
    return loop


special_json = st.one_of(
    *(brief(f"{{'deep': {depth} {kind}s deep}}", lambda d=depth, k=kind: {"deep": nested(d, 1, k)})
      for depth in (MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 990, 10_000)
      for kind in ("list", "dict")),
    brief("a dict that contains itself", _loop),
    brief("a string filling the JSON limit", lambda: {"s": "x" * (MAX_JSON_BYTES - 8)}),
    brief("a string one byte over the JSON limit", lambda: {"s": "x" * (MAX_JSON_BYTES - 7)}),
    brief("an int of 5000 digits", lambda: {"big": 10 ** 5000}),
    st.sampled_from([{"n": [float("nan")]}, {"i": float("inf")}, {1: "a"}, {"a": {1, 2}},
                     {"b": b"x"}, {"d": datetime(2024, 1, 1, tzinfo=UTC)}, {"u": uuid.uuid4()},
                     Counter(a=2), defaultdict(list, k=[1]), Sneaky(real=1),
                     {"nul": "\\\x00"}, {"\x00": 1}]),
)
json_objects = st.one_of(st.dictionaries(json_keys, json_values, max_size=5), special_json, wrong)
moments = st.one_of(
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=14)),
                                            timezone(-timedelta(hours=12, minutes=30))])),
    st.datetimes(), wrong)
ip_texts = st.one_of(
    st.ip_addresses().map(str),
    st.tuples(st.ip_addresses(v=4), st.integers(0, 33)).map(lambda t: f"{t[0]}/{t[1]}"),
    st.tuples(st.ip_addresses(v=6), st.integers(0, 129)).map(lambda t: f"{t[0]}/{t[1]}"),
    st.sampled_from(["fe80::1%eth0", "1.2.3.4/255.255.0.0", "::ffff:1.2.3.4", "1.2.3", " 1.2.3.4"]),
    hostile_text)
durations = st.one_of(st.timedeltas(), st.integers(), st.floats(), wrong)
usernames = st.from_regex(r"[a-zA-Z0-9_-]{3,50}", fullmatch=True) | hostile_text


def canon(value):
    """What a JSON value reads back as: plain types, tuples as lists, integral floats as ints."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, dict):
        return {str.__str__(k): canon(x) for k, x in dict.items(value)}
    if isinstance(value, (list, tuple)):
        return [canon(x) for x in value]
    if isinstance(value, float):
        return int(value) if value.is_integer() else float.__float__(value)
    if isinstance(value, int):
        return int.__int__(value)
    return str.__str__(value)


def identical(a, b):
    """Equal, and of the same types all the way down (True is not 1, 1 is not 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b))
    return a == b


def as_uuid(value):
    """The UUID a value names, if the store would take it as one."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def as_text(value):
    return str.__str__(value) if isinstance(value, str) else value


def known(value, names):
    """Whether ``value`` is text the store would take as one of ``names``."""
    return isinstance(value, str) and str.__str__(value) in names


def known_address(value, addresses):
    """Whether ``value`` is text the store would take as one of ``addresses``
    (kept normalized: addresses differing only in case are one)."""
    return isinstance(value, str) and normalize(str.__str__(value)) in addresses


class Hostile:
    """What the hostile calls share across examples: players, a room, a game in progress."""

    def __init__(self, store):
        self.store = store
        self.usernames, self.emails, self.codes, self.connections = set(), set(), set(), set()
        self.tally = Counter()  # (method, outcome) -> calls
        self.player = self.make_player("hostile_owner")
        self.games = 0
        self.room = self.make_room("HOSTILE")
        self.new_game()

    def make_player(self, name, email=None):
        self.usernames.add(name)
        if email:
            self.emails.add(normalize(email))
        return self.store.create_player(name, email=email)

    def make_room(self, code):
        self.codes.add(code)
        return self.store.create_room(code, "Hostile room")

    @property
    def player_ids(self):
        return {p.id for p in [self.player] + self.seated}

    def new_game(self):
        self.games += 1
        self.seated = [self.make_player(f"hostile_{self.games}_{i}") for i in range(4)]
        room = self.make_room(f"HOSTILE{self.games}")
        self.game = self.store.start_game(room.id, [p.id for p in self.seated], **SHORT)
        self.script = script(self.games, **SHORT)

    def call(self, fn, *args, allowed=(), **kwargs):
        """``("ok", result)``, or the refusal's type; a refusal must leave every row count as it was."""
        before = rows(self.store)
        try:
            result = fn(*args, **kwargs)
        except InvalidInput:
            refused = InvalidInput
        except (Conflict, NotFound) as e:
            assert type(e) in allowed, f"{fn.__name__} raised {type(e).__name__}: {e}"
            refused = type(e)
        else:
            self.tally[fn.__name__, "ok"] += 1
            return "ok", result
        self.tally[fn.__name__, refused.__name__] += 1
        assert rows(self.store) == before, f"a refused {fn.__name__} changed the row counts"
        return refused, None


# Valid values, for the arguments an example leaves alone.
plain_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)),
                     min_size=1, max_size=20).filter(str.strip)
plain_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 63), 2 ** 63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False, max_value=1e15, min_value=-1e15)
    | plain_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(plain_text, inner, max_size=3),
    max_leaves=8)
plain_object = st.dictionaries(plain_text, plain_json, max_size=4)
when = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.just(UTC))


class Args:
    """Draws a call's arguments: valid ones, except none, one or two chosen to be hostile."""

    def __init__(self, data, *names, valid=1):
        self.data = data
        # None (a valid call: ``valid`` shares of it), one name, or one name
        # and a second one, so that valid calls and their read-backs are
        # common too.
        first = data.draw(st.sampled_from((None,) * valid + names), label="hostile argument")
        second = data.draw(st.none() | st.sampled_from(names), label="another hostile argument")
        self.hostile = set() if first is None else {first, second} - {None}

    def __call__(self, name, valid, hostile):
        return self.data.draw(hostile if name in self.hostile else valid, label=name)


def op_create_player(h, data):
    arg = Args(data, "username", "display_name", "email", "settings")
    username = arg("username", st.from_regex(r"[a-zA-Z0-9_-]{3,50}", fullmatch=True), usernames)
    display_name = arg("display_name", st.none() | plain_text, hostile_text)
    email = arg("email", st.none() | st.emails(), hostile_text)
    settings_ = arg("settings", st.none() | plain_object, json_objects)
    allowed = (Conflict,) if known(username, h.usernames) or known_address(email, h.emails) else ()
    outcome, p = h.call(h.store.create_player, username, display_name, email=email,
                        settings=settings_, allowed=allowed)
    if outcome != "ok":
        return
    assert p.username == username and p.username not in h.usernames
    assert p.display_name == (username if display_name is None else display_name)
    assert p.email == email
    assert identical(p.settings, canon({} if settings_ is None else settings_))
    assert h.store.get_player(p.id) == p
    h.usernames.add(p.username)
    if p.email is not None:
        h.emails.add(normalize(p.email))


def op_update_player(h, data):
    field = data.draw(st.sampled_from(["display_name", "email", "is_active", "settings",
                                       "last_seen"]))
    value = data.draw({"display_name": plain_text | hostile_text,
                       "email": st.none() | st.emails() | hostile_text,
                       "is_active": st.booleans() | wrong,
                       "settings": plain_object | json_objects, "last_seen": when | moments}[field],
                      label=field)
    old = h.store.get_player(h.player.id)
    taken = field == "email" and known_address(value, h.emails) and \
        normalize(as_text(value)) != normalize(old.email or "")
    with h.store.acting_as(h.player.id):  # a profile is changed by its player
        outcome, p = h.call(h.store.update_player, h.player.id, **{field: value},
                            allowed=(Conflict,) if taken else ())
    if outcome != "ok":
        return
    got = getattr(p, field)
    if field == "settings":
        assert identical(got, canon(value))
    else:
        assert got == value
    assert h.store.get_player(h.player.id) == p
    if field == "email":
        h.emails.discard(normalize(old.email or ""))
        if p.email is not None:
            h.emails.add(normalize(p.email))


def op_create_room(h, data):
    arg = Args(data, "code", "name", "created_by", "is_public", "max_players", "game_settings")
    code = arg("code", st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)),
                               min_size=1, max_size=20).filter(str.strip),
               st.text(min_size=1, max_size=20) | hostile_text)
    name = arg("name", plain_text, hostile_text)
    created_by = arg("created_by", st.none() | st.just(h.player.id),
                     st.just(str(h.player.id)) | wrong | hostile_text)
    is_public = arg("is_public", st.booleans(), wrong)
    max_players = arg("max_players", st.integers(1, 4), st.integers(-1, 6) | ints | wrong)
    game_settings = arg("game_settings", st.none() | plain_object, json_objects)
    allowed = [Conflict] if known(code, h.codes) else []
    if created_by is not None and as_uuid(created_by) not in h.player_ids:
        allowed.append(NotFound)
    outcome, r = h.call(h.store.create_room, code, name, created_by=created_by, is_public=is_public,
                        max_players=max_players, game_settings=game_settings, allowed=tuple(allowed))
    if outcome != "ok":
        return
    assert (r.room_code, r.name, r.created_by) == (code, name, as_uuid(created_by))
    assert (r.is_public, r.max_players, r.status) == (is_public, max_players, "waiting")
    assert identical(r.game_settings, canon({} if game_settings is None else game_settings))
    assert h.store.get_room(r.id) == r == h.store.get_room_by_code(code)
    h.codes.add(r.room_code)


def op_update_room(h, data):
    field = data.draw(st.sampled_from(["name", "is_public", "max_players", "game_settings",
                                       "status"]))
    value = data.draw({"name": plain_text | hostile_text, "is_public": st.booleans() | wrong,
                       "max_players": st.integers(0, 5) | ints | wrong,
                       "game_settings": plain_object | json_objects,
                       "status": st.sampled_from(["waiting", "playing", "finished", "abandoned",
                                                  "WAITING", "waiting "]) | hostile_text}[field],
                      label=field)
    outcome, r = h.call(h.store.update_room, h.room.id, **{field: value})
    if outcome != "ok":
        return
    got = getattr(r, field)
    assert identical(got, canon(value)) if field == "game_settings" else got == value
    assert h.store.get_room(h.room.id) == r


def op_record_event(h, data):
    arg = Args(data, "event_type", "data", "player_id", "game_id", "room_id", "timestamp")
    event_type = arg("event_type", plain_text.filter(lambda t: len(t) <= 50),
                     st.text(min_size=1, max_size=50) | hostile_text)
    payload = arg("data", st.none() | plain_object, json_objects)
    ids = {k: arg(k, st.none() | st.just(known_id), wrong | hostile_text) for k, known_id in
           (("player_id", h.player.id), ("game_id", h.game.id), ("room_id", h.room.id))}
    timestamp = arg("timestamp", st.none() | when, moments)
    known_ids = {h.player.id, h.game.id, h.room.id}
    allowed = (NotFound,) if any(x is not None and as_uuid(x) not in known_ids
                                 for x in ids.values()) else ()
    outcome, e = h.call(h.store.record_event, event_type, payload, timestamp=timestamp,
                        allowed=allowed, **ids)
    if outcome != "ok":
        return
    assert e.event_type == event_type
    assert identical(e.event_data, canon({} if payload is None else payload))
    if timestamp is not None:
        assert e.timestamp == timestamp
    page, found = h.store.list_events(event_type=event_type, since=e.timestamp, limit=1000), None
    while found is None:
        found = next((x for x in page.items if x.id == e.id), None)
        if found is None:
            assert page.next_cursor, "a recorded event is missing from list_events"
            page = h.store.list_events(event_type=event_type, since=e.timestamp, limit=1000,
                                       after=page.next_cursor)
    assert found == e


@st.composite
def mutated(draw, action):
    """An action with one value replaced, one key dropped or added, or its lists as tuples."""
    how = draw(st.sampled_from(["replace", "drop", "add", "tuples"]))
    action = dict(action)
    key = draw(st.sampled_from(sorted(action)))
    if how == "replace":
        action[key] = draw(json_values | wrong | special_json)
    elif how == "drop":
        del action[key]
    elif how == "add":
        action[draw(json_keys)] = draw(json_values)
    else:
        action = {k: (tuple(tuple(x) if isinstance(x, list) else x for x in v)
                      if isinstance(v, list) else v) for k, v in action.items()}
    return action


def op_record_action(h, data):
    version = h.game.version
    nxt = h.script.actions[version]
    arg = Args(data, "sequence_number", "action", valid=4)  # so that games get somewhere
    seq = arg("sequence_number", st.just(version + 1), st.just(max(version, 1)) | ints | wrong)
    action = arg("action", st.just(nxt), mutated(nxt) | json_objects)
    valid_seq = isinstance(seq, int) and not isinstance(seq, bool) and 1 <= seq < 2 ** 63
    outcome, game = h.call(h.store.record_action, h.game.id, seq, action,
                           allowed=(Conflict,) if valid_seq and seq != version + 1 else ())
    if outcome != "ok":
        return
    stored = h.store.list_actions(h.game.id, after_sequence=seq - 1, limit=1)[0]
    assert identical(stored.action_data, canon(action))
    if seq <= version:  # A retry of a recorded action: nothing changes.
        assert game == h.store.get_game(h.game.id) and game.version == version
        return
    assert seq == version + 1 and game.version == seq == h.store.get_game(h.game.id).version
    h.game = game
    if game.finished or not identical(canon(action), canon(nxt)):
        h.new_game()  # Off the script (another legal action) or over: a fresh game.


def op_create_session(h, data):
    arg = Args(data, "player_id", "ttl", "ip_address", "user_agent")
    player_id = arg("player_id", st.just(h.player.id), st.just(str(h.player.id)) | wrong | hostile_text)
    ttl = arg("ttl", st.just(timedelta(days=1)), durations)
    ip = arg("ip_address", st.none() | st.ip_addresses().map(str), ip_texts)
    agent = arg("user_agent", st.none() | plain_text, hostile_text)
    allowed = (NotFound,) if as_uuid(player_id) not in h.player_ids else ()
    outcome, made = h.call(h.store.create_session, player_id, ttl=ttl, ip_address=ip,
                           user_agent=agent, allowed=allowed)
    if outcome != "ok":
        return
    session, token = made
    assert session.player_id == as_uuid(player_id) and session.user_agent == agent
    if ip is not None:
        assert ipaddress.ip_interface(session.ip_address) == ipaddress.ip_interface(ip)
    assert session in h.store.list_sessions(session.player_id)
    if session.expires_at > datetime.now(UTC) + timedelta(seconds=5):
        # Its use may slide the expiry (a short ttl): nothing else changes.
        used = h.store.get_session(token)
        assert used.expires_at >= session.expires_at
        assert dataclasses.replace(used, expires_at=session.expires_at) == session


def op_open_connection(h, data):
    arg = Args(data, "player_id", "room_id", "connection_id", "ip_address", "user_agent")
    player_id = arg("player_id", st.none() | st.just(h.player.id), wrong | hostile_text)
    room_id = arg("room_id", st.none() | st.just(h.room.id), wrong | hostile_text)
    connection_id = arg("connection_id", st.none() | st.uuids(),
                        st.uuids().map(str) | wrong | hostile_text)
    ip = arg("ip_address", st.none() | st.ip_addresses().map(str), ip_texts)
    agent = arg("user_agent", st.none() | plain_text, hostile_text)
    allowed = [Conflict] if as_uuid(connection_id) in h.connections else []
    if (player_id is not None and as_uuid(player_id) not in h.player_ids) or \
            (room_id is not None and as_uuid(room_id) != h.room.id):
        allowed.append(NotFound)
    outcome, conn = h.call(h.store.open_connection, player_id, room_id=room_id,
                           connection_id=connection_id, ip_address=ip, user_agent=agent,
                           allowed=tuple(allowed))
    if outcome != "ok":
        return
    assert conn.user_agent == agent and conn.player_id == as_uuid(player_id)
    if connection_id is not None:
        assert conn.connection_id == as_uuid(connection_id)
    if ip is not None:
        assert ipaddress.ip_interface(conn.ip_address) == ipaddress.ip_interface(ip)
    assert h.store.get_connection(conn.connection_id) == conn
    h.connections.add(conn.connection_id)


def op_start_game(h, data):
    seated = [p.id for p in h.seated]
    arg = Args(data, "players", "bots", "winning_score", "max_rounds")
    players = arg("players", st.just(seated) | st.just([str(x) for x in seated]),
                  st.lists(st.sampled_from(seated) | wrong, max_size=5) | wrong)
    bots_ = arg("bots", st.just(()) | st.lists(st.integers(0, 3), max_size=3),
                st.lists(st.integers(-1, 4) | ints | wrong, max_size=3) | wrong)
    score = arg("winning_score", st.integers(1, 10_000), ints | wrong)
    rounds_ = arg("max_rounds", st.integers(1, 1_000), ints | wrong)
    ids = [as_uuid(x) for x in players] if isinstance(players, (list, tuple)) else []
    allowed = (NotFound,) if any(x is not None and x not in h.player_ids for x in ids) else ()
    outcome, game = h.call(h.store.start_game, h.room.id, players, bots=bots_, winning_score=score,
                           max_rounds=rounds_, allowed=allowed)
    if outcome != "ok":
        return
    assert (game.winning_score, game.max_rounds, game.version) == (score, rounds_, 0)
    assert h.store.get_game(game.id) == game
    seats = h.store.get_seats(game.id)
    assert [s.player_id for s in seats] == ids
    assert {s.position for s in seats if s.is_bot} == set(bots_)


def cursors():
    listings = st.sampled_from(["players:username", "rooms:created_at,id", "games:started_at,id",
                                "analytics_events:timestamp,id", "audit_log:id", "other"])
    keys = st.one_of(plain_json, st.sampled_from([2 ** 63, -(2 ** 63) - 1, 2 ** 63 - 1, True]),
                     st.builds(lambda t: {"t": t}, st.text(max_size=30) | st.datetimes(
                         timezones=st.sampled_from([UTC, timezone(timedelta(hours=14)),
                                                    timezone(-timedelta(hours=14))])
                     ).map(datetime.isoformat)),
                     st.builds(lambda u: {"u": u}, st.uuids().map(str) | st.text(max_size=5)))
    return st.none() | hostile_text | st.builds(forged, listings, st.lists(keys, max_size=3))


def op_read(h, data):
    """A read with hostile arguments: a result, InvalidInput or (for a lookup) NotFound."""
    s, g = h.store, h.game.id
    limits, flags = st.just(10) | ints | wrong, st.none() | st.booleans() | wrong
    ids = st.just(h.player.id) | st.just(g) | st.just(h.room.id) | hostile_text | wrong
    calls = [
        lambda: (s.get_player, (data.draw(ids),), {}),
        lambda: (s.get_player_by_username, (data.draw(usernames),), {}),
        lambda: (s.get_room_by_code, (data.draw(hostile_text),), {}),
        lambda: (s.get_session, (data.draw(hostile_text | wrong),), {}),
        lambda: (s.get_player_by_email, (data.draw(st.emails() | hostile_text | wrong),), {}),
        lambda: (s.get_game, (data.draw(ids),), {}),
        lambda: (s.load_game, (data.draw(ids),), {}),
        lambda: (s.search_rooms, (data.draw(plain_text | hostile_text),), {"limit": data.draw(limits)}),
        lambda: (s.list_players, (), {"active": data.draw(flags), "limit": data.draw(limits),
                                      "after": data.draw(cursors())}),
        lambda: (s.list_rooms, (), {"status": data.draw(st.none() | hostile_text),
                                    "is_public": data.draw(flags),
                                    "created_by": data.draw(st.none() | ids),
                                    "limit": data.draw(limits), "after": data.draw(cursors())}),
        lambda: (s.list_events, (), {"event_type": data.draw(st.none() | hostile_text),
                                     "player_id": data.draw(st.none() | ids),
                                     "since": data.draw(st.none() | moments),
                                     "until": data.draw(st.none() | moments),
                                     "limit": data.draw(limits), "after": data.draw(cursors())}),
        lambda: (s.list_audit_log, (), {"table_name": data.draw(st.none() | hostile_text),
                                        "limit": data.draw(limits), "after": data.draw(cursors())}),
        lambda: (s.list_games, (), {"room_id": data.draw(st.none() | ids),
                                    "player_id": data.draw(st.none() | ids),
                                    "active": data.draw(flags), "limit": data.draw(limits),
                                    "after": data.draw(cursors())}),
        lambda: (s.list_actions, (data.draw(ids),), {"after_sequence": data.draw(st.just(0) | ints | wrong),
                                                     "limit": data.draw(st.none() | limits)}),
        lambda: (s.list_turns, (data.draw(ids),), {"round_number": data.draw(st.none() | ints | wrong)}),
        lambda: (s.list_rounds, (data.draw(ids),), {}),
        lambda: (s.leaderboard, (), {"by": data.draw(st.sampled_from(["wins", "score"]) | hostile_text),
                                     "limit": data.draw(limits)}),
        lambda: (s.list_sessions, (data.draw(ids),), {}),
        lambda: (s.list_connections, (), {"player_id": data.draw(st.none() | ids),
                                          "room_id": data.draw(st.none() | ids)}),
        lambda: (s.get_connection, (data.draw(ids),), {}),
        lambda: (s.heartbeat, (data.draw(ids),), {"room_id": data.draw(st.none() | ids)}),
    ]
    fn, args, kwargs = data.draw(st.sampled_from(calls))()
    # A lookup of an id or name that is not there is NotFound; a heartbeat
    # moving a connection to an unknown room, too. Nothing else.
    lookups = {"get_player", "get_player_by_username", "get_player_by_email", "get_room_by_code",
               "get_session", "get_game",
               "load_game", "get_connection", "heartbeat"}
    h.call(fn, *args, allowed=(NotFound,) if fn.__name__ in lookups else (), **kwargs)


def op_sweep(h, data):
    """The two deleting maintenance calls: they may delete, or refuse and delete nothing."""
    if data.draw(st.booleans()):
        h.call(h.store.delete_expired_sessions, data.draw(st.none() | moments))
    else:
        h.call(h.store.sweep_stale_connections, data.draw(st.just(timedelta(days=365)) | durations),
               now=data.draw(st.none() | moments))


# op_read makes one of twenty calls, so it comes up more often.
OPERATIONS = [op_record_action, op_read, op_create_player, op_update_player, op_create_room,
              op_update_room, op_record_event, op_read, op_create_session, op_open_connection,
              op_start_game, op_read, op_sweep]


def test_hostile_calls_succeed_and_read_back_or_raise_invalid_input(store):
    h = Hostile(store)

    @settings(max_examples=EXAMPLES, deadline=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.large_base_example, HealthCheck.filter_too_much])
    @given(st.data())
    def hostile_call(data):
        # Hypothesis never runs the same choices twice, but here the same
        # valid call (record the next action) means something new each time,
        # as the store's state moves on: a draw of no meaning keeps it coming.
        data.draw(st.integers(0, 2 ** 32), label="nonce")
        data.draw(st.sampled_from(OPERATIONS), label="operation")(h, data)

    hostile_call()
    if os.environ.get("LIAPSTORE_HOSTILE_TALLY"):
        print(sorted(h.tally.items()))
