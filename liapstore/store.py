"""Store: the one storage interface, documented here and nowhere else.

Every public method is implemented once, in this class, on top of a handful of
table primitives (``_insert``, ``_select``, ``_update``, ``_delete``, ...)
that each backend provides, as ``liapstore/backend.py`` (the backend contract)
describes. Input is checked here, before any I/O, so every backend rejects the
same calls with the same ``InvalidInput``; uniqueness and references are
checked by the backend (by the database for SQL, in Python for memory) and
surface as ``Conflict`` / ``NotFound`` on all of them.

The game-recording half of the interface (``start_game``, ``record_action``,
recovery, replay) lives in ``liapstore/games.py``, a mixin of this class.
"""
import functools
import hashlib
import hmac
import secrets
import threading
import uuid
from abc import abstractmethod
from contextlib import contextmanager
from datetime import datetime, timedelta
from . import metrics, paging, textsearch, validate as v
from .backend import Backend
from .keys import Keyring
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .achievements import Achievements
from .emails import Emails
from .friends import Friends
from .games import GameRecording, StateCache
from .progress import Progress
from .security import Security
from .playerdata import PlayerData
from .archive import Archive
from .records import AnalyticsEvent, AuditEntry, Connection, Player, Room, Session, from_row
from .schema.constraints import ROOM_STATUSES
from .urls import redact

_UNSET = object()

TABLES = ("players", "rooms", "games", "game_players", "rounds", "turns", "player_actions",
          "active_connections", "player_sessions", "analytics_events", "audit_log",
          "friendships", "player_achievements", "seasons", "player_stats", "leaderboard_values",
          "leaderboard_buckets", "player_keys", "erased_players", "archived_games",
          "archived_events")


class Store(Security, PlayerData, Archive, Progress, GameRecording, Friends, Achievements, Emails,
            Backend):
    """A liapstore database. Open one with ``liapstore.connect(url)``.

    A Store is safe to share between threads. Close it with ``close()`` or use
    it as a context manager.
    """

    #: Whether the leaderboard is a stored copy that ``refresh_leaderboard``
    #: recomputes (PostgreSQL's materialized view) rather than computed when read.
    materialized_leaderboard = False

    #: Objects told about committed writes they keep copies of (a cache's
    #: leaderboards: ``liapstore/cache/leaderboards.py``); see ``_notify``.
    _observers = ()

    def __init__(self, url):
        self.url = url
        self._state_cache = StateCache()
        # Per thread: the callbacks waiting for the outermost commit (None
        # outside a transaction). See transaction() and _after_commit().
        self._tx = threading.local()
        # The e-mail keys, from the URL's key-file options or the environment
        # (liapstore/keys.py); never from the schema or the code.
        self._keyring = Keyring.from_config(url)
        self._init_security()
        metrics.opened(self)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Every public method of every backend is an operation that reports
        # its latency and outcome (liapstore/metrics.py).
        metrics.instrument(cls)

    # -- life cycle ----------------------------------------------------------

    def close(self):
        """Release connections and files. The store cannot be used afterwards."""

    def __enter__(self):
        return self

    def _pool_usage(self):
        """``{"in_use": n, "idle": n}`` of the store's connection pool, or
        None when it has none (read by liapstore.metrics when scraped)."""
        return None

    def _health_checks(self):
        """``{name: check}``: what ``liapstore.metrics.health`` calls, each
        check a round trip that raises when its part is down. A store with
        a cache adds ``"cache"``."""
        return {"database": self.schema_version}

    def _connection_limit(self):
        """How many operations can hold a connection at once (a pool's size),
        or None when nothing bounds them. AsyncStore sizes its workers by it."""
        return None

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<{type(self).__name__} {redact(self.url)}>"

    @abstractmethod
    def migrate(self):
        """Bring the schema up to date; return the names of the steps applied.

        Idempotent: on an up-to-date database it does nothing and returns [].
        ``connect()`` runs it, so callers rarely need to.
        """
        raise NotImplementedError

    @abstractmethod
    def schema_version(self):
        """``(applied, latest)``: migration steps applied here, and known to this liapstore."""
        raise NotImplementedError

    def status(self):
        """A dict for operators: backend, URL (password hidden), schema version, row counts."""
        applied, latest = self.schema_version()
        # A database never migrated has no tables to count.
        rows = {t: self._count(t) for t in TABLES} if applied else {}
        return {"backend": self.backend, "url": redact(self.url), "schema_version": applied,
                "latest_schema_version": latest, "durable": self.durable, "rows": rows}

    def maintain(self, *, retain_months=None):
        """Periodic upkeep: create analytics partitions ahead, refresh the
        view, drop expired sessions and, with ``retain_months=N``, analytics events
        older than the current month and the N before it (whole monthly partitions on
        PostgreSQL). Returns a dict of what it did: ``partitions_created`` (0 where
        there are no partitions), ``expired_sessions_deleted``,
        ``analytics_retention`` (with ``retain_months``: the cutoff,
        ``partitions_dropped`` and ``events_deleted``) and ``leaderboard_refreshed``,
        true only where the reporting view is materialized and was refreshed."""
        done = {"partitions_created": self._ensure_partitions(),
                "expired_sessions_deleted": self.delete_expired_sessions()}
        if retain_months is not None:
            done["analytics_retention"] = self._retain_events(retain_months)
        if self.materialized_leaderboard:
            self.refresh_leaderboard()
        return {**done, "leaderboard_refreshed": self.materialized_leaderboard}

    # -- players -------------------------------------------------------------

    def create_player(self, username, display_name=None, *, email=None, settings=None):
        """Create a player and return it.

        ``username`` must match ``^[a-zA-Z0-9_-]{3,50}$`` (InvalidInput);
        ``display_name`` defaults to the username. A username or e-mail already
        in use raises Conflict (addresses differing only in case are the
        same). The address is stored encrypted: giving one needs the keys
        (KeyUnavailable otherwise; see ``liapstore/emails.py``).
        """
        now = v.now()
        self._check_new_player()
        address = v.email(email)
        row = {"id": _new_id(), "username": v.username(username),
               "display_name": v.text(display_name if display_name is not None else username,
                                      "display_name"),
               "email": None, "created_at": now, "last_seen": now, "is_active": True,
               "games_played": 0, "games_won": 0, "total_score": 0, "highest_score": 0,
               "settings": v.json_object(settings if settings is not None else {}, "settings"),
               "email_encrypted": None}
        if address is None:
            return self._player(self._insert("players", row))
        changes, key_row = self._address_changes(row["id"], address, new_player=True)
        # The key row references the player: the player first, in one transaction.
        with self.transaction():
            stored = self._insert("players", {**row, **changes})
            self._insert("player_keys", key_row)
        return from_row(Player, {**stored, "email": address})

    def get_or_create_player(self, username, display_name=None):
        """The player with this username, created (as ``create_player`` would)
        if there is none yet. Safe when several processes race to create it."""
        try:
            return self.get_player_by_username(username)
        except NotFound:
            try:
                return self.create_player(username, display_name)
            except Conflict:  # Another process created it first.
                return self.get_player_by_username(username)

    def get_player(self, player_id):
        """The player with this id, or NotFound; ``email`` is the decrypted address."""
        return self._player(self._get("players", "id", v.uuid_(player_id, "player_id")))

    def get_player_by_username(self, username):
        """The player with this username (case-sensitive), or NotFound."""
        return self._player(self._get("players", "username", v.text(username, "username")))

    def update_player(self, player_id, *, display_name=_UNSET, email=_UNSET, is_active=_UNSET,
                      settings=_UNSET, last_seen=_UNSET):
        """Change the given fields of a player; return the updated player.

        Pass ``email=None`` to remove the address. Changing the address
        revokes all the player's sessions. Statistics are not updatable here:
        they follow from recorded games.
        """
        checks = {"display_name": lambda x: v.text(x, "display_name"), "email": v.email,
                  "is_active": lambda x: v.boolean(x, "is_active"),
                  "settings": lambda x: v.json_object(x, "settings"),
                  "last_seen": lambda x: v.moment(x, "last_seen")}
        changes = _changes(checks, display_name=display_name, email=email, is_active=is_active,
                           settings=settings, last_seen=last_seen)
        player_id = v.uuid_(player_id, "player_id")
        self._check_player_update(player_id, changes)
        with self.transaction():
            if "email" in changes:
                old = self._get("players", "id", player_id)
                address_changes, key_row = self._address_changes(player_id, changes.pop("email"))
                if key_row:
                    self._insert("player_keys", key_row)
                changes.update(address_changes)
                if changes["email_blind_index"] != old["email_blind_index"] or old["email"]:
                    self.revoke_sessions(player_id)
            row = self._update_one("players", "id", player_id, changes)
            if "display_name" in changes:
                self._notify("player_renamed", row["id"], row["username"], row["display_name"])
        return self._player(row)

    def list_players(self, *, active=None, viewer=None, limit=50, after=None):
        """Players ordered by username, one page at a time (``Page``).

        ``viewer``: the player the list is for; players who blocked them are
        left out (see ``block``).
        """
        where = [] if active is None else [("is_active", "=", v.boolean(active, "active"))]
        if viewer is not None:
            where.append(("id", "not in", list(self._blockers_of(v.uuid_(viewer, "viewer")))))
        return self._page("players", where, ("username",), limit, after, Player,
                          select=lambda *a, **k: self._decrypt_rows(self._select(*a, **k)))

    # -- rooms ---------------------------------------------------------------

    def create_room(self, room_code, name, *, created_by=None, is_public=True, max_players=4,
                    game_settings=None):
        """Create a room in status 'waiting'. A used ``room_code`` raises Conflict;
        an unknown ``created_by`` raises NotFound."""
        row = {"id": _new_id(), "room_code": v.text(room_code, "room_code"),
               "name": v.text(name, "room_name"),
               "created_by": v.uuid_(created_by, "created_by", optional=True),
               "created_at": v.now(), "is_public": v.boolean(is_public, "is_public"),
               "max_players": v.integer(max_players, "max_players", 1, 4),
               "game_settings": v.json_object(game_settings if game_settings is not None else {},
                                              "game_settings"),
               "status": "waiting", "current_game_id": None}
        return from_row(Room, self._insert("rooms", row))

    def get_room(self, room_id):
        """The room with this id, or NotFound."""
        return from_row(Room, self._get("rooms", "id", v.uuid_(room_id, "room_id")))

    def get_room_by_code(self, room_code):
        """The room with this code, or NotFound."""
        return from_row(Room, self._get("rooms", "room_code", v.text(room_code, "room_code")))

    def update_room(self, room_id, *, name=_UNSET, is_public=_UNSET, max_players=_UNSET,
                    game_settings=_UNSET, status=_UNSET):
        """Change the given fields of a room; return the updated room.

        ``status`` is one of waiting, playing, finished, abandoned.
        """
        checks = {"name": lambda x: v.text(x, "room_name"),
                  "is_public": lambda x: v.boolean(x, "is_public"),
                  "max_players": lambda x: v.integer(x, "max_players", 1, 4),
                  "game_settings": lambda x: v.json_object(x, "game_settings"),
                  "status": lambda x: v.one_of(x, "status", ROOM_STATUSES)}
        changes = _changes(checks, name=name, is_public=is_public, max_players=max_players,
                           game_settings=game_settings, status=status)
        return from_row(Room, self._update_one("rooms", "id", v.uuid_(room_id, "room_id"), changes))

    def list_rooms(self, *, status=None, is_public=None, created_by=None, limit=50, after=None):
        """Rooms, oldest first, filtered by any of the given fields (``Page``)."""
        where = []
        if status is not None:
            where.append(("status", "=", v.one_of(status, "status", ROOM_STATUSES)))
        if is_public is not None:
            where.append(("is_public", "=", v.boolean(is_public, "is_public")))
        if created_by is not None:
            where.append(("created_by", "=", v.uuid_(created_by, "created_by")))
        return self._page("rooms", where, ("created_at", "id"), limit, after, Room)

    def search_rooms(self, query, *, limit=20):
        """Rooms whose name holds every word of ``query``, oldest first.

        Whole words, case-insensitive, in any order; no stemming, no stop
        words, diacritics count (the rule of ``liapstore/textsearch.py``, the
        same on every backend)."""
        words = textsearch.split(v.text(query, "query", max_length=200))
        if not words:
            raise InvalidInput("query must contain at least one letter or digit")
        return [from_row(Room, r) for r in self._search_rooms(words, v.limit(limit))]

    # -- sessions ------------------------------------------------------------

    #: The longest a session lives, however often it is used, unless
    #: ``create_session(max_age=...)`` says otherwise.
    session_max_age = timedelta(days=90)

    def create_session(self, player_id, *, ttl=timedelta(days=30), max_age=None, ip_address=None,
                       user_agent=None):
        """Open a login session; return ``(session, token)``.

        The session expires ``ttl`` after its last use (``get_session``
        slides it), and ``max_age`` after its creation at the latest (default
        ``Store.session_max_age``, or ``ttl`` if that is longer).
        The token (256 random bits) is returned once and never stored: the
        database keeps only its SHA-256, so a leaked database does not leak
        live sessions.
        """
        token = secrets.token_urlsafe(32)
        now = v.now()
        ttl = v.duration(ttl, "ttl")
        max_age = (max(ttl, self.session_max_age) if max_age is None
                   else v.duration(max_age, "max_age"))
        if max_age < ttl:
            raise InvalidInput("max_age must not be shorter than ttl")
        player_id = v.uuid_(player_id, "player_id")
        self._check_self(player_id, "open a session")
        row = {"id": _new_id(), "player_id": player_id,
               "token_hash": _token_hash(token), "created_at": now,
               "expires_at": v.shifted(now, ttl, "ttl"),
               "ip_address": v.ip_address(ip_address),
               "user_agent": v.text(user_agent, "user_agent", optional=True),
               "idle_seconds": ttl.total_seconds(),
               "absolute_expires_at": v.shifted(now, max_age, "max_age")}
        return from_row(Session, self._insert("player_sessions", row)), token

    def get_session(self, token):
        """The live session for ``token``, its expiry moved to ``ttl`` from
        now (never past its absolute limit).

        An expired, revoked, unknown, forged or malformed token (of any type)
        raises the same NotFound with the same message, after the same work:
        the caller, and whoever sent the token, cannot tell which it was.
        """
        digest, now = _token_hash(token), v.now()
        # The expiry is part of the lookup: an expired session, like an
        # unknown token, returns no row, so the two cost the same.
        rows = self._select("player_sessions", self._owned("player_sessions", [
            ("token_hash", "=", digest), ("expires_at", ">", now)]), (), limit=1)
        # compare_digest: a found row is compared in constant time as well.
        if not rows or not hmac.compare_digest(rows[0]["token_hash"], digest):
            raise NotFound(_REFUSED)
        row = rows[0]
        if row["idle_seconds"] is not None:
            # Written only when the expiry moves by 1% of the window or more,
            # so a busy session costs a write now and then, not on every use.
            slid = min(now + timedelta(seconds=row["idle_seconds"]), row["absolute_expires_at"])
            if slid - row["expires_at"] >= timedelta(seconds=row["idle_seconds"] / 100):
                self._update("player_sessions", [("id", "=", row["id"])], {"expires_at": slid})
                row["expires_at"] = slid
        return from_row(Session, row)

    def delete_session(self, session_id):
        """End (revoke) one session, as logging out does. NotFound if it does not exist."""
        self._delete_one("player_sessions", "id", v.uuid_(session_id, "session_id"))

    def revoke_sessions(self, player_id, *, keep=None):
        """End every session of a player (all but ``keep``, a session id, if
        given); return how many. Changing a player's address does this.
        Acting as another player: Forbidden."""
        player_id = v.uuid_(player_id, "player_id")
        self._check_self(player_id, "revoke the sessions")
        where = [("player_id", "=", player_id)]
        if keep is not None:
            where.append(("id", "!=", v.uuid_(keep, "keep")))
        return self._delete("player_sessions", where)

    def list_sessions(self, player_id):
        """A player's sessions, live and expired, oldest first."""
        player_id = v.uuid_(player_id, "player_id")
        self._check_self(player_id, "list the sessions")
        rows = self._select("player_sessions", [("player_id", "=", player_id)],
                            ("created_at", "id"))
        return [from_row(Session, r) for r in rows]

    def delete_expired_sessions(self, now=None):
        """Delete sessions past their expiry; return how many."""
        return self._delete("player_sessions", self._owned(
            "player_sessions", [("expires_at", "<=", v.moment(now, "now", True) or v.now())]))

    # -- active connections ----------------------------------------------------

    def open_connection(self, player_id=None, *, room_id=None, connection_id=None,
                        ip_address=None, user_agent=None):
        """Register a WebSocket connection (for reconnection); return it."""
        now = v.now()
        player_id = v.uuid_(player_id, "player_id", optional=True)
        self._check_self(player_id, "open a connection")
        # Only None means "make one up": any other value, even "" or 0, is checked.
        row = {"connection_id": v.uuid_(_new_id() if connection_id is None else connection_id,
                                        "connection_id"),
               "player_id": player_id,
               "room_id": v.uuid_(room_id, "room_id", optional=True),
               "connected_at": now, "last_heartbeat": now, "ip_address": v.ip_address(ip_address),
               "user_agent": v.text(user_agent, "user_agent", optional=True)}
        return from_row(Connection, self._insert("active_connections", row))

    def heartbeat(self, connection_id, *, room_id=_UNSET):
        """Mark a connection alive now (and optionally move it to a room)."""
        changes = {"last_heartbeat": v.now()}
        if room_id is not _UNSET:
            changes["room_id"] = v.uuid_(room_id, "room_id", optional=True)
        return from_row(Connection, self._update_one(
            "active_connections", "connection_id", v.uuid_(connection_id, "connection_id"), changes))

    def get_connection(self, connection_id):
        """The connection with this id, or NotFound."""
        return from_row(Connection, self._get("active_connections", "connection_id",
                                              v.uuid_(connection_id, "connection_id")))

    def close_connection(self, connection_id):
        """Forget a connection. NotFound if it does not exist."""
        self._delete_one("active_connections", "connection_id",
                         v.uuid_(connection_id, "connection_id"))

    def list_connections(self, *, player_id=None, room_id=None):
        """Open connections, oldest first, optionally of one player or room."""
        where = []
        if player_id is not None:
            where.append(("player_id", "=", v.uuid_(player_id, "player_id")))
            self._check_self(where[-1][2], "list the connections")
        if room_id is not None:
            where.append(("room_id", "=", v.uuid_(room_id, "room_id")))
        rows = self._select("active_connections", self._owned("active_connections", where),
                            ("connected_at", "connection_id"))
        return [from_row(Connection, r) for r in rows]

    def sweep_stale_connections(self, older_than=timedelta(seconds=60), *, now=None):
        """Delete connections with no heartbeat for ``older_than``; return how many."""
        cutoff = v.shifted(v.moment(now, "now", True) or v.now(),
                           v.duration(older_than, "older_than"), "older_than", earlier=True)
        return self._delete("active_connections",
                            self._owned("active_connections", [("last_heartbeat", "<", cutoff)]))

    # -- analytics and audit -----------------------------------------------------

    def record_event(self, event_type, data=None, *, player_id=None, game_id=None, room_id=None,
                     timestamp=None):
        """Append an analytics event; return it (with its id)."""
        row = {"event_type": v.text(event_type, "event_type"),
               "player_id": v.uuid_(player_id, "player_id", optional=True),
               "game_id": v.uuid_(game_id, "game_id", optional=True),
               "room_id": v.uuid_(room_id, "room_id", optional=True),
               "event_data": v.json_object(data if data is not None else {}, "data"),
               "timestamp": v.moment(timestamp, "timestamp", True) or v.now()}
        return from_row(AnalyticsEvent, self._insert("analytics_events", row))

    def list_events(self, *, event_type=None, player_id=None, game_id=None, since=None,
                    until=None, limit=100, after=None):
        """Analytics events in time order, filtered; ``since`` inclusive,
        ``until`` exclusive (``Page``)."""
        where = []
        for column, value in (("event_type", event_type), ("player_id", player_id),
                              ("game_id", game_id)):
            if value is not None:
                where.append((column, "=", v.text(value, column) if column == "event_type"
                              else v.uuid_(value, column)))
        if since is not None:
            where.append(("timestamp", ">=", v.moment(since, "since")))
        if until is not None:
            where.append(("timestamp", "<", v.moment(until, "until")))
        return self._page("analytics_events", where, ("timestamp", "id"), limit, after,
                          AnalyticsEvent)

    def list_audit_log(self, *, table_name=None, user_id=None, since=None, limit=100, after=None):
        """The audit trail of inserts, updates and deletes on players,
        player_sessions and rooms, oldest first (``Page``), optionally of one
        table, of the changes made acting as one player (``user_id``), from a
        time on (``since``, inclusive). The trail is the server's: Forbidden
        inside ``acting_as``."""
        where = [] if table_name is None else [("table_name", "=", v.text(table_name, "table_name"))]
        if user_id is not None:
            where.append(("user_id", "=", v.uuid_(user_id, "user_id")))
        if since is not None:
            where.append(("timestamp", ">=", v.moment(since, "since")))
        if self.acting_player is not None:
            raise Forbidden("the audit trail is the server's to read, not a player's")
        return self._page("audit_log", where, ("id",), limit, after, AuditEntry)

    # -- leaderboard -----------------------------------------------------------

    def refresh_leaderboard(self):
        """Recompute the ``player_leaderboard`` reporting view (PostgreSQL
        refreshes its materialized view CONCURRENTLY, so readers are never
        blocked; elsewhere it is live). Ranks (``leaderboard``, ``rank``) never
        depend on it: they are fresh when a game ends (see progress.py)."""

    # -- helpers shared by every backend -------------------------------------------

    @contextmanager
    def transaction(self):
        """Group several writes atomically: all of them happen or none does.

        Transactions nest: an inner block that fails rolls back only its own
        writes (a savepoint), and the caller may catch its error and go on.
        Whatever the store keeps or emits because of a write (the cached game
        state today, cache entries and events as they come) takes effect only
        after the outermost block commits, and is dropped if it rolls back.
        """
        tx = self._tx
        outer = getattr(tx, "after_commit", None) is None
        if outer:
            tx.after_commit = []
        mark = len(tx.after_commit)
        try:
            with self._transaction():
                yield
        except BaseException:
            # The block's writes are gone, so is what they would have published.
            del tx.after_commit[mark:]
            if outer:
                tx.after_commit = None
            raise
        if outer:
            callbacks, tx.after_commit = tx.after_commit, None
            for callback in callbacks:
                callback()

    def _after_commit(self, callback):
        """Run ``callback`` once the outermost transaction commits (now, if
        none is open); never if it rolls back.

        peewee has commit callbacks of its own, but they outlive a rolled-back
        savepoint and the memory backend has none; this one works the same on
        every backend.
        """
        pending = getattr(self._tx, "after_commit", None)
        if pending is None:
            callback()
        else:
            pending.append(callback)

    def _notify(self, event, *args):
        """Call ``observer.<event>(*args)`` on each attached observer once the
        outermost transaction commits (never if it rolls back). Observers keep
        copies of stored data (a cache) and must not raise."""
        for observer in self._observers:
            self._after_commit(functools.partial(getattr(observer, event), *args))

    def _get(self, table, column, value):
        rows = self._select(table, self._owned(table, [(column, "=", value)]), (), limit=1)
        if not rows:
            raise NotFound(f"no {table[:-1].replace('_', ' ')} with {column} {value}")
        return rows[0]

    def _update_one(self, table, column, value, changes):
        with self.transaction():
            if changes:
                self._update(table, self._owned(table, [(column, "=", value)]), changes)
            return self._get(table, column, value)

    def _delete_one(self, table, column, value):
        if not self._delete(table, self._owned(table, [(column, "=", value)])):
            raise NotFound(f"no {table[:-1].replace('_', ' ')} with {column} {value}")

    def _page(self, table, where, order_by, limit, after, record, select=None):
        limit = v.limit(limit)
        listing = f"{table}:{','.join(order_by)}"
        key = paging.decode(after, listing, tuple(_key_type(table, c) for c in order_by))
        rows = (select or self._select)(table, where, order_by, after=key, limit=limit + 1)
        return paging.page(rows, listing, order_by, limit, lambda r: from_row(record, r))


metrics.instrument(Store)


def _key_type(table, column):
    """The Python type of a sort column of a listing, to check cursors against."""
    if column == "id":
        return int if table in ("analytics_events", "audit_log") else uuid.UUID
    return str if column == "username" else datetime


def _new_id():
    return uuid.uuid4()


def _token_hash(token):
    # Anything but text hashes as the empty string, which is no token's hash:
    # a malformed token is looked up and refused like a forged one.
    data = token.encode("utf-8", "surrogatepass") if isinstance(token, str) else b""
    return hashlib.sha256(data).hexdigest()


#: The one refusal of get_session, whatever was wrong with the token.
_REFUSED = "no live session for this token"


def _changes(checks, **values):
    return {k: checks[k](x) for k, x in values.items() if x is not _UNSET}


__all__ = ["Store"]
