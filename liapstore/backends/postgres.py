"""PostgresStore: production, with the full schema (JSONB, partitions, the
materialized leaderboard, row-level security, pgcrypto).

Connections come from playhouse.pool. Options in the URL's query string:
``max_connections`` (pool size, default 20), ``stale_timeout`` (seconds before
an idle connection is recycled), ``timeout`` (seconds to wait for a free
connection, default 10), ``connect_timeout`` (seconds, default 5).

Throughput on PostgreSQL comes from concurrent connections: each commit
waits for its WAL flush (about 0.8 ms on a local disk), so one connection
records at most about a thousand actions a second.
"""
import peewee
from peewee import SQL
from playhouse.pool import PooledPostgresqlDatabase

from ..errors import StorageUnavailable
from ..schema.models import Room
from ..urls import redact
from .driver_errors import classify_postgres
from .sql import SqlStore

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
        return PooledPostgresqlDatabase(database, prefer_psycopg3=True, **params)

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
