"""The tables the operations move, and one backend-independent form of their values.

``TABLES`` is ``schema.models.MODELS`` in its foreign-key order: the one
list. ``KEY_TABLES`` names the tables whose models say ``key_store`` (the per-player
e-mail keys, ``player_keys``): a backup writes them to a separate key file,
never into the data snapshot, so that destroying a player's key also makes
the copies of their e-mail address in older backups unreadable, and so that
keys and data can be kept in different places.

The canonical form of a value is what the snapshot files hold and what the
checksums hash: the same for the same row whether it was read from SQLite
(UUIDs and times as text, JSON as text, booleans as integers underneath),
PostgreSQL (uuid, timestamptz, jsonb, inet) or memory (Python objects).
"""
import base64
import hashlib
import json
import uuid
from datetime import datetime

from peewee import BlobField, BooleanField, DoubleField, ForeignKeyField, IntegerField

from ..schema.fields import InetField, JsonField, TimestampField, UuidField, json_text, utc_text
from ..schema.models import BY_TABLE, MODELS, key_columns

TABLES = tuple(m._meta.table_name for m in MODELS)

#: Key stores: backed up to the key file only (see the module docstring).
KEY_TABLES = frozenset(m._meta.table_name for m in MODELS if m.key_store)


def columns(table):
    """The table's columns, in the models' order (the order rows are written in)."""
    return [f.column_name for f in BY_TABLE[table]._meta.sorted_fields]


def order(table):
    """The columns a table is read in order of: its key (unique, never NULL)."""
    return key_columns(BY_TABLE[table])


def _field_kind(field):
    if isinstance(field, ForeignKeyField):  # a reference holds its target's type
        field = field.rel_field
    # Order matters: the liapstore fields subclass peewee's.
    for kind, cls in (("uuid", UuidField), ("time", TimestampField), ("json", JsonField),
                      ("inet", InetField), ("bool", BooleanField), ("float", DoubleField),
                      ("blob", BlobField), ("int", IntegerField)):
        if isinstance(field, cls):
            return kind
    return "text"


def _encode(kind, value):
    if value is None:
        return None
    if kind == "uuid":
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    if kind == "time":
        return utc_text(value if isinstance(value, datetime) else datetime.fromisoformat(value))
    if kind == "json":
        return json_text(json.loads(value) if isinstance(value, (str, bytes)) else value)
    if kind == "bool":
        return bool(value)
    if kind == "float":
        return float(value)
    if kind == "int":
        return int(value)
    if kind == "blob":
        return base64.b64encode(bytes(value)).decode()
    return str(value)  # text; inet (psycopg reads ipaddress objects)


def _decode(kind, value):
    if value is None:
        return None
    if kind == "uuid":
        return uuid.UUID(value)
    if kind == "time":
        return datetime.fromisoformat(value)
    if kind == "json":
        return json.loads(value)
    if kind == "blob":
        return base64.b64decode(value)
    return value


class Codec:
    """Turns one table's rows (dicts of Python values, as the backend
    contract reads and writes them) into canonical lists and back."""

    def __init__(self, table):
        fields = BY_TABLE[table]._meta.sorted_fields
        self.table = table
        self.columns = [f.column_name for f in fields]
        self.kinds = [_field_kind(f) for f in fields]

    def encode(self, row):
        """The row's canonical form: a list of JSON values in column order."""
        return [_encode(k, row.get(c)) for c, k in zip(self.columns, self.kinds)]

    def decode(self, values):
        """The row dict a backend's ``_load_rows`` takes, from a canonical list."""
        return {c: _decode(k, x) for c, k, x in zip(self.columns, self.kinds, values)}


class Checksum:
    """An order-independent checksum of a table's rows in canonical form:
    the sum of each row's SHA-256 (its first 16 bytes), modulo 2**128. The
    two sides of a copy list their rows in different orders (text keys sort
    by the database's collation on PostgreSQL), so the order must not count;
    a table's key makes every row distinct, so no two rows cancel out."""

    def __init__(self):
        self.total = 0
        self.rows = 0

    def add(self, canonical):
        """Count one row, given in canonical form (``Codec.encode``)."""
        text = json.dumps(canonical, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(text.encode()).digest()
        self.total = (self.total + int.from_bytes(digest[:16], "big")) % (1 << 128)
        self.rows += 1

    @property
    def hex(self):
        """The checksum as 32 hex digits."""
        return f"{self.total:032x}"
