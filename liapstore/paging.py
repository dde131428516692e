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


def encode(values):
    def tag(v):
        if isinstance(v, datetime):
            return {"t": v.isoformat()}
        if isinstance(v, uuid.UUID):
            return {"u": str(v)}
        return v
    raw = json.dumps([tag(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor):
    if cursor is None:
        return None
    def untag(v):
        if isinstance(v, dict) and "t" in v:
            return datetime.fromisoformat(v["t"])
        if isinstance(v, dict) and "u" in v:
            return uuid.UUID(v["u"])
        return v
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return tuple(untag(v) for v in json.loads(raw))
    except (ValueError, TypeError, AttributeError) as e:
        raise InvalidInput(f"malformed cursor {cursor!r}") from e


def page(rows, order_by, limit, make):
    """A Page of ``make(row)`` from ``limit + 1`` fetched rows.

    One extra row is fetched to learn whether another page exists without a
    second query.
    """
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode([rows[-1][c] for c in order_by]) if more and rows else None
    return Page(tuple(make(r) for r in rows), cursor)
