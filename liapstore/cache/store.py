"""CachedStore: any Store, with its hot reads cached (see the package docstring).

A proxy in the manner of dogpile.cache's ``ProxyBackend``: every attribute of
``Store`` is delegated to the wrapped store, and only two kinds of methods
are overridden here: the cached reads, and the writes that change what they
return, which invalidate the keys they change after the outermost commit.
A public method of ``Store`` that is neither classified below nor overridden
(one added later, or a third-party backend's own) invalidates *everything*
after it commits: an unknown write may cost the cache its entries, never
make it serve a stale one. ``tests/cache`` checks every method is classified.
"""
import functools
import inspect
import threading
import time

from .. import validate as v
from ..errors import NotFound
from ..store import Store
from ..urls import redact
from . import stats
from .config import FAMILIES
from .leaderboards import Leaderboards
from .link import Link, Unavailable
from .near import NearCache, copier, decode, encode

#: Public methods that change nothing the cache holds (reads, and writes of
#: tables it does not cache): delegated as they are.
NO_EFFECT = frozenset("""
    status schema_version close migrate maintain refresh_leaderboard transaction
    get_or_create_player create_player list_players search_rooms
    create_session get_session delete_session list_sessions delete_expired_sessions
    open_connection heartbeat get_connection close_connection list_connections
    sweep_stale_connections record_event list_events list_audit_log
    list_games list_rounds list_turns list_actions unfinished_games replay verify_game
    list_seasons verify_stats
    event_counts games_per_day player_events
    request_friend accept_friend decline_friend cancel_friend_request remove_friend block
    unblock list_friends list_friend_requests list_blocked
    list_achievements achievement_progress achievement_holders backfill_achievements
    acting_as grant_to get_player_by_email revoke_sessions key_versions rewrap_player_keys
    count_pending_emails encrypt_pending_emails
    export_player erased_at archive archived_game restore_archived
""".split())
#: Writes whose effect on cached data is too wide to name key by key (an
#: erasure renames the player, who appears in others' match histories).
FLUSH_ALL = frozenset({"rebuild_stats", "create_season", "erase_player"})


def cache_key(family, ident=""):
    """The key of ``family``'s entry for ``ident`` (after the prefix and generation)."""
    return FAMILIES[family][0].format(id=ident)


class CachedStore(Store):
    """A Store whose hot reads come from a near cache kept coherent through Redis."""

    def __init__(self, inner, config):
        # Store.__init__ is not run: the wrapped store holds all state
        # (transactions, the game-state hint); __getattr__ reaches it.
        self._inner = inner
        self._cache_config = config
        self._cache_near = NearCache(config.near_size)
        self._cache_link = Link(config, self._cache_near)
        self._cache_counters = stats.Counters(config.ttl)
        self._cache_link.counters = self._cache_counters
        self._cache_flights = {}
        self._cache_batches = {}
        self._cache_flights_lock = threading.Lock()
        self._cache_boards = Leaderboards.for_cached_store(self)

    def __getattr__(self, name):
        # Only for names Store does not define (instance attributes such as
        # url, a third-party backend's extras); see _delegate below.
        if name.startswith("__") or name == "_inner":
            raise AttributeError(name)
        value = getattr(self._inner, name)
        if callable(value) and not name.startswith("_"):
            return _flushing(self, value)
        return value

    @property
    def wrapped(self):
        """The store this cache wraps."""
        return self._inner

    def __repr__(self):
        return f"<CachedStore {self._inner!r} cache={redact(self._cache_config.redis_url)}>"

    # -- the cache's own API ----------------------------------------------------------

    def cache_stats(self, *, everywhere=False):
        """Counters of the cache, per key family: ``near_hits`` (served from
        the process), ``redis_hits``, ``misses`` (read from the database and
        stored), ``errors`` (Redis failed or held an undecodable entry; read
        from the database), ``bypassed`` (read from the database because the
        cache was not serving: Redis down, lease lapsed, or inside a
        transaction), ``hits`` (near + Redis) and ``hit_ratio`` (hits over all
        reads, None before the first). This store's own counts, or with
        ``everywhere=True`` the sum over every process using this Redis and
        prefix, as last sent (about once a second; StorageUnavailable if
        Redis cannot be read)."""
        if not everywhere:
            return self._cache_counters.local()
        return stats.from_hash(self._cache_link.shared_counts(), self._cache_config.ttl)

    def cache_status(self):
        """Whether the cache is serving now, its URL (password hidden), prefix,
        generation, breaker state and near-cache size."""
        return self._cache_link.status()

    def cache_clear(self):
        """Drop every cached entry, in Redis and in every process's near cache
        (a new generation). Returns when no process can serve an old entry."""
        self._cache_link.bump()

    def close(self):
        """Stop the cache's listener, close its connections, then the store's."""
        try:
            self._cache_link.close()
        finally:
            self._inner.close()

    # -- cached reads ---------------------------------------------------------------------

    def get_game(self, game_id):
        return self._cache_by_id("game_state", "game", self._inner.get_game, "game_id", game_id)

    def load_game(self, game_id):
        return self._cache_by_id("game_state", "saved", self._inner.load_game, "game_id",
                                 game_id)

    def get_seats(self, game_id):
        game_id = v.uuid_(game_id, "game_id")
        return list(self._cache_read("game_players", game_id, "",
                                     lambda: tuple(self._inner.get_seats(game_id))))

    def get_room(self, room_id):
        return self._cache_by_id("room_info", "", self._inner.get_room, "room_id", room_id)

    def get_room_by_code(self, room_code):
        code = v.text(room_code, "room_code")
        return self._cache_pointer("room_info", "room:code:", self.get_room, "room_code", code,
                                   self._inner.get_room_by_code)

    def list_rooms(self, *, status=None, is_public=None, created_by=None, limit=50, after=None):
        def read():
            return self._inner.list_rooms(status=status, is_public=is_public,
                                          created_by=created_by, limit=limit, after=after)
        if is_public is not True or created_by is not None:
            return read()
        return self._cache_read("room_list", "", repr((status, limit, after)), read)

    def get_player(self, player_id):
        return self._cache_by_id("player_stats", "", self._inner.get_player, "player_id",
                                 player_id)

    def get_player_by_username(self, username):
        name = v.text(username, "username")
        return self._cache_pointer("player_stats", "player:name:", self.get_player, "username",
                                   name, self._inner.get_player_by_username)

    def match_history(self, *, player_id=None, room_id=None, limit=20, after=None):
        def read():
            return self._inner.match_history(player_id=player_id, room_id=room_id, limit=limit,
                                             after=after)
        if player_id is None or room_id is not None:
            return read()
        player_id = v.uuid_(player_id, "player_id")
        return self._cache_read("player_games", player_id, repr((limit, after)), read)

    def leaderboard(self, **options):
        return self._cache_boards.leaderboard(**options)

    def rank(self, player_id, **options):
        return self._cache_boards.rank(player_id, **options)

    def leaderboard_around(self, player_id, **options):
        return self._cache_boards.leaderboard_around(player_id, **options)

    # -- writes that invalidate -------------------------------------------------------------

    def update_player(self, player_id, **changes):
        player = self._inner.update_player(player_id, **changes)
        if "display_name" in changes:
            # Display names appear in other players' match histories.
            self._inner._after_commit(self._cache_link.bump)
        else:
            self._cache_invalidate(cache_key("player_stats", player.id))
        return player

    def create_room(self, room_code, name, **options):
        room = self._inner.create_room(room_code, name, **options)
        self._cache_invalidate(cache_key("room_list"))
        return room

    def update_room(self, room_id, **changes):
        room = self._inner.update_room(room_id, **changes)
        self._cache_invalidate(cache_key("room_info", room.id), cache_key("room_list"))
        return room

    def start_game(self, room_id, players, **options):
        game = self._inner.start_game(room_id, players, **options)
        self._cache_game_changed(game, self._inner.get_seats(game.id), ended=False)
        return game

    def import_game(self, room_id, players, state, **options):
        game = self._inner.import_game(room_id, players, state, **options)
        self._cache_game_changed(game, self._inner.get_seats(game.id),
                                 ended=game.ended_at is not None)
        return game

    def record_action(self, game_id, sequence_number, action):
        game = self._inner.record_action(game_id, sequence_number, action)
        if game.ended_at is None:
            self._cache_invalidate(cache_key("game_state", game.id),
                                   cache_key("game_players", game.id))
        else:
            self._cache_game_changed(game, self._inner.get_seats(game.id), ended=True)
        return game

    def abandon_game(self, game_id):
        game = self._inner.get_game(game_id)
        seats = self._inner.get_seats(game.id)
        self._inner.abandon_game(game.id)
        self._cache_game_changed(game, seats, ended=False)

    def _cache_game_changed(self, game, seats, *, ended):
        """Invalidate what a game's start, end or abandonment changes."""
        keys = [cache_key("game_state", game.id), cache_key("game_players", game.id),
                cache_key("room_info", game.room_id), cache_key("room_list")]
        for seat in seats:
            keys.append(cache_key("player_games", seat.player_id))
            if ended:
                keys.append(cache_key("player_stats", seat.player_id))
        if ended:
            keys.extend(self._cache_game_end_keys(game, seats))
        self._cache_invalidate(*keys)

    def _cache_game_end_keys(self, game, seats):
        """Further keys a finished game makes stale (the leaderboards' hook)."""
        return []

    # -- the read path ----------------------------------------------------------------------

    def _cache_invalidate(self, *keys):
        keys = list(dict.fromkeys(keys))
        self._inner._after_commit(lambda: self._cache_link.invalidate(keys))

    def _cache_tally(self, family, what):
        self._cache_counters.tally(family, what)

    def _cache_by_id(self, family, variant, load, name, ident):
        """``load(ident)`` through the cache; ``ident`` an id named ``name``."""
        ident = v.uuid_(ident, name)
        return self._cache_read(family, ident, variant, lambda: load(ident))

    def _cache_pointer(self, family, key, get, field, value, load):
        """The record whose ``field`` is ``value`` (a username, a room code),
        through a cached pointer ``key + value -> id`` and ``get(id)``. The
        pointer is never invalidated: those fields never change, and a record
        that no longer matches (or exists) is read again with ``load(value)``."""
        record = None

        def load_id():
            nonlocal record
            record = load(value)
            return record.id
        ident = self._cache_read_key(family, key + value, "", load_id)
        if record is None:
            try:
                record = get(ident)
            except NotFound:
                return load(value)
        return record if getattr(record, field) == value else load(value)

    def _cache_read(self, family, ident, variant, load):
        return self._cache_read_key(family, cache_key(family, ident), variant, load)

    def _cache_read_key(self, family, key, variant, load):
        if getattr(self._inner._tx, "after_commit", None) is not None:
            # Inside a transaction the database may hold this caller's own
            # uncommitted writes, which must be neither cached nor hidden.
            self._cache_tally(family, "bypassed")
            return load()
        if not self._cache_link.usable():
            self._cache_tally(family, "bypassed")
            return self._cache_shared_read((key, variant), load)
        value = self._cache_near.get(key, variant)
        if value is not None:
            self._cache_tally(family, "near_hits")
            return value
        flight = (key, variant)
        with self._cache_flights_lock:
            event = self._cache_flights.get(flight)
            leader = event is None
            if leader:
                event = self._cache_flights[flight] = threading.Event()
        if not leader:
            # Someone in this process is rebuilding it: wait, then take theirs.
            event.wait(self._cache_config.rebuild_wait_ms / 1000)
            value = self._cache_near.get(key, variant)
            if value is not None:
                self._cache_tally(family, "near_hits")
                return value
        try:
            return self._cache_fetch(family, key, variant, load)
        finally:
            if leader:
                with self._cache_flights_lock:
                    del self._cache_flights[flight]
                event.set()

    def _cache_shared_read(self, flight, load):
        """A database read while the cache does not serve, shared by the
        callers asking for the same thing at once: each gets the result of a
        read that began after it asked (so never older than a write
        acknowledged before it asked), and a lapse of the lease under load
        is not one query per caller."""
        with self._cache_flights_lock:
            batch = self._cache_batches.setdefault(flight, _Batch())
            batch.users += 1
        asked = batch.started
        try:
            with batch.lock:
                if batch.done > asked:
                    return batch.value if batch.copy is None else batch.copy()
                batch.started += 1
                seq = batch.started
                value = load()
                batch.value, batch.copy, batch.done = value, copier(value), seq
                return value
        finally:
            with self._cache_flights_lock:
                batch.users -= 1
                if not batch.users:
                    del self._cache_batches[flight]

    def _cache_fetch(self, family, key, variant, load):
        """The leader's read: Redis, else (after waiting for another process
        rebuilding it) the database, then fill Redis and the near cache."""
        token, ttl = self._cache_near.token(), self._cache_config.key_ttl(family)
        try:
            shared, value = self._cache_shared(key, variant)
            if value is None and self._cache_others_rebuild(key, variant, shared):
                shared, value = self._cache_shared(key, variant)
        except Unavailable:
            self._cache_tally(family, "errors")
            return load()
        if value is not None:
            self._cache_tally(family, "redis_hits")
            return self._cache_near.put(key, variant, value, ttl, token)
        self._cache_tally(family, "misses")
        value = load()
        try:
            self._cache_link.fill(key, variant, shared, encode(value), ttl)
        except Unavailable:
            return value
        return self._cache_near.put(key, variant, value, ttl, token)

    def _cache_shared(self, key, variant):
        """``(token, value or None)`` of the Redis entry; Unavailable on failure."""
        shared, blob = self._cache_link.read(key, variant)
        try:
            return shared, None if blob is None else decode(blob)
        except ValueError:
            return shared, None  # not liapstore's: rebuilt and overwritten

    def _cache_others_rebuild(self, key, variant, token):
        """True once another process that claimed the rebuild of this entry has
        filled it (polling Redis, at most rebuild_wait_ms); False at once when
        this one may rebuild it, and when the entry was invalidated meanwhile
        or the wait ran out."""
        wait = self._cache_config.rebuild_wait_ms
        if not wait or self._cache_link.claim(key, variant, token, wait):
            return False
        deadline = time.monotonic() + wait / 1000
        while time.monotonic() < deadline:
            time.sleep(0.002)
            now, blob = self._cache_link.read(key, variant)
            if blob is not None or now != token:
                return blob is not None
        return False


class _Batch:
    """The callers reading one key from the database while the cache does not
    serve (see CachedStore._cache_shared_read)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.users = 0      # callers inside, counted under the store's flights lock
        self.started = 0    # reads begun
        self.done = 0       # the number of the last read finished
        self.value = self.copy = None


def _flushing(store, method):
    """``method`` of the wrapped store, followed by a flush of the whole cache
    after commit: for writes the cache knows nothing about."""
    @functools.wraps(method)
    def call(*args, **kwargs):
        result = method(*args, **kwargs)
        store._inner._after_commit(store._cache_link.bump)
        return result
    return call


def _delegate(name):
    def call(self, *args, **kwargs):
        return getattr(self._inner, name)(*args, **kwargs)
    call.__name__ = name
    call.__doc__ = getattr(Store, name).__doc__
    return call


def _install():
    """Give CachedStore every attribute of Store, delegated to the wrapped store."""
    own = {n for n in vars(CachedStore) if not n.startswith("__")}
    clash = {n for n in own if n.startswith("_") and hasattr(Store, n)} - {"_abc_impl"}
    if clash:  # a private name of ours would hide the wrapped store's
        raise TypeError(f"CachedStore must not define Store's private names {sorted(clash)}")
    for name, value in inspect.getmembers(Store):
        if name.startswith("__") or name in own:
            mine = vars(CachedStore).get(name)
            if callable(value) and callable(mine) and not mine.__doc__:
                mine.__doc__ = value.__doc__  # an override documents what it overrides
            continue
        if not callable(value):
            if name.startswith("_"):
                continue  # e.g. ABCMeta's _abc_impl, which must stay the class's own
            setattr(CachedStore, name, property(lambda self, n=name: getattr(self._inner, n)))
        elif name in FLUSH_ALL or not (name.startswith("_") or name in NO_EFFECT):
            setattr(CachedStore, name, lambda self, *a, _n=name, **k:
                    _flushing(self, getattr(self._inner, _n))(*a, **k))
            getattr(CachedStore, name).__doc__ = value.__doc__
        else:
            setattr(CachedStore, name, _delegate(name))
    CachedStore.__abstractmethods__ = frozenset()


_install()

