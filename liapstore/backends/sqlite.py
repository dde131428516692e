"""SqliteStore: the zero-setup default, one file, WAL mode.

Options in the URL's query string: ``busy_timeout`` (ms a writer waits for
another process's lock, default 5000) and ``synchronous`` (FULL by default,
so that an acknowledged write survives a power cut, not only a crash of the
process; NORMAL is faster and still survives the process being killed).
"""
import os
import re
import threading
from contextlib import contextmanager

from peewee import SQL, SqliteDatabase, _savepoint

from ..errors import InvalidInput
from ..schema.models import BY_TABLE, Room
from ..security import AUDITED
from .driver_errors import SQLITE_ERRORS, classify_sqlite
from .sql import SqlStore

# What liapstore_actor holds after a savepoint rolled back: to be named again.
_UNKNOWN = object()


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
    # Tables that hold no data: liapstore_actor names the acting player for
    # the audit triggers and is empty whenever no transaction of the store's
    # is writing (see _name_actor). Copies and backups leave it out.
    scratch_tables = ("liapstore_actor",)
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

    # A deferred BEGIN and a first read: the snapshot WAL mode keeps for
    # this reader from that read on, whatever is committed meanwhile.
    snapshot_statement = "SELECT count(*) FROM sqlite_master"

    @contextmanager
    def _triggers_off(self, table):
        # SQLite cannot disable a trigger, but its DDL is transactional: the
        # triggers that write other copied tables (the audit) are dropped and
        # created again inside the load's transaction, so a failure or a kill
        # leaves them as they were. Triggers keeping derived data (the rooms'
        # search index) fire as usual.
        found = self.db.execute_sql("SELECT name, sql FROM sqlite_master "
                                    "WHERE type = 'trigger' AND tbl_name = ?", (table,)).fetchall()
        doomed = [(name, sql) for name, sql in found if _writes_copied_table(sql, table)]
        for name, _ in doomed:
            self.db.execute_sql(f'DROP TRIGGER "{name}"')
        yield
        for _, sql in doomed:
            self.db.execute_sql(sql)
    # -- the acting player, for the audit triggers ---------------------------------------
    #
    # SQLite has no session settings, and functions registered on the
    # store's connections would break every other connection that writes an
    # audited table ("no such function"). Instead the triggers read the
    # one-row table liapstore_actor, which the store fills just before a
    # write to an audited table when the thread has an identity, and empties
    # before the transaction commits: SQLite lets one write transaction run at
    # a time, so the row is always that of the transaction that writes, and
    # any other connection finds it empty (the server, no one). Work without
    # an identity, and writes to other tables (most recorded actions), add
    # nothing. ``_tx.actor_row`` is what the row holds in this transaction:
    # None (empty), the identity, or _UNKNOWN after a savepoint rolled back.

    @contextmanager
    def _transaction(self):
        outer = not self.db.in_transaction()
        try:
            with super()._transaction():
                yield
                if outer and self._tx_actor_row() is not None:
                    self.db.execute_sql("DELETE FROM liapstore_actor")
        except BaseException:
            # Rolled back: empty again if outer; otherwise a savepoint may
            # have undone the row, so the next audited write names it anew.
            self._tx.actor_row = None if outer else _UNKNOWN
            raise
        finally:
            if outer:
                self._tx.actor_row = None

    def _tx_actor_row(self):
        return getattr(self._tx, "actor_row", None)

    def _name_actor(self):
        """Make liapstore_actor hold the current identity (empty for none)
        before a write to an audited table, inside its transaction."""
        want = self._identity()
        want = None if want == (None, None) else want
        if self._tx_actor_row() == want:
            return
        if want is None:
            self.db.execute_sql("DELETE FROM liapstore_actor")
        else:
            self.db.execute_sql("INSERT OR REPLACE INTO liapstore_actor (id, user_id, ip_address) "
                                "VALUES (1, ?, ?)", (None if want[0] is None else str(want[0]),
                                                     want[1]))
        self._tx.actor_row = want

    @contextmanager
    def _audited(self, table):
        """Around a primitive's write: the actor named first if ``table`` is audited."""
        if table not in AUDITED or (self._identity() == (None, None)
                                    and self._tx_actor_row() is None):
            yield
        elif self.db.in_transaction():
            self._name_actor()
            yield
        else:  # one statement: a transaction of its own, to name the actor in it
            with self._transaction():
                self._name_actor()
                yield

    def _insert(self, table, row):
        with self._audited(table):
            return super()._insert(table, row)

    def _update(self, table, where, changes):
        with self._audited(table):
            return super()._update(table, where, changes)

    def _delete(self, table, where):
        with self._audited(table):
            return super()._delete(table, where)

    def _write_step_rows(self, step):
        # A recorded action writes audited rows only when it starts or ends
        # a game (the room, the players' statistics).
        if step.room_changes or step.player_stats:
            self._name_actor()
        super()._write_step_rows(step)

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


def _writes_copied_table(trigger_sql, table):
    """Whether a trigger's body writes a table of the models other than its own."""
    written = re.findall(r'\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', trigger_sql,
                         re.IGNORECASE)
    return any(name in BY_TABLE and name != table for name in written)


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
