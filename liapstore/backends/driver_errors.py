"""Which liapstore error a driver exception becomes, decided by its code.

SQLite reports an extended result code (``sqlite3.Error.sqlite_errorcode``,
Python 3.11+), PostgreSQL a SQLSTATE (``psycopg.Error.sqlstate``). Messages
are for people: they change between versions and locales, so nothing here
reads them. ``SqlStore.translate_errors`` is the one caller.

Each classifier returns one of these kinds, which ``SqlStore`` turns into an
exception with the driver's own message kept in it:
"""
import sqlite3

DUPLICATE = "duplicate"        # Conflict: a unique key is taken
REFERENCED = "referenced"      # Conflict on delete, NotFound on insert/update
RETRY = "retry"                # Conflict: rolled back by the database; retry
REJECTED = "rejected"          # InvalidInput: a CHECK, NOT NULL or type rule
SCHEMA = "schema"              # SchemaOutdated: a table or column is missing
FORBIDDEN = "forbidden"        # Forbidden: a privilege, a row-level policy, the profile guard
UNAVAILABLE = "unavailable"    # StorageUnavailable: anything else

# SQLite extended result codes (https://www.sqlite.org/rescode.html). The low
# byte of an extended code is its primary code.
_SQLITE_EXTENDED = {
    275: REJECTED,      # SQLITE_CONSTRAINT_CHECK
    1299: REJECTED,     # SQLITE_CONSTRAINT_NOTNULL
    3091: REJECTED,     # SQLITE_CONSTRAINT_DATATYPE
    2067: DUPLICATE,    # SQLITE_CONSTRAINT_UNIQUE
    1555: DUPLICATE,    # SQLITE_CONSTRAINT_PRIMARYKEY
    2579: DUPLICATE,    # SQLITE_CONSTRAINT_ROWID
    787: REFERENCED,    # SQLITE_CONSTRAINT_FOREIGNKEY
    517: RETRY,         # SQLITE_BUSY_SNAPSHOT: a read transaction went stale
}
_SQLITE_PRIMARY = {
    1: SCHEMA,          # SQLITE_ERROR: a statement that does not prepare;
                        # SqlStore checks the schema version before saying so
    18: REJECTED,       # SQLITE_TOOBIG
    20: REJECTED,       # SQLITE_MISMATCH
    25: REJECTED,       # SQLITE_RANGE
}


def classify_sqlite(error):
    """The kind of a ``sqlite3.Error`` (UNAVAILABLE when it carries no code)."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        # Raised by the sqlite3 module itself (a closed connection, a
        # misuse), not by the library: nothing a caller can fix by retrying.
        return UNAVAILABLE
    return _SQLITE_EXTENDED.get(code) or _SQLITE_PRIMARY.get(code & 0xFF, UNAVAILABLE)


# SQLSTATE codes and classes (PostgreSQL's errcodes appendix).
_SQLSTATE = {
    "23505": DUPLICATE,     # unique_violation
    "23503": REFERENCED,    # foreign_key_violation
    "23502": REJECTED,      # not_null_violation
    "23514": REJECTED,      # check_violation
    "23P01": DUPLICATE,     # exclusion_violation
    "42P01": SCHEMA,        # undefined_table
    "42703": SCHEMA,        # undefined_column
    "42883": SCHEMA,        # undefined_function
    "55P03": RETRY,         # lock_not_available
    "42501": FORBIDDEN,     # insufficient_privilege (row-level security, guard_player_update)
}
_SQLSTATE_CLASS = {
    "22": REJECTED,         # data exception (a value out of range, bad JSON)
    "40": RETRY,            # transaction rollback: serialization failure, deadlock
}


def classify_postgres(error):
    """The kind of a psycopg error (UNAVAILABLE when it carries no SQLSTATE,
    as when the connection is lost)."""
    state = getattr(error, "sqlstate", None) or ""
    return _SQLSTATE.get(state) or _SQLSTATE_CLASS.get(state[:2], UNAVAILABLE)


def driver_error(error, driver_exceptions):
    """The driver's exception behind ``error``, or ``error`` itself.

    peewee re-raises a DB-API error as one of its own classes while handling
    it, so the original is the wrapper's ``__context__`` (some paths also keep
    it as ``args[0]``)."""
    seen = error
    for _ in range(4):  # wrapper, driver error; a short chain is all there is
        if isinstance(seen, driver_exceptions):
            return seen
        if seen.args and isinstance(seen.args[0], driver_exceptions):
            return seen.args[0]
        seen = seen.__cause__ or seen.__context__
        if seen is None:
            break
    return error


SQLITE_ERRORS = (sqlite3.Error,)
