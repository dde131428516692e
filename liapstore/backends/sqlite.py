"""SqliteStore: the zero-setup default, one file, WAL mode.

Options in the URL's query string: ``busy_timeout`` (ms a writer waits for
another process's lock, default 5000) and ``synchronous`` (FULL by default,
so that an acknowledged write survives a power cut, not only a crash of the
process; NORMAL is faster and still survives the process being killed).
"""
import os
import threading
from contextlib import contextmanager

from peewee import SQL, SqliteDatabase, _savepoint

from ..errors import InvalidInput
from ..schema.models import Room
from .driver_errors import SQLITE_ERRORS, classify_sqlite
from .sql import SqlStore


class SqliteStore(SqlStore):
    backend = "sqlite"
    dialect = "sqlite"
    greatest = "MAX"
    # Every write transaction takes the write lock at BEGIN. A deferred
    # transaction that reads first and then writes cannot wait for the lock
    # in WAL mode: if another connection committed meanwhile, its upgrade
    # fails at once with SQLITE_BUSY_SNAPSHOT, and busy_timeout never applies.
    # Taken up front, the lock is simply waited for (up to busy_timeout).
    write_lock = {"lock_type": "IMMEDIATE"}
    # Times are fixed-width UTC text (schema/fields.py): the day is its prefix.
    day_sql = "substr({}, 1, 10)"
    seconds_sql = "(julianday(ended_at) - julianday(started_at)) * 86400.0"
    classify = staticmethod(classify_sqlite)
    driver_exceptions = SQLITE_ERRORS

    def _open(self, params):
        path = params.pop("database")
        if path == ":memory:" or not path:
            raise InvalidInput("sqlite:// needs a file path, e.g. sqlite:///liapstore.db "
                               "(use memory:// for a throwaway store)")
        synchronous = str(params.pop("synchronous", "FULL")).upper()
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise InvalidInput(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
        pragmas = {"journal_mode": "wal", "foreign_keys": 1, "synchronous": synchronous,
                   "busy_timeout": int(params.pop("busy_timeout", 5000))}
        if params:
            raise InvalidInput(f"unknown sqlite:// options {sorted(params)}; "
                               "supported: busy_timeout, synchronous")
        self.path = os.path.abspath(path)
        db = _Database(self.path, pragmas=pragmas)
        db.identity = self._identity
        return db

    @contextmanager
    def translate_errors(self, deleting=False):
        try:
            with super().translate_errors(deleting):
                yield
        finally:
            # SQLite opens a file it may not write read-only, and such a
            # connection refuses writes for good, even after the file or its
            # folder becomes writable again. Dropping it after each operation
            # lets the same Store write as soon as it is allowed to.
            if self.db.opened_read_only() and not self.db.in_transaction():
                self.db.close()

    def _search_rooms(self, words, limit):
        # FTS5 query syntax: each word quoted, separated by spaces = AND.
        match = " ".join('"%s"' % w for w in words)
        query = (Room.select()
                 .where(SQL("rowid IN (SELECT rowid FROM rooms_name_search "
                            "WHERE rooms_name_search MATCH ?)", [match]))
                 .order_by(Room.created_at, Room.id).limit(limit))
        with self.translate_errors():
            return list(query.dicts().execute(self.db))


class _Database(SqliteDatabase):
    """SqliteDatabase that does not hide why a transaction failed.

    On some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY during COMMIT)
    SQLite rolls the whole transaction back by itself. peewee then issues its
    own ROLLBACK (or ROLLBACK TO a savepoint that no longer exists), which
    fails with "no transaction is active" and replaces the real error, such
    as "database or disk is full". Asking the connection whether a
    transaction is still open keeps the real one.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._read_only = threading.local()  # per thread, as the connections are

    #: The store's identity callable (see register_functions).
    identity = None

    def _connect(self):
        conn = super()._connect()
        self._read_only.value = not os.access(self.database, os.W_OK)
        register_functions(conn, self.identity)
        return conn

    def opened_read_only(self):
        """Whether this thread's open connection was opened on a file it could not write."""
        return not self.is_closed() and getattr(self._read_only, "value", False)

    def rollback(self):
        if not self.is_closed() and not self.connection().in_transaction:
            return
        super().rollback()

    def savepoint(self):
        return _Savepoint(self)


def register_functions(conn, identity=None):
    """Give a sqlite3 connection the functions the audit triggers call:
    ``current_user_id()`` and ``liapstore_client_ip()``, the acting player
    and client address (``Store.acting_as``) as text, NULL for the server.

    The store's own connections have them. Any other connection that writes
    players, player_sessions or rooms (the sqlite3 shell, a script) must
    register them first, or SQLite refuses the statement ("no such
    function"); ``identity``, a callable returning ``(player id, client IP)``,
    defaults to none (the entries then name no one).
    """
    def part(i):
        value = identity()[i] if identity else None
        return None if value is None else str(value)

    # Not deterministic: the same statement gives another answer for another actor.
    conn.create_function("current_user_id", 0, lambda: part(0))
    conn.create_function("liapstore_client_ip", 0, lambda: part(1))


class _Savepoint(_savepoint):
    def rollback(self, begin=True):
        if self.db.connection().in_transaction:
            super().rollback(begin)
