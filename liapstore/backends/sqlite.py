"""SqliteStore: the zero-setup default, one file, WAL mode.

Options in the URL's query string: ``busy_timeout`` (ms a writer waits for
another process's lock, default 5000) and ``synchronous`` (FULL by default,
so that an acknowledged write survives a power cut, not only a crash of the
process; NORMAL is faster and still survives the process being killed).
"""
import os

from peewee import SQL, SqliteDatabase

from ..errors import InvalidInput
from ..schema.models import Room
from .sql import SqlStore


class SqliteStore(SqlStore):
    backend = "sqlite"
    dialect = "sqlite"
    greatest = "MAX"
    # BEGIN IMMEDIATE takes the write lock at once, so two processes that
    # migrate the same new file run one after the other.
    migration_lock = {"lock_type": "IMMEDIATE"}

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
        return SqliteDatabase(self.path, pragmas=pragmas)

    def _search_rooms(self, words, limit):
        # FTS5 query syntax: each word quoted, separated by spaces = AND.
        match = " ".join('"%s"' % w for w in words)
        query = (Room.select()
                 .where(SQL("rowid IN (SELECT rowid FROM rooms_name_search "
                            "WHERE rooms_name_search MATCH ?)", [match]))
                 .order_by(Room.created_at, Room.id).limit(limit))
        with self.translate_errors():
            return list(query.dicts().execute(self.db))
