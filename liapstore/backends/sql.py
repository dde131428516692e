"""SqlStore: everything SQLite and PostgreSQL share, on one peewee Database.

Driver errors are translated into liapstore's errors here and nowhere else
(``translate_errors``). The dialects differ only in class attributes and a
few small overrides in ``sqlite.py`` and ``postgres.py``.

Most statements are built with peewee's query builder. The per-action hot
path (``_write_step``) runs SQL text built once from the models and cached,
because building a peewee query costs several times what SQLite needs to run
it (see the benchmarks).
"""
from contextlib import contextmanager

import peewee
from peewee import Tuple, fn
from playhouse.db_url import parse as parse_url
from playhouse.migrations import Runner
from playhouse.pool import MaxConnectionsExceeded

from ..errors import (Conflict, Forbidden, InvalidInput, LiapstoreError, NotFound,
                      SchemaOutdated, StorageUnavailable)
from ..games import StaleVersion
from ..keys import URL_OPTIONS
from ..schema import migrations
from ..schema.fields import json_text, utc_text
from ..schema.models import BY_TABLE, key_columns
from ..store import Store
from ..updates import Add, AtLeast
from ..urls import redact
from .sql_progress import SqlProgress
from .sql_playerdata import SqlPlayerData
from .driver_errors import (DUPLICATE, FORBIDDEN, REFERENCED, REJECTED, RETRY, SCHEMA,
                            UNAVAILABLE, driver_error)


class SqlStore(SqlPlayerData, SqlProgress, Store):
    #: "sqlite" or "postgres": picks the SQL files in schema/sql/.
    dialect = None
    #: SQL function for "the larger of two values" (GREATEST / MAX).
    greatest = None
    durable = True

    def __init__(self, url, **options):
        super().__init__(url)
        try:
            params = parse_url(url, unquote_password=True, unquote_user=True)
        except ValueError as e:
            raise InvalidInput(f"malformed URL {redact(url)!r}: {redact(str(e), url)}") from None
        params.update(options)
        for option in URL_OPTIONS:  # Key files: Store.__init__ has read them.
            params.pop(option, None)
        self.db = self._open(params)
        # The migrations read the dialect off the database object, since
        # playhouse's Runner hands them only (migrator, database).
        self.db.liapstore_dialect = self.dialect
        self._sql_cache = {}

    def _open(self, params):
        """Build the peewee Database for the parsed URL parameters."""
        raise NotImplementedError

    def close(self):
        if self.pooled:
            self.db.close_all()
        elif not self.db.is_closed():
            # SQLite: the calling thread's connection; other threads' close
            # when those threads end.
            self.db.close()

    # -- errors --------------------------------------------------------------------

    #: Whether connections come from a pool. A pooled store checks a
    #: connection out for each operation (nested operations share it) and
    #: hands it back at the end, so idle threads hold none and a connection
    #: broken by a server restart is dropped by the pool instead of being
    #: reused forever. SQLite keeps one open connection per thread instead:
    #: opening a file is cheap, but redoing the pragmas on every call is not.
    pooled = False

    #: Whether a failed statement spoils the rest of its transaction, as on
    #: PostgreSQL. Writes inside a transaction then run in a savepoint of
    #: their own, so a caller that catches a Conflict can carry on, as on
    #: SQLite and memory. (The per-action hot path never needs it.)
    failed_statement_aborts_transaction = False

    @contextmanager
    def _write(self, deleting=False):
        with self.translate_errors(deleting):
            if self.failed_statement_aborts_transaction and self.db.in_transaction():
                with self.db.atomic():
                    yield
            else:
                yield

    #: Classifies one driver exception (see driver_errors.py).
    classify = None
    #: The driver's exception classes that can escape peewee unwrapped (a
    #: cursor read, a commit), caught beside peewee's own.
    driver_exceptions = ()

    @contextmanager
    def translate_errors(self, deleting=False):
        """Run one operation: on a pooled connection if the store has a pool,
        with driver exceptions turned into liapstore errors (the one place
        that does). ``deleting``: a foreign-key violation means the row is
        still referenced (Conflict), not that a referenced row is missing."""
        try:
            if self.pooled:
                with self.db.connection_context():
                    yield
            else:
                yield
        except (peewee.PeeweeException, MaxConnectionsExceeded) + self.driver_exceptions as e:
            raise self._translated(e, deleting) from e
        except _MissingObject as e:
            # Raised inside a transaction; now that it is rolled back the
            # schema version can be read (PostgreSQL refuses every statement
            # in a failed transaction).
            if self.db.in_transaction():
                raise
            raise (self._schema_behind() or StorageUnavailable(str(e))) from e.__cause__

    def _translated(self, e, deleting):
        """The liapstore error for driver (or peewee) exception ``e``. Its
        message keeps the database's own first line, which says what failed."""
        if isinstance(e, MaxConnectionsExceeded):
            return StorageUnavailable(f"{redact(self.url)}: every pooled connection is busy: {e}")
        cause = driver_error(e, self.driver_exceptions)
        kind = self.classify(cause) if isinstance(cause, self.driver_exceptions) else UNAVAILABLE
        # A driver may echo part of the connection string (libpq does, for a
        # malformed one): its message is redacted with the URL's secrets too.
        message = redact(_first_line(cause), self.url)
        if kind == DUPLICATE:
            return Conflict(f"already exists: {message}")
        if kind == REFERENCED:
            return (Conflict(f"still referenced: {message}") if deleting
                    else NotFound(f"a referenced row does not exist: {message}"))
        if kind == RETRY:
            return Conflict(f"the database rolled the transaction back; retry: {message}")
        if kind == REJECTED:
            return InvalidInput(f"the database rejected a value: {message}")
        if kind == FORBIDDEN:
            return Forbidden(f"the database refused: {message}")
        if kind == SCHEMA:
            if self.db.in_transaction():
                return _MissingObject(f"{redact(self.url)}: {message}")
            outdated = self._schema_behind()
            if outdated:
                return outdated
        return StorageUnavailable(f"{redact(self.url)}: {message}")

    def _schema_behind(self):
        """A SchemaOutdated error if this database's schema is missing or older
        than this liapstore's, else None (the failed statement had another cause)."""
        try:
            applied, latest = self.schema_version()
        except LiapstoreError:
            return None
        if applied >= latest:
            return None
        return SchemaOutdated(
            f"{redact(self.url)}: the database schema is at version {applied}, this liapstore "
            f"needs version {latest}: run `liapstore migrate` (or connect with migrate=True)")

    @contextmanager
    def _transaction(self):
        with self.translate_errors(), self.db.atomic(**self.write_lock):
            yield

    #: Arguments for a write transaction's BEGIN (SQLite takes its write lock up front).
    write_lock = {}

    # -- schema ----------------------------------------------------------------------

    def migrate(self):
        with self.translate_errors(), self.db.atomic(**self.write_lock):
            self._lock_for_migration()
            return Runner(self.db, migrations.DIRECTORY).up()

    def _lock_for_migration(self):
        """Serialise concurrent migrations from several processes."""

    def schema_version(self):
        with self.translate_errors():
            applied = Runner(self.db, migrations.DIRECTORY).applied()
        return len(applied), len(migrations.names())

    # -- primitives -----------------------------------------------------------------------

    def _insert(self, table, row):
        # Inserts are the bulk of recording (actions, turns, rounds), so they
        # use the cached SQL text too. RETURNING needs SQLite 3.35 (2021).
        sql, params = self._prepared_insert(table, row)
        auto = BY_TABLE[table]._meta.primary_key
        generated = isinstance(auto, peewee.AutoField) and auto.column_name not in row
        with self._write():
            cursor = self.db.execute_sql(sql + (f" RETURNING {_quote(auto.column_name)}"
                                                if generated else ""), params)
            if generated:
                row = {**row, auto.column_name: cursor.fetchone()[0]}
        return row

    def _select(self, table, where, order_by, after=None, limit=None):
        model = BY_TABLE[table]
        query = self._where(model.select(), model, where)
        if order_by:
            columns = [model._meta.columns[c] for c in order_by]
            query = query.order_by(*columns)
            if after is not None:
                values = [f.db_value(x) for f, x in zip(columns, after)]
                query = query.where(Tuple(*columns) > Tuple(*values))
        if limit is not None:
            query = query.limit(limit)
        with self.translate_errors():
            return list(query.dicts().execute(self.db))

    def _update(self, table, where, changes):
        model = BY_TABLE[table]
        values = {}
        for column, value in changes.items():
            field = model._meta.columns[column]
            if isinstance(value, Add):
                value = field + value.n
            elif isinstance(value, AtLeast):
                value = getattr(fn, self.greatest)(field, value.n)
            values[field] = value
        with self._write():
            return self._where(model.update(values), model, where).execute(self.db)

    def _delete(self, table, where):
        model = BY_TABLE[table]
        with self._write(deleting=True):
            return self._where(model.delete(), model, where).execute(self.db)

    def _count(self, table):
        with self.translate_errors():
            return BY_TABLE[table].select().count(self.db)

    # -- whole tables (liapstore/ops) ------------------------------------------------------

    #: The statement that opens a snapshot's read transaction (see _snapshot).
    snapshot_statement = None

    @contextmanager
    def _snapshot(self):
        # A read-only transaction, never the write lock: the writers carry on.
        with self.translate_errors(), self.db.atomic():
            self.db.execute_sql(self.snapshot_statement)
            yield

    def _scan(self, table, after, limit):
        # Whole tables are read here (copy, backup, checksums): SQL text
        # cached per table, and each value converted by its field's own
        # python_value, without peewee's per-row machinery.
        shape = ("scan", table, after is None)
        cached = self._sql_cache.get(shape)
        if cached is None:
            model = BY_TABLE[table]
            fields, key = model._meta.sorted_fields, key_columns(model)
            q, p = _quote, self.db.param
            where = "" if after is None else \
                f"WHERE ({', '.join(map(q, key))}) > ({', '.join([p] * len(key))}) "
            cached = self._sql_cache[shape] = (
                f"SELECT {', '.join(q(f.column_name) for f in fields)} FROM {q(table)} {where}"
                f"ORDER BY {', '.join(map(q, key))} LIMIT {p}",
                [f.column_name for f in fields],
                [(i, f.python_value) for i, f in enumerate(fields)],
                [model._meta.columns[c].db_value for c in key])
        sql, names, converters, key_values = cached
        params = [] if after is None else [encode(x) for encode, x in zip(key_values, after)]
        with self.translate_errors():
            found = self.db.execute_sql(sql, params + [limit]).fetchall()
        rows = []
        for values in found:
            values = list(values)
            for i, convert in converters:
                if values[i] is not None:
                    values[i] = convert(values[i])
            rows.append(dict(zip(names, values)))
        return rows

    def _load_rows(self, table, rows):
        if not rows:
            return
        fields = BY_TABLE[table]._meta.sorted_fields
        q = _quote
        sql = (f"INSERT INTO {q(table)} ({', '.join(q(f.column_name) for f in fields)}) "
               f"VALUES ({', '.join([self.db.param] * len(fields))})")
        params = [[f.db_value(row[f.column_name]) for f in fields] for row in rows]
        with self._transaction(), self._triggers_off(table):
            self.db.cursor().executemany(sql, params)

    @contextmanager
    def _triggers_off(self, table):
        """Inside the caller's transaction: keep the triggers that would write
        copied tables (the audit) from firing while ``table`` is loaded."""
        yield

    @classmethod
    def _where(cls, query, model, where):
        # peewee's where() needs at least one expression.
        conditions = cls._conditions(model, where)
        return query.where(*conditions) if conditions else query

    @staticmethod
    def _conditions(model, where):
        out = []
        for column, op, value in where:
            field = model._meta.columns[column]
            if value is None:
                out.append(field.is_null(op == "="))
            elif op == "in":
                out.append(field.in_(list(value)) if value else peewee.SQL("1 = 0"))
            elif op == "not in":
                if value:
                    out.append(field.not_in(list(value)))
            else:
                out.append({"=": field.__eq__, "!=": field.__ne__, "<": field.__lt__,
                            "<=": field.__le__, ">": field.__gt__, ">=": field.__ge__}[op](value))
        return out

    # -- the hot path: one recorded action ---------------------------------------------------

    #: How the hot path hands a value to the driver, by the column's
    #: ``field_type``: the same text the fields' ``db_value`` writes, without
    #: peewee's per-value call chain. Types not listed (integers, text,
    #: booleans) pass as they are, and None is always NULL.
    hot_encoders = {"UUID": str, "TIMESTAMPTZ": utc_text, "JSONB": json_text}

    def _write_step(self, step):
        self._write_step_rows(step)
        self._after_step_rows(step)

    def _write_step_rows(self, step):
        """Write the Step's rows; StaleVersion if the game is not at the
        expected version (or is over), in which case nothing is written."""
        # Every row of the action goes out through the driver's connection
        # with SQL text cached per shape (table, columns): building peewee
        # queries, or even going through peewee's execute_sql, costs more
        # than SQLite needs to run the statements. Driver errors still reach
        # the caller's transaction() as peewee errors (the exception wrapper).
        statements = self._step_statements(step)
        conn = self.db.connection()
        with peewee.__exception_wrapper__:
            sql, params = statements[0]
            stale = conn.execute(sql, params).rowcount != 1
            if not stale:
                for sql, params in statements[1:]:
                    conn.execute(sql, params)
        if stale:
            raise StaleVersion()

    def _step_statements(self, step):
        """(sql, params) of every write of one action, in order. The first
        is the version-checked UPDATE of the game, which must hit one row."""
        game_id = step.game_id
        out = [self._hot_update("games", step.game_changes, ("id", "version"),
                                (game_id, step.expected_version), also=' AND "ended_at" IS NULL'),
               self._hot_insert("player_actions", step.action_row)]
        for player_id, changes in step.seat_changes:
            out.append(self._hot_update("game_players", changes, ("game_id", "player_id"),
                                        (game_id, player_id)))
        if step.round_insert:
            out.append(self._hot_insert("rounds", step.round_insert))
        if step.round_update:
            out.append(self._hot_update("rounds", step.round_update[1], ("id",),
                                        (step.round_update[0],)))
        for row in step.turn_inserts:
            out.append(self._hot_insert("turns", row))
        if step.room_changes:
            out.append(self._hot_update("rooms", step.room_changes[1], ("id",),
                                        (step.room_changes[0],)))
        for player_id, changes in step.player_stats:
            out.append(self._hot_update("players", changes, ("id",), (player_id,), counters=True))
        return out

    def _hot_update(self, table, changes, key_columns, key_values, also="", counters=False):
        """An UPDATE; with ``counters``, values may be Add/AtLeast changes."""
        shape = ("hot-update", table, tuple(changes), key_columns, also,
                 tuple(map(type, changes.values())) if counters else None)
        cached = self._sql_cache.get(shape)
        if cached is None:
            q, p = _quote, self.db.param
            sets = ", ".join(_set_clause(c, x, p, self.greatest) for c, x in changes.items())
            conds = " AND ".join(f"{q(c)} = {p}" for c in key_columns)
            transforms = self._transforms(table, tuple(changes) + key_columns)
            if counters:
                transforms = tuple((i, _plain) for i in range(len(changes))) + transforms
            cached = self._sql_cache[shape] = (
                f"UPDATE {q(table)} SET {sets} WHERE {conds}{also}", transforms)
        sql, transforms = cached
        params = [*changes.values(), *key_values]
        for i, encode in transforms:
            if params[i] is not None:
                params[i] = encode(params[i])
        return sql, params

    def _hot_insert(self, table, row):
        shape = ("hot-insert", table, tuple(row))
        cached = self._sql_cache.get(shape)
        if cached is None:
            q, p = _quote, self.db.param
            cached = self._sql_cache[shape] = (
                f"INSERT INTO {q(table)} ({', '.join(q(c) for c in row)}) "
                f"VALUES ({', '.join([p] * len(row))})", self._transforms(table, tuple(row)))
        sql, transforms = cached
        params = list(row.values())
        for i, encode in transforms:
            if params[i] is not None:
                params[i] = encode(params[i])
        return sql, params

    def _transforms(self, table, columns):
        """(parameter index, encoder) of the columns whose values need encoding."""
        fields = BY_TABLE[table]._meta.columns
        return tuple((i, self.hot_encoders[fields[c].field_type]) for i, c in enumerate(columns)
                     if fields[c].field_type in self.hot_encoders)

    def _prepared_insert(self, table, row):
        model, columns = BY_TABLE[table], tuple(row)
        shape = ("insert", table, columns)
        sql = self._sql_cache.get(shape)
        if sql is None:
            q, p = _quote, self.db.param
            sql = self._sql_cache[shape] = (
                f"INSERT INTO {q(table)} ({', '.join(q(c) for c in columns)}) "
                f"VALUES ({', '.join([p] * len(columns))})")
        fields = model._meta.columns
        return sql, [fields[c].db_value(row[c]) for c in columns]


def _first(pair):
    return pair[0]


def _plain(value):
    """The number inside an Add/AtLeast change; any other value as it is."""
    return value.n if isinstance(value, (Add, AtLeast)) else value


def _set_clause(column, value, param, greatest, table=None):
    """``column = ?``, or the expression an Add/AtLeast change stands for
    (its column qualified with ``table`` when the UPDATE reads other relations)."""
    q = _quote(column)
    old = f"{table}.{q}" if table else q
    if isinstance(value, Add):
        return f"{q} = {old} + {param}"
    if isinstance(value, AtLeast):
        return f"{q} = {greatest}({old}, {param})"
    return f"{q} = {param}"


class _MissingObject(StorageUnavailable):
    """Internal: a table, column or function was missing inside a transaction.
    The outermost ``translate_errors`` turns it into SchemaOutdated when the
    schema is behind, else into a plain StorageUnavailable."""


def _quote(name):
    # Both dialects quote identifiers with double quotes.
    return f'"{name}"'


def _first_line(e):
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
