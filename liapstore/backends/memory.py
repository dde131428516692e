"""MemoryStore: the schema's tables as Python dicts, for tests and throwaway use.

It enforces what the SQL backends' databases enforce (primary keys, unique
keys, foreign keys with their ON DELETE rules, CHECK constraints) so that a
program that works on ``memory://`` does not fail later on PostgreSQL. The
keys and references are read from the peewee models, the single description
of them; the CHECKs come from ``schema/constraints.py``.

Nothing survives the process: ``durable = False``.
"""
import copy
import operator
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime

from peewee import AutoField, ForeignKeyField

from .. import textsearch
from ..errors import Conflict, InvalidInput, NotFound
from ..schema import migrations
from ..schema.constraints import CHECKS
from ..schema.fields import utc_text
from ..schema.models import MODELS, key_columns
from ..security import AUDITED, secret_column
from ..store import Store
from ..updates import Add, AtLeast
from ..validate import now

_OPS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge, "in": lambda a, b: a in b,
        "not in": lambda a, b: a not in b}


class _Table:
    """One table's rows plus what the models say about its keys."""

    def __init__(self, model):
        meta = model._meta
        self.name = meta.table_name
        self.fields = {f.column_name: f for f in meta.sorted_fields}
        self.auto = (meta.primary_key.column_name if isinstance(meta.primary_key, AutoField)
                     else None)
        self.key = key_columns(model)
        self.unique = [(f.column_name,) for f in meta.sorted_fields if f.unique]
        self.unique += [tuple(cols) for cols, unique in meta.indexes if unique and tuple(cols) != self.key]
        self.references = {f.column_name: (f.rel_model._meta.table_name, f.on_delete)
                           for f in meta.sorted_fields if isinstance(f, ForeignKeyField)}
        self.rows = {}
        self.next_id = 1
        # Indexes, so lookups by key, unique column or reference do not scan:
        # unique columns map a value to one row key, references to a set.
        self.unique_index = {cols: {} for cols in self.unique}
        self.ref_index = {column: {} for column in self.references}

    def put(self, key, row):
        """Store ``row`` under ``key`` (replacing any old version) and index it."""
        self.remove(key)
        self.rows[key] = row
        for cols, index in self.unique_index.items():
            value = tuple(row[c] for c in cols)
            if None not in value:  # NULLs never collide, as in SQL.
                index[value] = key
        for column, index in self.ref_index.items():
            index.setdefault(row[column], set()).add(key)

    def remove(self, key):
        row = self.rows.pop(key, None)
        if row is None:
            return None
        for cols, index in self.unique_index.items():
            value = tuple(row[c] for c in cols)
            if index.get(value) == key:
                del index[value]
        for column, index in self.ref_index.items():
            index.get(row[column], set()).discard(key)
        return row

    def candidates(self, where):
        """Keys of the rows that may match ``where``, narrowed by an index when one applies."""
        equal = {c: x for c, op, x in where if op == "=" and x is not None}
        if all(c in equal for c in self.key):
            key = tuple(equal[c] for c in self.key)
            return [key] if key in self.rows else []
        for cols, index in self.unique_index.items():
            if all(c in equal for c in cols):
                key = index.get(tuple(equal[c] for c in cols))
                return [] if key is None else [key]
        for column, index in self.ref_index.items():
            if column in equal:
                return list(index.get(equal[column], ()))
        return list(self.rows)


class MemoryStore(Store):
    backend = "memory"
    durable = False

    def __init__(self, url="memory://", **options):
        super().__init__(url)
        if options:
            raise InvalidInput(f"memory:// takes no options, got {sorted(options)}")
        self._tables = {m._meta.table_name: _Table(m) for m in MODELS}
        self._lock = threading.RLock()
        self._undo = None  # list of callables while a transaction is open

    # -- life cycle ---------------------------------------------------------------

    def migrate(self):
        return []

    def schema_version(self):
        latest = len(migrations.names())
        return latest, latest

    @contextmanager
    def _transaction(self):
        # One lock serialises writers, as SQLite does. The undo log restores
        # every change of a failed transaction (or of a failed nested block,
        # like a savepoint).
        with self._lock:
            outer = self._undo is None
            if outer:
                self._undo = []
            mark = len(self._undo)
            try:
                yield
            except BaseException:
                while len(self._undo) > mark:
                    self._undo.pop()()
                raise
            finally:
                if outer:
                    self._undo = None

    # -- primitives -------------------------------------------------------------------

    def _insert(self, table, row):
        with self._transaction():
            t = self._tables[table]
            row = {c: copy.deepcopy(row[c]) if c in row else _default(f)
                   for c, f in t.fields.items()}
            # An id given for an auto-increment key is kept, as SQL keeps it
            # (restoring archived rows); the next generated one follows it.
            if t.auto and row[t.auto] is None:
                row[t.auto] = t.next_id
            self._check(t, row, None)
            key = tuple(row[c] for c in t.key)
            if key in t.rows:
                raise Conflict(f"{table}: {', '.join(t.key)} {key} already exists")
            t.put(key, row)
            if t.auto:
                t.next_id = max(t.next_id, row[t.auto] + 1)
            self._undo.append(lambda: t.remove(key))
            self._audit(table, "INSERT", row)
            return copy.deepcopy(row)

    def _load_rows(self, table, rows):
        # As _insert, but keeping the given ids and writing no audit rows:
        # the source's own audit rows arrive as rows of audit_log.
        with self._transaction():
            t = self._tables[table]
            for row in rows:
                row = {c: copy.deepcopy(row[c]) if c in row else _default(f)
                       for c, f in t.fields.items()}
                self._check(t, row, None)
                key = tuple(row[c] for c in t.key)
                if key in t.rows:
                    raise Conflict(f"{table}: {', '.join(t.key)} {key} already exists")
                t.put(key, row)
                self._undo.append(lambda key=key: t.remove(key))
                if t.auto and row[t.auto] >= t.next_id:
                    old = t.next_id
                    t.next_id = row[t.auto] + 1
                    self._undo.append(lambda old=old: setattr(t, "next_id", old))

    def _select(self, table, where, order_by, after=None, limit=None):
        with self._lock:
            t = self._tables[table]
            rows = [t.rows[k] for k in t.candidates(where) if _matches(t.rows[k], where)]
            if order_by:
                rows.sort(key=lambda r: tuple(r[c] for c in order_by))
                if after is not None:
                    rows = [r for r in rows if tuple(r[c] for c in order_by) > tuple(after)]
            return [copy.deepcopy(r) for r in rows[:limit]]

    def _update(self, table, where, changes):
        with self._transaction():
            t = self._tables[table]
            count = 0
            for key in t.candidates(where):
                old = t.rows[key]
                if not _matches(old, where):
                    continue
                new = dict(old)
                for column, value in changes.items():
                    if isinstance(value, Add):
                        new[column] = old[column] + value.n
                    elif isinstance(value, AtLeast):
                        new[column] = max(old[column], value.n)
                    else:
                        new[column] = copy.deepcopy(value)
                self._check(t, new, key)
                t.put(key, new)
                self._undo.append(lambda key=key, old=old: t.put(key, old))
                self._audit(table, "UPDATE", new)
                count += 1
            return count

    def _delete(self, table, where):
        with self._transaction():
            t = self._tables[table]
            doomed = [k for k in t.candidates(where) if _matches(t.rows[k], where)]
            for key in doomed:
                self._delete_row(t, key)
            return len(doomed)

    def _count(self, table):
        return len(self._tables[table].rows)

    def _search_rooms(self, words, limit):
        wanted = set(textsearch.words(" ".join(words)))
        hits = [r for r in self._select("rooms", [], ("created_at", "id"))
                if wanted <= set(textsearch.words(r["name"]))]
        return hits[:limit]

    # -- constraint enforcement ----------------------------------------------------------

    def _check(self, t, row, own_key):
        for column, f in t.fields.items():
            if row[column] is None and not f.null and column != t.auto:
                raise InvalidInput(f"{t.name}.{column} must not be null")
        if t.name in CHECKS:
            column, allowed = CHECKS[t.name]
            if not allowed(row[column]):
                raise InvalidInput(f"{t.name}: row violates the CHECK constraint on {column}")
        for cols, index in t.unique_index.items():
            value = tuple(row[c] for c in cols)
            if None not in value and index.get(value, own_key) != own_key:
                raise Conflict(f"{t.name}: {', '.join(cols)} {value} already exists")
        for column, (ref_table, _) in t.references.items():
            if row[column] is not None and (row[column],) not in self._tables[ref_table].rows:
                raise NotFound(f"{t.name}.{column}: no {ref_table} row with id {row[column]}")

    def _delete_row(self, t, key):
        row = t.rows.get(key)
        if row is None:
            return
        own_id = row[t.key[0]]
        for child in self._tables.values():
            for column, (ref_table, on_delete) in child.references.items():
                if ref_table != t.name:
                    continue
                refs = list(child.ref_index[column].get(own_id, ()))
                if refs and on_delete == "CASCADE":
                    for k in refs:
                        self._delete_row(child, k)
                elif refs and on_delete == "SET NULL":
                    self._update(child.name, [(column, "=", own_id)], {column: None})
                elif refs:
                    raise Conflict(f"{t.name} {own_id} is still referenced by {child.name}.{column}")
        t.remove(key)
        self._undo.append(lambda: t.put(key, row))
        self._audit(t.name, "DELETE", row)

    def _audit(self, table, operation, row):
        # The SQL backends' audit triggers, in Python.
        if table not in AUDITED:
            return
        data = {k: x for k, x in row.items() if not secret_column(k)}
        self._insert("audit_log", {"table_name": table, "operation": operation,
                                   "user_id": self.acting_player, "changed_data": _jsonable(data),
                                   "timestamp": now(), "ip_address": self._client_ip()})


def _matches(row, where):
    for column, op, value in where:
        if value is None and op in ("=", "!="):
            if (row[column] is None) != (op == "="):
                return False
        elif row[column] is None or not _OPS[op](row[column], value):
            return False
    return True


def _default(field):
    default = field.default
    return default() if callable(default) else default


def _jsonable(data):
    # The payload the SQL triggers write: ids as canonical text, times as
    # fixed-width UTC text, booleans and JSON as they are.
    return {k: utc_text(x) if isinstance(x, datetime) else str(x) if isinstance(x, uuid.UUID)
            else x for k, x in data.items()}
