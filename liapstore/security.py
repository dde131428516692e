"""Acting on behalf of a player, and what each identity may do: a mixin of Store.

``store.acting_as(player_id, ip_address)`` names the player (and their client's
address) on whose behalf the calls inside the block run; outside any such
block the store acts as the server itself. The rules, the same on every
backend:

- **The server** (no identity) records games and writes every seated
  player's statistics, manages sessions and connections (purges, sweeps) and
  creates players, but never changes a player's *profile* (display name,
  e-mail, settings: every column that is neither a statistic nor
  bookkeeping) on anyone's behalf.
- **A player** (inside ``acting_as``) reads every public profile, changes
  only their own profile and bookkeeping (``last_seen``, ``is_active``), never
  statistics, and sees and writes only their own sessions, connections and
  friendships. Game recording inside ``acting_as`` runs as the server: the
  game's end updates every seated player's statistics.

The store checks these rules itself, before any I/O, on every backend, and
raises ``Forbidden``, so one program behaves the same everywhere and even when
it connects as a role the database does not restrict (a superuser, the
tables' owner). PostgreSQL holds them a second time when the application
connects as a role that does not own the tables (``liapstore migrate
--grant-to ROLE``): row-level security on the identity the store sets with
each transaction (``app.user_id``, ``app.client_ip``) and a trigger that
keeps profiles and statistics apart (schema/sql/postgres/0007_security.sql).

Why the store always checks rather than leaving it to PostgreSQL: RLS cannot
apply to a superuser or the owner, and it answers a forbidden UPDATE with
"0 rows" rather than an error; the store's check gives one typed error on
every backend and every role, and the database's is the guard against a
store bug or raw SQL.
"""
import contextvars
from contextlib import contextmanager

from . import validate as v
from .errors import Forbidden, InvalidInput

#: Columns of ``players`` only the server writes (from recorded games).
STATISTICS = ("games_played", "games_won", "total_score", "highest_score")
#: Columns of ``players`` the server and the player themself may both write.
BOOKKEEPING = ("last_seen", "is_active")
#: Tables whose rows belong to one player, and the column that names them.
OWNED = {"player_sessions": "player_id", "active_connections": "player_id"}
#: Tables whose every insert, update and delete is audited.
AUDITED = ("players", "player_sessions", "rooms")


def secret_column(name):
    """Whether a column is kept out of audit payloads: any column whose name
    holds ``email``, ``token`` or ``key`` (addresses, token hashes, keys and
    their blind indexes)."""
    return any(word in name for word in ("email", "token", "key"))


class Security:
    """``acting_as`` and the checks behind it (see the module docstring)."""

    #: Whether the database holds the rules a second time for an application
    #: role that does not own the tables (PostgreSQL: RLS and triggers, set
    #: up by ``grant_to``). The store checks them everywhere regardless.
    database_enforces_security = False

    def grant_to(self, role):
        """Grant an existing database role what the application needs and
        nothing more (run by the tables' owner). Only where the database has
        roles (``database_enforces_security``); elsewhere InvalidInput."""
        raise InvalidInput(f"{self.backend} has no database roles: grant_to applies to PostgreSQL")

    def _init_security(self):
        # The stack of (player id, client IP) the current thread acts for. A
        # ContextVar rather than a threading.local: per thread (a new thread
        # starts with no identity) and per asyncio task, and carried into
        # asyncio.to_thread calls, which copy the caller's context.
        self._actors = contextvars.ContextVar(f"liapstore_actor_{id(self)}", default=())

    @contextmanager
    def acting_as(self, player_id, ip_address=None):
        """Run the calls inside the block on behalf of ``player_id``, from
        ``ip_address`` (both recorded in the audit trail).

        Blocks nest (the innermost names the actor) and belong to the thread
        (or asyncio task) that opened them; outside every block the store acts
        as the server. Inside, the player may change only their own profile
        and see and write only their own sessions, connections and
        friendships; anything else raises ``Forbidden`` (or ``NotFound`` for a
        session or connection that is someone else's, as if it did not exist).
        """
        actor = (v.uuid_(player_id, "player_id"), v.ip_address(ip_address))
        with self._pushed_actor(actor):
            yield

    @property
    def acting_player(self):
        """The id of the player the current thread acts for, or None (the server)."""
        stack = self._actors.get()
        return stack[-1][0] if stack else None

    def _client_ip(self):
        stack = self._actors.get()
        return stack[-1][1] if stack else None

    def _identity(self):
        """``(player id, client IP)`` of the current thread, None where unset:
        what a SQL backend hands its database (pgpool, the SQLite functions)."""
        stack = self._actors.get()
        return stack[-1] if stack else (None, None)

    @contextmanager
    def _as_server(self):
        """The server's own work (recording games, rebuilding statistics),
        even inside ``acting_as``; the client's address stays on record."""
        if self.acting_player is None:
            yield
            return
        with self._pushed_actor((None, self._client_ip())):
            yield

    @contextmanager
    def _pushed_actor(self, actor):
        token = self._actors.set(self._actors.get() + (actor,))
        self._actor_changed()
        try:
            yield
        finally:
            self._actors.reset(token)
            self._actor_changed()

    def _actor_changed(self):
        """Called when the current thread's identity changes, so a backend
        can tell its database (PostgreSQL does, inside an open transaction)."""

    # -- the checks ----------------------------------------------------------------

    def _check_player_update(self, player_id, changes):
        """Forbidden unless the current identity may make ``changes`` to the player."""
        me = self.acting_player
        if me is None:
            profile = sorted(set(changes) - set(BOOKKEEPING) - set(STATISTICS))
            if profile:
                raise Forbidden(f"the server cannot change a player's profile ({', '.join(profile)}); "
                                "make the change inside store.acting_as(player_id)")
        elif me != player_id:
            raise Forbidden(f"player {me} cannot change player {player_id}")
        elif set(changes) & set(STATISTICS):
            raise Forbidden("a player cannot change their own statistics")

    def _check_self(self, player_id, what):
        """Forbidden when acting as a player other than ``player_id``."""
        me = self.acting_player
        if me is not None and me != player_id:
            raise Forbidden(f"player {me} cannot {what} of player {player_id}")

    def _check_new_player(self):
        if self.acting_player is not None:
            raise Forbidden("only the server creates players (outside store.acting_as)")

    def _owned(self, table, where):
        """``where`` narrowed to the acting player's own rows of an owned table."""
        me, column = self.acting_player, OWNED.get(table)
        if me is None or column is None:
            return where
        return [*where, (column, "=", me)]
