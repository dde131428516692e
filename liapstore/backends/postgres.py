"""PostgresStore: production, with the full schema (JSONB, partitions, the
materialized leaderboard, row-level security, pgcrypto).

Connections come from playhouse.pool. Options in the URL's query string:
``max_connections`` (pool size, default 20), ``stale_timeout`` (seconds before
an idle connection is recycled), ``timeout`` (seconds to wait for a free
connection, default 10), ``connect_timeout`` (seconds, default 5).

Throughput on PostgreSQL comes from concurrent connections: each commit
waits for its WAL flush (about 0.8 ms on a local disk), so one connection
records at most about a thousand actions a second.

Recording an action costs two round trips to the server: BEGIN travels with
the transaction's first statement (``_PipelinedBeginDatabase``), that
statement writes every row of the action (``_write_step``), and COMMIT
follows.
"""
import select

import peewee
from peewee import SQL
from playhouse.pool import PooledPostgresqlDatabase

from ..errors import StorageUnavailable
from ..games import StaleVersion
from ..schema.fields import json_text_unsorted
from ..schema.models import BY_TABLE, Room
from ..urls import redact
from .sql import SqlStore, _encoded, _plain, _quote, _set_clause

# Any constant will do, as long as every liapstore process uses the same one.
_MIGRATION_LOCK_KEY = 0x6C6961707374  # "liapst"


class PostgresStore(SqlStore):
    backend = "postgresql"
    dialect = "postgres"
    greatest = "GREATEST"
    pooled = True
    failed_statement_aborts_transaction = True

    def _open(self, params):
        params.setdefault("max_connections", 20)
        params.setdefault("timeout", 10)
        params.setdefault("connect_timeout", 5)
        database = params.pop("database")
        # peewee finds no driver only at the first query; say so at once.
        if peewee.psycopg is None and peewee.psycopg2 is None:
            raise StorageUnavailable(f"{redact(self.url)}: no PostgreSQL driver is installed; "
                                     "pip install 'liapstore[postgres]' (psycopg 3)")
        return _PipelinedBeginDatabase(database, prefer_psycopg3=True, **params)

    def migrate(self):
        applied = super().migrate()
        # Every connect() runs this, which keeps the window of analytics
        # partitions moving even for deployments that never run maintain().
        self._ensure_partitions()
        return applied

    def _lock_for_migration(self):
        # Two servers starting at once would both try to create the schema;
        # the advisory lock makes the second wait, then find it up to date.
        self.db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_KEY,))

    def _search_rooms(self, words, limit):
        # The expression matches idx_rooms_name_search, so the GIN index serves it.
        query = (Room.select()
                 .where(SQL("to_tsvector('english', name) @@ plainto_tsquery('english', %s)",
                            [" ".join(words)]))
                 .order_by(Room.created_at, Room.id).limit(limit))
        with self.translate_errors():
            return list(query.dicts().execute(self.db))

    def refresh_leaderboard(self):
        with self.translate_errors():
            self.db.execute_sql("REFRESH MATERIALIZED VIEW CONCURRENTLY player_leaderboard")

    def _ensure_partitions(self):
        # Last month through twelve months ahead; existing ones are skipped.
        with self.translate_errors(), self.db.atomic():
            cursor = self.db.execute_sql(
                "SELECT liapstore_ensure_analytics_partitions("
                "(now() AT TIME ZONE 'UTC')::date - 31, 14)")
            return cursor.fetchone()[0]


    # -- the hot path: one recorded action, one statement ----------------------------------

    #: psycopg sends UUIDs and datetimes as the server's own types, and JSONB
    #: keeps keys in an order of its own, so only JSON needs encoding here.
    hot_encoders = {"JSONB": json_text_unsorted}

    def _write_step(self, step):
        # One statement writes every row of the action. The version-checked
        # UPDATE of the game is a CTE ("g") that every other write reads from
        # (FROM g), so when the game is not at the expected version, or is
        # over, the UPDATE matches no row and nothing at all is written; the
        # count of g's rows tells which. Data-modifying CTEs always run to
        # completion, whether or not the final SELECT reads them.
        sql, params = self._step_statement(step)
        if self.db.execute_sql(sql, params).fetchone()[0] != 1:
            raise StaleVersion()

    def _step_statement(self, step):
        """The one statement of a Step (SQL text cached per shape) and its parameters."""
        game_id = step.game_id
        writes = [("update", None, "games", step.game_changes, ("id", "version"),
                   (game_id, step.expected_version))]
        writes.append(("insert", "g", "player_actions", step.action_row))
        for player_id, changes in step.seat_changes:
            writes.append(("update", "g", "game_players", changes, ("game_id", "player_id"),
                           (game_id, player_id)))
        round_insert, round_update = step.round_insert, step.round_update
        if round_insert and round_update and round_update[0] == round_insert["id"]:
            # A statement's CTEs cannot see each other's rows: insert the row
            # as the update would leave it.
            round_insert, round_update = {**round_insert, **round_update[1]}, None
        if round_insert:
            writes.append(("insert", "g", "rounds", round_insert))
        if round_update:
            writes.append(("update", "g", "rounds", round_update[1], ("id",), (round_update[0],)))
        for row in step.turn_inserts:
            writes.append(("insert", "g", "turns", row))
        if step.room_changes:
            writes.append(("update", "g", "rooms", step.room_changes[1], ("id",),
                           (step.room_changes[0],)))
        # The players' rows are locked in id order (each UPDATE reads the
        # previous one's row, which orders them), so two games of the same
        # players ending at once cannot deadlock.
        after = "g"
        for n, (player_id, changes) in enumerate(sorted(step.player_stats, key=lambda c: c[0])):
            writes.append(("update", after, "players", changes, ("id",), (player_id,)))
            after = f"p{n}"
        shape = tuple((w[0], w[1], w[2], tuple(w[3]), w[4] if w[0] == "update" else None,
                       tuple(type(x) for x in w[3].values()) if w[2] == "players" else None)
                      for w in writes)
        cached = self._sql_cache.get(shape)
        if cached is None:
            cached = self._sql_cache[shape] = self._build_step_statement(writes)
        sql, encoders = cached
        params = []
        for write, (value_encoders, key_encoders) in zip(writes, encoders):
            values = write[3].values()
            if write[2] == "players":
                values = [_plain(x) for x in values]
            params += _encoded(value_encoders, values)
            if write[0] == "update":
                params += _encoded(key_encoders, write[5])
        return sql, params

    def _build_step_statement(self, writes):
        ctes, encoders = [], []
        stats = 0
        for kind, after, table, values, *keys in writes:
            columns = tuple(values)
            fields = BY_TABLE[table]._meta.columns
            casts = [_cast(fields[c]) for c in columns]
            if table == "games":
                name, source = "g", ""
            elif table == "players":
                name, source, stats = f"p{stats}", f" FROM {after}", stats + 1
            else:
                name, source = f"w{len(ctes)}", " FROM g"
            if kind == "insert":
                body = (f"INSERT INTO {_quote(table)} ({', '.join(_quote(c) for c in columns)}) "
                        f"SELECT {', '.join(f'%s::{t}' for t in casts)}{source}")
                key_encoders = None
            else:
                key_columns = keys[0]
                sets = ", ".join(_set_clause(c, values[c], f"%s::{t}", "GREATEST", _quote(table))
                                 for c, t in zip(columns, casts))
                conds = " AND ".join(f"{_quote(table)}.{_quote(c)} = %s::{_cast(fields[c])}"
                                     for c in key_columns)
                if table == "games":
                    conds += f' AND {_quote(table)}."ended_at" IS NULL'
                body = f"UPDATE {_quote(table)} SET {sets}{source} WHERE {conds}"
                key_encoders = self._hot_encoders_for(table, key_columns)
            ctes.append(f"{name} AS ({body} RETURNING 1 AS written)")
            encoders.append((self._hot_encoders_for(table, columns), key_encoders))
        return f"WITH {', '.join(ctes)} SELECT count(*) FROM g", tuple(encoders)


# The SQL type each field type casts its parameter to: INSERT ... SELECT
# cannot infer a parameter's type from the target column as VALUES does.
_CASTS = {"INT": "integer", "BOOL": "boolean", "VARCHAR": "text", "TEXT": "text",
          "BIGINT": "bigint", "BIGAUTO": "bigint"}


def _cast(field):
    return _CASTS.get(field.field_type, field.field_type.lower())


class _PipelinedBeginDatabase(PooledPostgresqlDatabase):
    """peewee's PostgreSQL pool, where the statements that open and close
    transactions and savepoints (BEGIN, SAVEPOINT, RELEASE SAVEPOINT) wait
    for the next real statement and travel with it in one round trip
    (psycopg's pipeline mode), instead of costing a round trip each.

    Postponing them changes nothing the transaction sees: its snapshot is
    taken at its first statement anyway, and a savepoint set just before a
    statement covers that statement as it would have. A transaction or
    savepoint in which no statement ran sends nothing at all; COMMIT
    releases whatever savepoints are still owed.
    """

    def _is_closed(self, conn):
        # The pool checks each connection it hands out, with a SELECT 1 when
        # the connection is idle: a round trip on every operation. An idle
        # connection's socket has nothing to read unless the server spoke
        # (the notice of its shutdown, or end of file when it died), so the
        # SELECT 1 runs only then.
        adapter = self._adapter
        if (not conn.closed and adapter.txn_status(conn) == adapter.txn_idle
                and not select.select([conn.fileno()], [], [], 0)[0]):
            return False
        return super()._is_closed(conn)

    # -- statements owed to the server ----------------------------------------------

    def _owed(self):
        """The statements owed on the current connection (a list to change in place)."""
        state = self._state
        if state.conn is None or getattr(state, "owed_on", None) is not state.conn:
            state.owed_on, state.owed = state.conn, []
        return state.owed

    def _owe(self, sql):
        """Send ``sql`` with the next statement; at once if the driver cannot pipeline."""
        if hasattr(self.connection(), "pipeline"):
            self._owed().append(sql)
        else:  # psycopg2
            self.execute_sql(sql)

    def _settle(self, opening, closing):
        """Close what ``opening`` opened: nothing to send if ``opening`` was
        never sent (nothing ran since), else owe ``closing``."""
        owed = self._owed()
        if owed and owed[-1] == opening:
            owed.pop()
        else:
            self._owe(closing)

    def _execute_cursor(self, sql, params, **cursor_options):
        owed = self._owed()
        if not owed or cursor_options or self.query_hooks:
            return super()._execute_cursor(sql, params, **cursor_options)
        owed_now, owed[:] = list(owed), []
        self._log_query(sql, params)
        conn = self._state.conn
        with peewee.__exception_wrapper__:
            with conn.pipeline():
                for statement in owed_now:
                    # Never prepared: nothing to gain, and preparing a
                    # statement outside a pipeline costs a round trip.
                    conn.cursor().execute(statement, prepare=False)
                cursor = conn.cursor()
                cursor.execute(sql, params or ())
        return cursor

    def cursor(self, named_cursor=None):
        # Whoever asks for a cursor directly gets the owed statements sent first.
        owed = self._owed()
        if owed:
            owed_now, owed[:] = list(owed), []
            conn = self._state.conn
            with peewee.__exception_wrapper__:
                with conn.pipeline():
                    for statement in owed_now:
                        conn.cursor().execute(statement, prepare=False)
        return super().cursor(named_cursor)

    # -- transactions and savepoints ------------------------------------------------

    def begin(self, isolation_level=None):
        if isolation_level is not None or self._isolation_level:
            return super().begin(isolation_level)
        self._owe("BEGIN")

    def commit(self):
        owed = self._owed()
        if "BEGIN" in owed:  # Nothing was sent: nothing to commit.
            owed.clear()
            return None
        if self.is_closed() or not hasattr(self._state.conn, "pipeline"):
            return super().commit()
        owed.clear()  # COMMIT releases the savepoints still owed a RELEASE.
        with peewee.__exception_wrapper__:
            self.cursor().execute("COMMIT", prepare=False)

    def rollback(self):
        owed = self._owed()
        begun = "BEGIN" not in owed
        owed.clear()
        if begun:
            return super().rollback()

    def savepoint(self):
        return _OwedSavepoint(self)


class _OwedSavepoint(peewee._savepoint):
    """A savepoint whose SAVEPOINT and RELEASE travel with the next statement."""

    def _begin(self):
        self.db._owe(f"SAVEPOINT {self.quoted_sid}")

    def commit(self, begin=True):
        self.db._settle(f"SAVEPOINT {self.quoted_sid}", f"RELEASE SAVEPOINT {self.quoted_sid}")
        if begin:
            self._begin()

    def rollback(self, begin=True):
        owed = self.db._owed()
        if owed and owed[-1] == f"SAVEPOINT {self.quoted_sid}":
            owed.pop()  # Never sent, nothing ran inside it: nothing to undo.
        else:
            self.db.execute_sql(f"ROLLBACK TO SAVEPOINT {self.quoted_sid}")
        if begin:
            self._begin()
