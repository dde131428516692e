"""Column types that read and write the same Python values on every dialect.

The DDL is written by hand per dialect (see ``sql/``), so these fields only
convert values. Each one writes a value both SQLite and PostgreSQL accept as
text (psycopg sends Python strings as untyped literals that PostgreSQL casts
to the column's type), and reads back whatever the driver returns, so one set
of models serves both SQL backends.
"""
import json
from datetime import datetime, timezone

import uuid

from peewee import Field, TextField, UUIDField

UTC = timezone.utc


def utc_text(value):
    """A datetime as fixed-width ISO text in UTC.

    The fixed width (always microseconds, always +00:00) makes SQLite's text
    comparison agree with time order, which keyset pagination and range
    filters rely on.
    """
    if value.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass a timezone-aware datetime")
    # isoformat pads the year to four digits, which strftime("%Y") does not
    # do for years before 1000 on Linux.
    return value.astimezone(UTC).isoformat(sep=" ", timespec="microseconds")


class UuidField(UUIDField):
    """UUID on PostgreSQL, the canonical 36-character text on SQLite.

    peewee writes 32 hex digits; the canonical form is what PostgreSQL prints
    and what its triggers put in JSON, so ids read the same on both dialects
    (in the audit log, in the sqlite3 shell). Text order is still id order.
    """

    def db_value(self, value):
        if value is None:
            return None
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


class TimestampField(Field):
    """TIMESTAMPTZ on PostgreSQL, fixed-width UTC text on SQLite."""
    field_type = "TIMESTAMPTZ"

    def db_value(self, value):
        return utc_text(value) if isinstance(value, datetime) else value

    def python_value(self, value):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.astimezone(UTC)


# One encoder object each, built once: json.dumps with options builds a new
# encoder on every call, which the recording hot path would pay per column.
_JSON_SORTED = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode
_JSON_UNSORTED = json.JSONEncoder(separators=(",", ":")).encode


def json_text(value):
    """The JSON text liapstore stores: compact, keys sorted (so SQLite's text
    compares equal for equal values)."""
    return _JSON_SORTED(value)


def json_text_unsorted(value):
    """Compact JSON text in the dict's own key order, for JSONB, which keeps
    keys in an order of its own whatever the text says (a third cheaper)."""
    return _JSON_UNSORTED(value)


class JsonField(Field):
    """JSONB on PostgreSQL, JSON text (checked by json_valid) on SQLite."""
    field_type = "JSONB"

    def db_value(self, value):
        if value is None:
            return None
        return json_text(value)

    def python_value(self, value):
        # psycopg already decodes jsonb; SQLite hands back the text.
        return json.loads(value) if isinstance(value, (str, bytes)) else value


class InetField(TextField):
    """INET on PostgreSQL, text on SQLite; always a ``str`` in Python."""
    field_type = "INET"

    def python_value(self, value):
        return None if value is None else str(value)
