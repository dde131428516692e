"""The PostgreSQL connection pool liapstore runs on: peewee's, minus the
round trips that carry no work.

peewee's pool pings every connection it hands out (SELECT 1) and sends
BEGIN, SAVEPOINT and RELEASE SAVEPOINT as statements of their own, each a
round trip to the server. Here the ping happens only when the idle
connection's socket shows the server said something (shutdown, or the
connection died), and the transaction and savepoint statements wait for the
next real statement and travel with it in psycopg's pipeline mode.

The acting player's identity (``Store.acting_as``) travels the same way: a
``set_config(..., true)`` that lasts for the transaction goes with its BEGIN,
and a statement run outside any transaction is pipelined after one, which
PostgreSQL runs as a single implicit transaction. Either way no round trip
is added, and no setting outlives its transaction, so a pooled connection
never carries one player's identity into someone else's work.
"""
import select

import peewee
from playhouse.pool import PooledPostgresqlDatabase


class PipeliningDatabase(PooledPostgresqlDatabase):
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

    #: A callable returning the current thread's ``(player id, client IP)``
    #: (None where unset), or None when the store sets no identity. The store
    #: installs it (PostgresStore._open).
    identity = None

    _SET_IDENTITY = ("SELECT set_config('app.user_id', %s, true), "
                     "set_config('app.client_ip', %s, true)")

    def _identity_statement(self, always=False):
        """The statement that names the current identity in the transaction,
        or None when there is none to name (and ``always`` is false)."""
        user_id, ip = self.identity() if self.identity else (None, None)
        if user_id is None and ip is None and not always:
            return None
        return (self._SET_IDENTITY, ("" if user_id is None else str(user_id),
                                     "" if ip is None else str(ip)))

    def identity_changed(self):
        """The thread's identity changed: inside a transaction, name the new
        one (or none) from the next statement on."""
        if self.in_transaction():
            self._owe(self._identity_statement(always=True))

    def _is_closed(self, conn):
        # The pool checks each connection it hands out, with a SELECT 1 when
        # the connection is idle: a round trip on every operation. An idle
        # connection's socket has nothing to read unless the server spoke
        # (the notice of its shutdown, or end of file when it died), so the
        # SELECT 1 runs only then.
        adapter = self._adapter
        if (not conn.closed and adapter.txn_status(conn) == adapter.txn_idle
                and not _readable(conn)):
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
        """Send ``sql`` (text, or a (text, parameters) pair) with the next
        statement; at once if the driver cannot pipeline."""
        if hasattr(self.connection(), "pipeline"):
            self._owed().append(sql)
        elif isinstance(sql, tuple):  # psycopg2
            self.execute_sql(*sql)
        else:
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
        # Outside a transaction, an identity goes in the same pipeline as the
        # statement: both run in one implicit transaction, which ends with it.
        # (psycopg 3's pipeline; psycopg2 has none, and there only the store's checks apply.)
        once = (None if owed or self.in_transaction()
                or not hasattr(self._state.conn, "pipeline") else self._identity_statement())
        if not (owed or once) or ((cursor_options or self.query_hooks) and not once):
            return super()._execute_cursor(sql, params, **cursor_options)
        owed_now, owed[:] = (list(owed) or [once]), []
        self._log_query(sql, params)
        conn = self._state.conn
        with peewee.__exception_wrapper__:
            with conn.pipeline():
                _send(conn, owed_now)
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
                    _send(conn, owed_now)
        return super().cursor(named_cursor)

    # -- transactions and savepoints ------------------------------------------------

    def begin(self, isolation_level=None):
        if isolation_level is not None or self._isolation_level:
            super().begin(isolation_level)
        else:
            self._owe("BEGIN")
        named = self._identity_statement()
        if named:
            self._owe(named)

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


def _send(conn, statements):
    """Queue owed statements (text or (text, parameters)) in the open pipeline.
    Never prepared: nothing to gain, and preparing a statement outside a
    pipeline costs a round trip."""
    for statement in statements:
        sql, params = statement if isinstance(statement, tuple) else (statement, None)
        conn.cursor().execute(sql, params, prepare=False)


def _readable(conn):
    """Whether the connection's socket has something to read, without waiting.
    When in doubt, yes (the caller then checks the connection the slow way)."""
    try:
        fd = conn.fileno()
        if hasattr(select, "poll"):  # select() fails on descriptors past 1023
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([fd], [], [], 0)[0])
    except Exception:  # noqa: BLE001 - a broken connection's fileno() raises the driver's error
        return True
