"""Opaque keyset-pagination cursors.

A cursor is the sort key of the last row of a page, as URL-safe base64 JSON.
Keyset pagination (``WHERE (key) > (cursor) ORDER BY key LIMIT n``) costs the
same on page 1,000 as on page 1, unlike OFFSET, and never skips or repeats a
row when rows are inserted between two page reads.
"""
import base64
import json
import uuid
from datetime import datetime, timezone

from .errors import InvalidInput
from .records import Page


_INT64 = 2 ** 63


def encode(listing, values):
    """The cursor for the row whose sort key is ``values`` in ``listing``."""
    def tag(v):
        if isinstance(v, datetime):
            return {"t": v.isoformat()}
        if isinstance(v, uuid.UUID):
            return {"u": str(v)}
        return v
    raw = json.dumps({"l": listing, "k": [tag(v) for v in values]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


#: A cursor this long holds no sort key any listing makes.
MAX_CURSOR_LENGTH = 2000


def decode(cursor, listing, types=None):
    """The sort key a cursor holds; InvalidInput unless it is one ``listing`` made.

    A cursor names its listing, so one listing's cursor passed to another is
    refused instead of silently reading from a wrong position; each value is
    checked (against ``types``, the Python type of each sort column, when
    given) so a forged cursor cannot reach the database with a value it
    would choke on, nor be compared with a column of another type.
    """
    if cursor is None:
        return None
    def untag(v, want):
        if isinstance(v, dict) and set(v) == {"t"}:
            moment = datetime.fromisoformat(v["t"])
            if moment.tzinfo is None:
                raise ValueError("naive time in cursor")
            try:
                # In UTC, as the store writes times: year 1 at +14:00 has no UTC form.
                return moment.astimezone(timezone.utc)
            except OverflowError:
                raise ValueError("time out of range in cursor") from None
        if isinstance(v, dict) and set(v) == {"u"}:
            return uuid.UUID(v["u"])
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise ValueError(f"unexpected {type(v).__name__} in cursor")
        if isinstance(v, int) and not -_INT64 <= v < _INT64:
            raise ValueError("integer out of range in cursor")
        if isinstance(v, str) and "\x00" in v:
            raise ValueError("NUL in cursor")
        if isinstance(v, str):
            v.encode("utf-8")  # A lone surrogate raises UnicodeEncodeError, a ValueError.
        return v
    def check(v, want):
        v = untag(v, want)
        if want is not None and not isinstance(v, want):
            raise ValueError(f"{type(v).__name__} in cursor where a {want.__name__} belongs")
        return v
    if not isinstance(cursor, str):
        raise InvalidInput(f"a cursor is a string, got {type(cursor).__name__}")
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidInput(f"a cursor of {len(cursor)} characters does not belong to this listing")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if data["l"] != listing:
            raise ValueError("cursor of another listing")
        keys = data["k"]
        if not isinstance(keys, list) or (types is not None and len(keys) != len(types)):
            raise ValueError("a sort key of another shape")
        return tuple(check(v, None if types is None else types[i]) for i, v in enumerate(keys))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
        # RecursionError: a forged cursor of deeply nested JSON.
        raise InvalidInput(f"cursor {cursor[:100]!r} does not belong to this listing: "
                           f"{type(e).__name__}") from None


def page(rows, listing, order_by, limit, make):
    """A Page of ``make(row)`` from ``limit + 1`` fetched rows.

    One extra row is fetched to learn whether another page exists without a
    second query.
    """
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode(listing, [rows[-1][c] for c in order_by]) if more and rows else None
    return Page(tuple(make(r) for r in rows), cursor)
