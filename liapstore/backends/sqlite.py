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
        return _Database(self.path, pragmas=pragmas)

    # -- the acting player, for the audit triggers ---------------------------------------
    #
    # SQLite has no session settings, and functions registered on the
    # store's connections would break every other connection that writes an
    # audited table ("no such function"). Instead the triggers read the
    # one-row table liapstore_actor, which the store fills at the start of a
    # write transaction that has an identity and empties before it commits:
    # SQLite lets one write transaction run at a time, so the row is always
    # that of the transaction that writes, and any other connection finds
    # it empty (the server, no one). Work without an identity adds nothing.

    @contextmanager
    def _transaction(self):
        outer = not self.db.in_transaction()
        with super()._transaction():
            if outer:
                self._name_actor()
            yield
            if outer and getattr(self._tx, "actor_named", False):
                self.db.execute_sql("DELETE FROM liapstore_actor")
                self._tx.actor_named = False

    @contextmanager
    def _write(self, deleting=False):
        # A write with an identity outside any transaction gets one, to name it.
        if self.db.in_transaction() or self._identity() == (None, None):
            with super()._write(deleting):
                yield
        else:
            with self._transaction(), super()._write(deleting):
                yield

    def _actor_changed(self):
        if self.db.in_transaction():
            self._name_actor(clear=True)

    def _name_actor(self, clear=False):
        """Name the current identity in liapstore_actor (or, with ``clear``,
        empty it when there is none)."""
        user_id, ip = self._identity()
        if user_id is None and ip is None:
            if clear and getattr(self._tx, "actor_named", False):
                self.db.execute_sql("DELETE FROM liapstore_actor")
                self._tx.actor_named = False
            return
        self.db.execute_sql("INSERT OR REPLACE INTO liapstore_actor (id, user_id, ip_address) "
                            "VALUES (1, ?, ?)", (None if user_id is None else str(user_id), ip))
        self._tx.actor_named = True

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

    def _connect(self):
        conn = super()._connect()
        self._read_only.value = not os.access(self.database, os.W_OK)
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


class _Savepoint(_savepoint):
    def rollback(self, begin=True):
        if self.db.connection().in_transaction:
            super().rollback(begin)
