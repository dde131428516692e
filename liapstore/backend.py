"""The backend contract: what a storage backend provides, in one place.

``liapstore.Store`` implements every public method once (validation,
defaults, paging, the game logic) on top of the table primitives below, so a
backend is a subclass of ``Store`` that provides them and nothing more::

    class MyStore(liapstore.Store):
        backend = "mystore"        # short name shown by status() and the CLI
        durable = True             # do acknowledged writes survive the process?

        def __init__(self, url, **options): ...   # InvalidInput for unknown options
        # ... and every abstract method of Backend below.

Register it under a URL scheme (``liapstore.register_backend("mystore",
"mypackage.store:MyStore")`` or the ``liapstore.backends`` entry point), then
hold it to the conformance suite, ``liapstore.testing``, which is the
executable form of this contract. ``liapstore/backends/memory.py`` is the
shortest complete backend to read; a subclass of it is a backend too.

Values
------
Rows are dicts from column name to Python value: ``uuid.UUID`` for ids,
timezone-aware ``datetime`` (UTC) for times, ``dict``/``list`` for JSON
columns, ``None`` for NULL. The tables and their columns are those of
``liapstore.schema.models`` (``MODELS``), which also say which keys are
unique and which columns reference which table, with their ON DELETE rule.

Conditions and order
--------------------
``where`` is a list of ``(column, op, value)``, all of which must hold; op is
one of ``= != < <= > >= in``, ``not in`` (both take a collection; ``not
in`` with an empty one holds for every row). ``(column, "=",
None)`` means IS NULL and ``(column, "!=", None)`` IS NOT NULL; any other
comparison with a NULL column is false, as in SQL. ``order_by`` is a tuple of
columns, ascending; ``after`` a tuple of the ``order_by`` values of the last
row already seen (keyset paging: only rows strictly after it).

Errors
------
A primitive raises only liapstore's errors, whatever its storage raises:
``Conflict`` for a duplicate unique key or a row still referenced,
``NotFound`` for a reference to a missing row, ``InvalidInput`` for a value
the schema's CHECKs or NOT NULLs reject, ``StorageUnavailable`` when the
storage cannot be reached or used. A failed write changes nothing.

Audit and identity
------------------
Every insert, update and delete of a row of ``players``, ``player_sessions``
and ``rooms`` (``liapstore.security.AUDITED``), including those of
``_write_step`` and cascades, adds an ``audit_log`` row in the same
transaction: table, operation, ``user_id`` = ``self.acting_player``,
``ip_address`` = ``self._client_ip()``, the time, and the row (the old one
for a delete) without the columns ``security.secret_column`` names, in the
JSON form of ``memory.py``'s ``_jsonable``. Who may do what is checked by
``Store`` before it calls a primitive; a backend whose database can hold the
rules too says so with ``database_enforces_security`` (PostgreSQL) and may
tell its database of identity changes by overriding ``_actor_changed``.

Transactions
------------
``_transaction()`` groups writes: all happen or none does. Nested blocks act
like savepoints: a failed inner block undoes only its own writes, and the
caller may catch its error and carry on. Every primitive that writes runs
atomically on its own when no transaction is open. Store's public
``transaction()`` is built on it; a backend does not override that one.
"""
from abc import ABC, abstractmethod


class Backend(ABC):
    """The abstract primitives every Store backend implements (see the module docstring)."""

    #: Short backend name shown by ``status()`` and the CLI.
    backend = "abstract"
    #: Whether acknowledged writes survive a crash of the process (and so
    #: whether opening the same URL again finds the data).
    durable = False
    #: Tables of this backend's schema that hold no data (bookkeeping a
    #: backend keeps for itself): not in schema.models, not copied.
    scratch_tables = ()

    # -- schema and life cycle ------------------------------------------------------

    @abstractmethod
    def migrate(self):
        """Bring the schema up to date; return the names of the steps applied
        (``[]`` when up to date). Safe when several processes run it at once."""

    @abstractmethod
    def schema_version(self):
        """``(applied, latest)``: the number of migration steps applied to this
        storage, and the number this liapstore knows
        (``len(liapstore.schema.migrations.names())``)."""

    def close(self):
        """Release connections and files; the store is not used afterwards.
        Default: nothing to release."""

    @abstractmethod
    def _transaction(self):
        """A context manager: one transaction, or a savepoint inside an open
        one; the writes inside it all happen or none does (see the module
        docstring). Store's public ``transaction()`` wraps it, adding what
        must wait for the outermost commit (the cached game states)."""

    # -- table primitives -------------------------------------------------------------

    @abstractmethod
    def _insert(self, table, row):
        """Insert ``row`` into ``table``; return it as stored, with a generated
        id where the table has an auto-increment key and ``row`` lacks it.
        Columns missing from ``row`` take the model's default. Duplicate
        unique key: Conflict. Missing referenced row: NotFound."""

    @abstractmethod
    def _select(self, table, where, order_by, after=None, limit=None):
        """The rows of ``table`` matching ``where``, in ``order_by`` order
        (any order when it is empty), after ``after``, at most ``limit``.
        Returned rows are the caller's to keep: changing one changes nothing stored."""

    @abstractmethod
    def _update(self, table, where, changes):
        """Set ``changes`` on the rows matching ``where``; return how many.
        A value may be ``updates.Add(n)`` (column + n) or ``updates.AtLeast(n)``
        (the larger of column and n), computed by the storage in the same write."""

    @abstractmethod
    def _delete(self, table, where):
        """Delete the rows matching ``where``, applying each reference's ON
        DELETE rule (CASCADE, SET NULL, or Conflict while referenced); return
        how many rows of ``table`` were deleted."""

    @abstractmethod
    def _count(self, table):
        """The number of rows in ``table``."""

    # -- queries the primitives cannot express -----------------------------------------

    @abstractmethod
    def _search_rooms(self, words, limit):
        """Rows of ``rooms`` whose name holds every one of ``words`` (the query
        split by ``liapstore.textsearch.split``, case kept: the backend folds
        case as it does for the names it indexed), oldest first (created_at,
        id), at most ``limit``."""

    # -- optional: upkeep and speed ------------------------------------------------------

    def refresh_leaderboard(self):
        """Recompute a stored leaderboard, if the backend keeps one (PostgreSQL's
        materialized view). Default: the leaderboard is computed when read."""

    def _ensure_partitions(self):
        """Create storage ahead of time where the backend partitions tables;
        return how many partitions were created. Default: 0 (none)."""
        return 0

    # -- optional: moving whole tables (liapstore/ops: copy, backup, restore) -----------

    def _load_rows(self, table, rows):
        """Insert ``rows`` (dicts holding every column) into ``table`` exactly
        as given, in one transaction (a savepoint inside an open one): ids,
        times and JSON kept, auto-increment counters moved past the ids
        loaded, and nothing else written: no audit rows, no values changed
        by triggers (the source's audit rows are loaded as rows of their
        own). Derived data a backend keeps for itself (a search index) is
        kept up to date. Default: ``_insert`` each row, which is right for a
        backend whose ``_insert`` keeps given ids and writes no audit rows."""
        with self._transaction():
            for row in rows:
                self._insert(table, row)

    def _scan(self, table, after, limit):
        """The next ``limit`` rows of ``table`` in the order of its key
        (``schema.models.key_columns``), after the key values ``after``
        (a tuple; None: from the first row). Default: ``_select``."""
        from .schema.models import BY_TABLE, key_columns  # peewee: not at import time
        return self._select(table, [], key_columns(BY_TABLE[table]), after=after, limit=limit)

    def _snapshot(self):
        """A context manager inside which every read (``_select``, ``_count``)
        sees one consistent moment of the whole store while other
        connections keep writing. Default: a ``_transaction()``, which is
        right where transactions isolate their reads (and may make writers
        wait)."""
        return self._transaction()

    # Leaderboards, match history and analytics reports (liapstore/progress.py,
    # liapstore/analytics.py) run on the primitives above by default. A backend
    # may override, for speed, ``_upsert``, ``_board_row``, ``_board_slice``,
    # ``_board_better``, ``_history``, ``_select_seated``, ``_game_results``,
    # ``_event_counts``, ``_games_per_day``, ``_player_events``,
    # ``_drop_events_before`` and ``_lock_seasons`` (each documented where its
    # default is); SqlStore does (liapstore/backends/sql_progress.py).
    #
    # A backend may also override ``_write_step(step)`` (liapstore/games.py),
    # which writes one recorded action inside the caller's transaction; the
    # default does it with the primitives above, then calls
    # ``_after_step_rows(step)`` (what the action sets off, such as the
    # achievements at a game's end), with which an override must end too.
    # SqlStore overrides it, because it is the hot path of recording: cached
    # SQL on SQLite, one statement per action on PostgreSQL.
    #
    # A player's erasure (liapstore/playerdata.py) uses two more optional ones:
    # ``_audit_rows_about(player_id)`` (default: scans the players' audit rows)
    # and ``_lock_player(player_id)`` (default: nothing, for backends whose
    # writers are serialised; PostgreSQL takes the row FOR UPDATE).


__all__ = ["Backend"]
