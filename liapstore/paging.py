"""Opaque keyset-pagination cursors.

A cursor is the sort key of the last row of a page, as URL-safe base64 JSON.
Keyset pagination (``WHERE (key) > (cursor) ORDER BY key LIMIT n``) costs the
same on page 1,000 as on page 1, unlike OFFSET, and never skips or repeats a
row when rows are inserted between two page reads.
"""
import base64
import json
import uuid
from datetime import datetime

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


def decode(cursor, listing):
    """The sort key a cursor holds; InvalidInput unless it is one ``listing`` made.

    A cursor names its listing, so one listing's cursor passed to another is
    refused instead of silently reading from a wrong position; each value is
    checked so a forged cursor cannot reach the database with a value it
    would choke on.
    """
    if cursor is None:
        return None
    def untag(v):
        if isinstance(v, dict) and set(v) == {"t"}:
            moment = datetime.fromisoformat(v["t"])
            if moment.tzinfo is None:
                raise ValueError("naive time in cursor")
            return moment
        if isinstance(v, dict) and set(v) == {"u"}:
            return uuid.UUID(v["u"])
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise ValueError(f"unexpected value {v!r} in cursor")
        if isinstance(v, int) and not -_INT64 <= v < _INT64:
            raise ValueError("integer out of range in cursor")
        return v
    if not isinstance(cursor, str):
        raise InvalidInput(f"a cursor is a string, got {type(cursor).__name__}")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if data["l"] != listing:
            raise ValueError("cursor of another listing")
        return tuple(untag(v) for v in data["k"])
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise InvalidInput(f"cursor {cursor!r} does not belong to this listing: {e}") from None


def page(rows, listing, order_by, limit, make):
    """A Page of ``make(row)`` from ``limit + 1`` fetched rows.

    One extra row is fetched to learn whether another page exists without a
    second query.
    """
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode(listing, [rows[-1][c] for c in order_by]) if more and rows else None
    return Page(tuple(make(r) for r in rows), cursor)
