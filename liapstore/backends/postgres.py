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
the transaction's first statement (``pgpool.PipeliningDatabase``), that
statement writes every row of the action (``_write_step_rows``), and COMMIT
follows. The action that ends a game also counts the players' achievements,
which reads and writes a few more rows.
"""
import peewee
from peewee import SQL

from ..errors import StorageUnavailable
from ..games import StaleVersion
from ..schema.fields import json_text_unsorted
from ..schema.models import BY_TABLE, Room
from ..urls import redact
from ..analytics import lifecycle_event_rows
from .driver_errors import classify_postgres
from .pgpool import PipeliningDatabase
from .sql import SqlStore, _first, _plain, _quote, _set_clause

try:
    from psycopg import Error as _PsycopgError
except ImportError:  # The postgres extra is not installed; _open says so.
    _PsycopgError = None

# Any constant will do, as long as every liapstore process uses the same one.
_MIGRATION_LOCK_KEY = 0x6C6961707374  # "liapst"


class PostgresStore(SqlStore):
    backend = "postgresql"
    dialect = "postgres"
    greatest = "GREATEST"
    pooled = True
    materialized_leaderboard = True
    failed_statement_aborts_transaction = True
    step_writes_events = True
    day_sql = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    seconds_sql = "EXTRACT(EPOCH FROM ended_at - started_at)"
    partitioned_events = True
    # Games ending take it shared, a season being created exclusive (progress.py).
    season_lock_sql = ("SELECT pg_advisory_xact_lock_shared(%d)" % (_MIGRATION_LOCK_KEY + 1),
                       "SELECT pg_advisory_xact_lock(%d)" % (_MIGRATION_LOCK_KEY + 1))
    classify = staticmethod(classify_postgres)
    driver_exceptions = (_PsycopgError,) if _PsycopgError else ()

    def _open(self, params):
        params.setdefault("max_connections", 20)
        params.setdefault("timeout", 10)
        params.setdefault("connect_timeout", 5)
        database = params.pop("database")
        # peewee finds no driver only at the first query; say so at once.
        if peewee.psycopg is None and peewee.psycopg2 is None:
            raise StorageUnavailable(f"{redact(self.url)}: no PostgreSQL driver is installed; "
                                     "pip install 'liapstore[postgres]' (psycopg 3)")
        return PipeliningDatabase(database, prefer_psycopg3=True, **params)

    def _connection_limit(self):
        return self.db._max_connections

    def _pool_usage(self):
        # peewee's pool: checked-out connections by id, idle ones in a heap.
        return {"in_use": len(self.db._in_use), "idle": len(self.db._connections)}

    def migrate(self):
        applied = super().migrate()
        # Explicit migrations keep the window of monthly analytics partitions
        # moving; so does maintain(). connect() runs neither when the schema
        # is up to date: the DEFAULT partition takes any row meanwhile.
        self._ensure_partitions()
        return applied

    def _lock_for_migration(self):
        # Two servers starting at once would both try to create the schema;
        # the advisory lock makes the second wait, then find it up to date.
        self.db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_KEY,))

    def _search_rooms(self, words, limit):
        # The expression matches idx_rooms_name_search, so the GIN index serves
        # it; the query's words go through the same function as the names. An
        # empty array is contained in every name, hence the cardinality test
        # (a query whose every letter is unknown to the server's ICU matches
        # nothing, as on SQLite, instead of everything).
        text = " ".join(words)
        query = (Room.select()
                 .where(SQL("liapstore_name_words(name) @> liapstore_name_words(%s) "
                            "AND cardinality(liapstore_name_words(%s)) > 0", [text, text]))
                 .order_by(Room.created_at, Room.id).limit(limit))
        with self.translate_errors():
            return list(query.dicts().execute(self.db))

    def refresh_leaderboard(self):
        with self.translate_errors():
            self.db.execute_sql("REFRESH MATERIALIZED VIEW CONCURRENTLY player_leaderboard")

    def _ensure_partitions(self):
        # Last month through twelve months ahead; existing ones are skipped.
        # Under the migration lock, so that two processes never race to
        # create the same partition.
        with self.translate_errors(), self.db.atomic():
            self._lock_for_migration()
            cursor = self.db.execute_sql(
                "SELECT liapstore_ensure_analytics_partitions("
                "(now() AT TIME ZONE 'UTC')::date - 31, 14)")
            return cursor.fetchone()[0]

    # -- the hot path: one recorded action, one statement ----------------------------------

    #: psycopg sends UUIDs and datetimes as the server's own types, and JSONB
    #: keeps keys in an order of its own, so only JSON needs encoding here.
    hot_encoders = {"JSONB": json_text_unsorted}

    def _write_step_rows(self, step):
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
        # (table, values, key columns, key values): INSERTs have no key columns.
        writes = [("games", step.game_changes, ("id", "version"), (game_id, step.expected_version)),
                  ("player_actions", step.action_row, None, ())]
        for player_id, changes in step.seat_changes:
            writes.append(("game_players", changes, ("game_id", "player_id"), (game_id, player_id)))
        round_insert, round_update = step.round_insert, step.round_update
        if round_insert and round_update and round_update[0] == round_insert["id"]:
            # A statement's CTEs cannot see each other's rows: insert the row
            # as the update would leave it.
            round_insert, round_update = {**round_insert, **round_update[1]}, None
        if round_insert:
            writes.append(("rounds", round_insert, None, ()))
        if round_update:
            writes.append(("rounds", round_update[1], ("id",), (round_update[0],)))
        for row in step.turn_inserts:
            writes.append(("turns", row, None, ()))
        if step.room_changes:
            writes.append(("rooms", step.room_changes[1], ("id",), (step.room_changes[0],)))
        # The players' rows are locked in id order, so two games of the same
        # players ending at once cannot deadlock (see _build_step_statement).
        for player_id, changes in sorted(step.player_stats, key=_first):
            writes.append(("players", changes, ("id",), (player_id,)))
        if step.round_update or step.room_changes:  # a redeal, a round's or the game's end
            events = lifecycle_event_rows(step)
            if len(events) == 1:  # see Analytics.step_writes_events
                writes.append(("analytics_events", events[0], None, ()))
        shape = tuple([(table, tuple(values), keys,
                        tuple(map(type, values.values())) if table == "players" else None)
                       for table, values, keys, _ in writes])
        cached = self._sql_cache.get(shape)
        if cached is None:
            cached = self._sql_cache[shape] = self._build_step_statement(writes)
        sql, transforms = cached
        params = []
        for _, values, _, key_values in writes:
            params += values.values()
            params += key_values
        for i, encode in transforms:
            if params[i] is not None:
                params[i] = encode(params[i])
        return sql, params

    def _build_step_statement(self, writes):
        """SQL text of one shape of Step, and the (parameter index, encoder)
        pairs for the parameters that need encoding."""
        ctes, transforms, stats, index = [], [], 0, 0
        for table, values, key_columns, _ in writes:
            fields = BY_TABLE[table]._meta.columns
            columns, q = tuple(values), _quote(table)
            if table == "games":
                name, source = "g", ""
            elif table == "players":
                # Each UPDATE of a player reads the previous one's row, so the
                # rows are locked in this (id) order.
                name, source = f"p{stats}", f" FROM {f'p{stats - 1}' if stats else 'g'}"
                stats += 1
            else:
                name, source = f"w{len(ctes)}", " FROM g"
            if key_columns is None:
                body = (f"INSERT INTO {q} ({', '.join(_quote(c) for c in columns)}) "
                        f"SELECT {', '.join(f'%s::{_cast(fields[c])}' for c in columns)}{source}")
            else:
                sets = ", ".join(_set_clause(c, values[c], f"%s::{_cast(fields[c])}", self.greatest, q)
                                 for c in columns)
                conds = " AND ".join(f"{q}.{_quote(c)} = %s::{_cast(fields[c])}"
                                     for c in key_columns)
                if table == "games":
                    conds += f' AND {q}."ended_at" IS NULL'
                body = f"UPDATE {q} SET {sets}{source} WHERE {conds}"
            ctes.append(f"{name} AS ({body} RETURNING 1 AS written)")
            for n, c in enumerate(columns + (key_columns or ())):
                encode = self.hot_encoders.get(fields[c].field_type)
                if table == "players" and n < len(columns):
                    encode = _plain  # Add/AtLeast: the SET clause holds the rest
                if encode is not None:
                    transforms.append((index, encode))
                index += 1
        return f"WITH {', '.join(ctes)} SELECT count(*) FROM g", tuple(transforms)


# The SQL type each field type casts its parameter to: INSERT ... SELECT
# cannot infer a parameter's type from the target column as VALUES does.
_CASTS = {"INT": "integer", "BOOL": "boolean", "VARCHAR": "text", "TEXT": "text",
          "BIGINT": "bigint", "BIGAUTO": "bigint"}


def _cast(field):
    return _CASTS.get(field.field_type, field.field_type.lower())

