"""Input checks the store runs before any I/O.

Each function returns the value in its canonical form or raises InvalidInput
with a message that names the argument, so a bad call never reaches a backend.
Whatever passes here is stored, and read back equal, by every backend; any
other value, of any type, is an InvalidInput (never a TypeError, an
OverflowError or a RecursionError from deeper down).

Limits (the README's "Limits" section states the same):

* Text: no NUL character and no lone surrogate (neither is storable as UTF-8
  text by PostgreSQL); lengths as ``schema.constraints.MAX_LENGTHS`` says
  (display_name 100, email 255, room_code 20, room name 100, event_type 50,
  user_agent 1000 characters), usernames 3-50 of ``[a-zA-Z0-9_-]``.
* Integer arguments: 64-bit, -2**63 .. 2**63-1 (what an SQL BIGINT and
  SQLite's INTEGER hold), narrower where the argument says so.
* JSON values (settings, game_settings, event data, actions): at most
  MAX_JSON_DEPTH (100) levels of nested arrays and objects, at most
  MAX_JSON_BYTES (1,000,000) bytes as compact UTF-8 JSON, object keys are
  strings, integers of at most MAX_JSON_INT_DIGITS (600) digits, floats
  finite and below 2**53 when integral. Tuples are accepted as arrays and
  read back as lists.
"""
import ipaddress
import json
import re
import uuid
from datetime import datetime, timedelta, timezone

from .errors import InvalidInput
from .schema.constraints import MAX_LENGTHS, USERNAME_PATTERN, valid_inet

UTC = timezone.utc

#: Compact UTF-8 JSON of one value, at most.
MAX_JSON_BYTES = 1_000_000
#: Nesting of arrays and objects, at most ({"a": [1]} is 2 deep). Deep enough
#: for any settings or event; shallow enough that every reader (Python's json,
#: copy.deepcopy, comparisons) stays far from the interpreter's recursion
#: limit, and within SQLite's JSON depth limit (1000 in recent versions).
MAX_JSON_DEPTH = 100
#: Digits of a JSON integer, at most: below the smallest int/str conversion
#: limit Python can be set to (640 digits), so any process can read it back.
MAX_JSON_INT_DIGITS = 600
#: Integer arguments reach the databases as 64-bit values (BIGINT, SQLite's
#: INTEGER); arguments with a narrower range say so.
INT64_MIN, INT64_MAX = -2 ** 63, 2 ** 63 - 1

_JSON_INT_LIMIT = 10 ** MAX_JSON_INT_DIGITS
_FLOAT_EXACT_LIMIT = 2.0 ** 53


def uuid_(value, name, optional=False):
    """A ``uuid.UUID`` from a UUID or its text (None if ``optional``)."""
    if value is None and optional:
        return None
    if type(value) is uuid.UUID:
        return value
    if isinstance(value, uuid.UUID):  # A subclass: keep only the value.
        return uuid.UUID(int=value.int)
    if isinstance(value, str):
        try:
            return uuid.UUID(str.__str__(value))
        except ValueError:
            pass
    raise InvalidInput(f"{name} must be a UUID, got {_short(value)}")


def username(value):
    """A username: 3-50 of ``[a-zA-Z0-9_-]``."""
    if not isinstance(value, str) or not USERNAME_PATTERN.fullmatch(value):
        raise InvalidInput(
            f"invalid username {_short(value)}: 3-50 characters, letters, digits, '_' and '-' only")
    return str.__str__(value)


def text(value, name, optional=False, max_length=None, allow_empty=False):
    """Storable text: a str, not blank (unless ``allow_empty``), within its
    length limit, without NUL or lone surrogates."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string, got {type(value).__name__}")
    # A str subclass could carry behaviour (or a __str__) the drivers would
    # see; only its characters are kept.
    value = str.__str__(value)
    if not allow_empty and not value.strip():
        raise InvalidInput(f"{name} must not be empty")
    limit = max_length or MAX_LENGTHS.get(name)
    if limit is not None and len(value) > limit:
        raise InvalidInput(f"{name} is {len(value)} characters long; the limit is {limit}")
    if "\x00" in value:
        raise InvalidInput(f"{name} must not contain NUL characters")
    _encodable(value, name)
    return value


def _encodable(text, name):
    # A lone surrogate ("\ud800") is a valid Python str but not UTF-8; the
    # databases would fail on it with a driver error.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{name} is not valid Unicode text (a lone surrogate?)") from None


def email(value):
    """An e-mail address of the shape local@domain.tld, or None."""
    if value is None:
        return None
    text(value, "email")
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or " " in value:
        raise InvalidInput(f"invalid email address {_short(value)}")
    return str.__str__(value)


def boolean(value, name):
    """True or False, nothing else (not 0/1, not None)."""
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be True or False, got {_short(value)}")
    return value


def integer(value, name, low=None, high=None):
    """An int (not a bool) within ``low``..``high``, and always within 64 bits."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name} must be an integer, got {_short(value)}")
    # An int subclass (an IntEnum) would reach a driver that adapts it by
    # its type; only the number is kept.
    value = int.__int__(value)
    low = INT64_MIN if low is None else max(low, INT64_MIN)
    high = INT64_MAX if high is None else min(high, INT64_MAX)
    if not low <= value <= high:
        shown = value if abs(value) < 10 ** 30 else f"an integer of {value.bit_length()} bits"
        raise InvalidInput(f"{name} must be between {low} and {high}, got {shown}")
    return value


def one_of(value, name, choices):
    """One of the string ``choices``; the choice itself is returned, never a look-alike."""
    for choice in choices:
        if isinstance(value, str) and value == choice:
            return choice
    raise InvalidInput(f"{name} must be one of {', '.join(map(str, choices))}; got {_short(value)}")


def json_object(value, name, kind=dict):
    """A JSON value (an object, or a ``kind``) as every backend will read it back.

    The value is walked without recursion, so no nesting depth, cycle or
    size can raise anything but InvalidInput, and copied, so the caller keeps
    no handle on what is stored. The copy holds only dict, list, str, int,
    float, bool and None: tuples become lists, subclasses their base type,
    and a float with an integral value an int (see ``_json_float``).
    """
    if not isinstance(value, kind):
        raise InvalidInput(f"{name} must be a {kind.__name__}, got {type(value).__name__}")
    copy = _json_copy(value, name)
    encoded = json.dumps(copy, ensure_ascii=False, separators=(",", ":"))
    try:
        size = len(encoded.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInput(f"{name} is not valid Unicode text (a lone surrogate?)") from None
    if size > MAX_JSON_BYTES:
        raise InvalidInput(f"{name} is {size} bytes as JSON; the limit is {MAX_JSON_BYTES}")
    return copy


def _json_copy(value, name):
    """The canonical copy of a JSON value; InvalidInput for anything else."""
    root = [None]
    # (value, the container its copy goes into, the slot there, depth).
    todo = [(value, root, 0, 1)]
    # A lower bound of the encoded size, so that a huge value is refused
    # after a bounded amount of work instead of being copied whole first.
    least = 0
    while todo:
        item, parent, slot, depth = todo.pop()
        least += 1
        if least > MAX_JSON_BYTES:
            raise InvalidInput(f"{name} is more than {MAX_JSON_BYTES} bytes as JSON")
        if isinstance(item, str):
            item = _json_str(item, name)
            least += len(item) + 1
        elif item is None or isinstance(item, bool):
            pass
        elif isinstance(item, int):
            item = int.__int__(item)
            if not -_JSON_INT_LIMIT < item < _JSON_INT_LIMIT:
                raise InvalidInput(f"{name} holds an integer of more than "
                                   f"{MAX_JSON_INT_DIGITS} digits")
        elif isinstance(item, float):
            item = _json_float(float.__float__(item), name)
        elif isinstance(item, (dict, list, tuple)):
            if depth > MAX_JSON_DEPTH:
                raise InvalidInput(f"{name} is nested more than {MAX_JSON_DEPTH} levels deep "
                                   "(or contains itself)")
            if isinstance(item, dict):
                # dict.items, not the subclass's own: the stored value is
                # the mapping's content, whatever its methods say.
                entries = list(dict.items(item))
                # Separators and the closing brace: one byte per entry.
                least += len(entries)
                copy = {}
                for key, x in entries:
                    if not isinstance(key, str):
                        raise InvalidInput(f"{name} has a key {_short(key)} of type "
                                           f"{type(key).__name__}; JSON object keys are strings")
                    key = _json_str(key, name)
                    least += len(key) + 3  # The quotes and the colon.
                    copy[key] = None
                    todo.append((x, copy, key, depth + 1))
            else:
                entries = list(item)
                least += len(entries)
                copy = [None] * len(entries)
                todo.extend((x, copy, i, depth + 1) for i, x in enumerate(entries))
            item = copy
        else:
            raise InvalidInput(f"{name} holds a {type(item).__name__}, which is not a JSON value")
        parent[slot] = item
    return root[0]


def _json_str(text, name):
    text = str.__str__(text)
    if "\x00" in text:
        raise InvalidInput(f"{name} must not contain NUL characters (PostgreSQL's JSONB rejects them)")
    return text


def _json_float(number, name):
    """A JSON float as every backend will read it back.

    PostgreSQL's JSONB keeps numbers as decimals and prints an integral one
    without a fraction, so 2.0 reads back as the int 2 there; every backend
    does the same. Floats of 2**53 and more are refused: they are integral,
    and JSONB would hand back the exact decimal of the text, not the float.
    NaN and the infinities are not JSON.
    """
    if number != number or number in (float("inf"), float("-inf")):
        raise InvalidInput(f"{name} holds {number}, which is not a JSON number")
    if number.is_integer():
        if abs(number) >= _FLOAT_EXACT_LIMIT:
            raise InvalidInput(f"{name} holds the float {number!r}, too large to store exactly; "
                               "use an int")
        return int(number)
    return number


def _short(value):
    """A value for an error message: never a megabyte of it."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a hostile __repr__ must not mask the real error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def ip_address(value):
    """An address or network that PostgreSQL's INET accepts, in Python's text form.

    That text is what every backend reads back: psycopg hands INET values
    over as ``ipaddress`` objects, which the models turn into ``str``.
    """
    if value is None:
        return None
    # Python also accepts forms INET refuses: a netmask or hostmask after the
    # slash ("/255.255.0.0") and an IPv6 zone ("%eth0").
    if (not isinstance(value, str) or not _INET_SHAPE.fullmatch(value)
            or not valid_inet(str.__str__(value))):
        raise InvalidInput(f"invalid IP address {_short(value)}")
    interface = ipaddress.ip_interface(str.__str__(value))
    # A single host is shown without its /32 or /128, a network with it.
    if interface.network.prefixlen == interface.max_prefixlen:
        return str(interface.ip)
    return str(interface)


_INET_SHAPE = re.compile(r"[0-9A-Fa-f:.]+(/[0-9]{1,3})?")


def moment(value, name, optional=False):
    """A timezone-aware datetime, normalised to UTC with microsecond precision."""
    if value is None and optional:
        return None
    if not isinstance(value, datetime):
        raise InvalidInput(f"{name} must be a timezone-aware datetime, got {_short(value)}")
    try:
        aware = value.utcoffset() is not None
        if aware:
            value = value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{name} {_short(value)} is outside the years 1-9999 in UTC") from None
    except (TypeError, ValueError) as e:  # A tzinfo that does not behave as one.
        raise InvalidInput(f"{name} has an unusable time zone: {e}") from None
    if not aware:
        raise InvalidInput(f"{name} must be a timezone-aware datetime, got {_short(value)}")
    if type(value) is not datetime:  # A subclass: keep only the instant.
        value = datetime(value.year, value.month, value.day, value.hour, value.minute,
                         value.second, value.microsecond, tzinfo=UTC)
    return value


def duration(value, name):
    """A positive timedelta; a number is taken as seconds."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = timedelta(seconds=value)
        elif isinstance(value, timedelta) and type(value) is not timedelta:
            value = timedelta(value.days, value.seconds, value.microseconds)
    except (OverflowError, ValueError):  # NaN, infinity, more than 999,999,999 days
        raise InvalidInput(f"{name} {_short(value)} is not a usable number of seconds") from None
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise InvalidInput(f"{name} must be a positive timedelta or number of seconds, "
                           f"got {_short(value)}")
    return value


def shifted(moment_, delta, name, earlier=False):
    """``moment_ + delta`` (``- delta`` if ``earlier``), or InvalidInput when
    that leaves the years 1-9999."""
    try:
        return moment_ - delta if earlier else moment_ + delta
    except OverflowError:
        raise InvalidInput(f"{name} {delta} reaches outside the years 1-9999") from None


def limit(value, maximum=1000):
    """A page size: 1 to ``maximum``."""
    return integer(value, "limit", 1, maximum)


def now():
    # Microseconds are kept: every backend stores them, so a value written
    # and read back compares equal.
    return datetime.now(UTC)
