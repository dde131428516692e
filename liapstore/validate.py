"""Input checks the store runs before any I/O.

Each function returns the value in its canonical form or raises InvalidInput
with a message that names the argument, so a bad call never reaches a backend.
"""
import ipaddress
import json
import re
import uuid
from datetime import datetime, timedelta, timezone

from .errors import InvalidInput
from .schema.constraints import MAX_LENGTHS, USERNAME_PATTERN, valid_inet

UTC = timezone.utc
MAX_JSON_BYTES = 1_000_000


def uuid_(value, name, optional=False):
    if value is None and optional:
        return None
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise InvalidInput(f"{name} must be a UUID, got {value!r}")


def username(value):
    if not isinstance(value, str) or not USERNAME_PATTERN.fullmatch(value):
        raise InvalidInput(
            f"invalid username {value!r}: 3-50 characters, letters, digits, '_' and '-' only")
    return value


def text(value, name, optional=False, max_length=None, allow_empty=False):
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string, got {type(value).__name__}")
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
    if value is None:
        return None
    text(value, "email")
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or " " in value:
        raise InvalidInput(f"invalid email address {value!r}")
    return value


def boolean(value, name):
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be True or False, got {value!r}")
    return value


def integer(value, name, low=None, high=None):
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name} must be an integer, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidInput(f"{name} must be between {low} and {high}, got {value}")
    return value


def one_of(value, name, choices):
    if value not in choices:
        raise InvalidInput(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value


def json_object(value, name, kind=dict):
    """A JSON-serialisable dict (or list), copied so the caller keeps no handle on it."""
    if not isinstance(value, kind):
        raise InvalidInput(f"{name} must be a {kind.__name__}, got {type(value).__name__}")
    try:
        encoded = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"{name} is not JSON-serialisable: {e}") from None
    if len(encoded) > MAX_JSON_BYTES:
        raise InvalidInput(f"{name} is {len(encoded)} bytes as JSON; the limit is {MAX_JSON_BYTES}")
    if _ESCAPED_NUL.search(encoded):
        raise InvalidInput(f"{name} must not contain NUL characters (PostgreSQL's JSONB rejects them)")
    _encodable(encoded, name)
    return json.loads(encoded, parse_float=lambda text: _json_number(text, name))


# json.dumps always escapes NUL as \u0000; an odd run of backslashes before
# "u0000" is that escape, an even one is a literal backslash the user wrote.
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _json_number(text, name):
    """A JSON float as every backend will read it back.

    PostgreSQL's JSONB keeps numbers as decimals and prints an integral one
    without a fraction, so 2.0 reads back as the int 2 there; every backend
    does the same. Floats of 2**53 and more are refused: they are integral,
    and JSONB would hand back the exact decimal of the text, not the float.
    """
    number = float(text)
    if number.is_integer():
        if abs(number) >= 2 ** 53:
            raise InvalidInput(f"{name} holds the float {text}, too large to store exactly; "
                               "use an int")
        return int(number)
    return number


def ip_address(value):
    if value is None:
        return None
    if not isinstance(value, str) or not valid_inet(value):
        raise InvalidInput(f"invalid IP address {value!r}")
    # PostgreSQL's INET prints addresses in canonical form (compressed IPv6,
    # no /32 or /128 on a single host); store that form on every backend.
    interface = ipaddress.ip_interface(value)
    if interface.network.prefixlen == interface.max_prefixlen:
        return str(interface.ip)
    return str(interface)


def moment(value, name, optional=False):
    """A timezone-aware datetime, normalised to UTC with microsecond precision."""
    if value is None and optional:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(f"{name} must be a timezone-aware datetime, got {value!r}")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{name} {value!r} is outside the years 1-9999 in UTC") from None


def duration(value, name):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = timedelta(seconds=value)
    if not isinstance(value, timedelta) or value.total_seconds() <= 0:
        raise InvalidInput(f"{name} must be a positive timedelta or number of seconds, got {value!r}")
    return value


def limit(value, maximum=1000):
    return integer(value, "limit", 1, maximum)


def now():
    # Microseconds are kept: every backend stores them, so a value written
    # and read back compares equal.
    return datetime.now(UTC)
