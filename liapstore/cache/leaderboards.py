"""Leaderboards served from Redis sorted sets, agreeing exactly with the database.

One board per (period, board): a sorted set whose members are usernames and
whose scores are the *negated* values (``-wins``, ``-highest_score``,
``-win_rate``). Redis orders a sorted set by score, then by member bytes, so
``ZRANGE`` lists it best value first and, within a tie, by username in
code-point order (UTF-8 byte order is code-point order): exactly the order
of ``ranking.order_key``. A rank is ``1 + ZCOUNT(-inf, (score)`` (the players
strictly better), which is SQL ``RANK()``; ranks of a page or window follow
from its first entry by ``ranking.assign_ranks``, as on the database path.
Values are exact: wins and scores are integers and a win rate is the same
IEEE double the database holds, written with ``repr`` (shortest round trip).

Keys (``P`` is the deployment's prefix, ``p`` a period such as ``all`` or
``week:2026-W48``)::

    P lb:p:state     "ready" | "building:<token>"  (absent: no board, use the DB)
    P lb:p:rows      hash username -> [player_id, played, won, total, best, win_rate]
    P lb:p:ids       hash player_id -> username
    P lb:p:z:<board> sorted set username -> -value (ranked players only)
    P lb:p:build     build lock (SET NX EX)
    P lb:names       hash username -> display_name (filled by builds, reads, renames)
    P lb:names:renamed:<u>  set for a while after a rename, so a build does not undo it
    P lb:periods     set of the periods that have (had) a board

Kept in step: the store tells this object, after each commit, the new
per-period statistics of a game's players (``stats_written``), seasons
created and statistics rebuilt (``stats_rewritten``) and renames
(``player_renamed``). A game's update is one script call that rides in the
same round trip as the cache's invalidation of the game (``Link.defer``), and
applies a player's row only if it counts more games than the one in Redis:
``games_played`` of a (period, player) grows by exactly one per game, so
updates arriving out of order from several processes, and a build's snapshot
racing them, all converge on the newest row.

Built from the database (``build``; ``cache warm``, or the first read that
finds no board, in a background thread): the state becomes ``building``
*before* the database is read (page by page, in board order), so a game
committed after a page was read finds the building board and updates it. Reads answer from Redis only when the
state is ``ready``; otherwise, and whenever Redis fails, they answer from the
database, as they do inside a caller's open transaction. The state expires
with the leaderboard lifetime (15 minutes by default, set at build time, not
extended by updates), so a board is rebuilt from the database at least that
often, which bounds the effect of an update lost to a crash between a commit
and its cache write. A process whose update failed (Redis down, paused, a
dropped connection: the update may be lost while Redis keeps the board)
answers from the database until it has dropped every board's state.

The boards do not follow the cache's generation (``link.py``): every process
bumps it when it starts, and rebuilding a million-player board each time
would be costly; they have their own states and the rules above instead.
"""
import json
import logging
import threading
import time
import uuid

from .. import paging, ranking, validate as v

log = logging.getLogger("liapstore.cache")

_BOARDS = tuple(ranking.BOARDS)
_KEYS_PER_PERIOD = 6  # state, rows, ids and the three boards
_RENAME_GUARD = 900   # seconds a rename is protected from a slower build
_CHUNK = 500          # rows per script call while building (a few ms of Redis each)
_BUILD_TIMEOUT = 10   # seconds a build's own Redis calls may take
_PAGE = 20_000       # rows read from the database at a time while building
_BUILD_LEASE = 60     # seconds a build's lock and state live unless it writes on

# KEYS: names, then per period: state, rows, ids, z:wins, z:score, z:winrate.
# ARGV: min games, ttl, then per row 10 values: period index (1-based),
# username, player id, row JSON, games played, the three negated values,
# display name ('' for none), build token ('' for an update).
_WRITE = """
local min, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local i = 3
while i <= #ARGV do
  local base = 1 + (tonumber(ARGV[i]) - 1) * 6
  local uname, played, token = ARGV[i + 1], tonumber(ARGV[i + 4]), ARGV[i + 9]
  local state = redis.call('GET', KEYS[base + 1])
  if state and (token == '' or state == 'building:' .. token) then
    local old = redis.call('HGET', KEYS[base + 2], uname)
    if (not old) or cjson.decode(old)[2] < played then
      redis.call('HSET', KEYS[base + 2], uname, ARGV[i + 3])
      redis.call('HSET', KEYS[base + 3], ARGV[i + 2], uname)
      for b = 0, 2 do
        if played >= min then redis.call('ZADD', KEYS[base + 4 + b], ARGV[i + 5 + b], uname)
        else redis.call('ZREM', KEYS[base + 4 + b], uname) end
      end
    end
    local name = ARGV[i + 8]
    if name ~= '' then
      if redis.call('EXISTS', KEYS[1] .. ':renamed:' .. uname) == 1 then
        redis.call('HSETNX', KEYS[1], uname, name)
      else
        redis.call('HSET', KEYS[1], uname, name)
      end
    end
  end
  i = i + 10
end
-- A key this script created has no lifetime yet: the board's, not forever.
for k = 2, #KEYS do
  if redis.call('TTL', KEYS[k]) == -1 then redis.call('EXPIRE', KEYS[k], ttl) end
end
return 1
"""

# KEYS: state, board, rows, names. ARGV: mode ('top', 'after', 'around'),
# then for 'top': count; 'after': username, its negated value, count;
# 'around': player id key (ids), player id, radius.
# Returns false (no ready board), {'moved'} (the cursor's player moved, or
# the player is not ranked), or {members, rows, names, better, equal}.
_READ = """
if redis.call('GET', KEYS[1]) ~= 'ready' then return false end
local mode, first, last = ARGV[1], 0, 0
if mode == 'top' then
  last = tonumber(ARGV[2]) - 1
elseif mode == 'after' then
  local s = redis.call('ZSCORE', KEYS[2], ARGV[2])
  if (not s) or tonumber(s) ~= tonumber(ARGV[3]) then return {'moved'} end
  first = redis.call('ZRANK', KEYS[2], ARGV[2]) + 1
  last = first + tonumber(ARGV[4]) - 1
else
  local uname = redis.call('HGET', ARGV[2], ARGV[3])
  if not uname then return {'moved'} end
  local pos = redis.call('ZRANK', KEYS[2], uname)
  if not pos then return {'moved'} end
  first = math.max(0, pos - tonumber(ARGV[4]))
  last = pos + tonumber(ARGV[4])
end
local members = redis.call('ZRANGE', KEYS[2], first, last)
if #members == 0 then return {members, {}, {}, 0, 0} end
local s = redis.call('ZSCORE', KEYS[2], members[1])
local better = redis.call('ZCOUNT', KEYS[2], '-inf', '(' .. s)
local equal = redis.call('ZCOUNT', KEYS[2], s, s)
return {members, redis.call('HMGET', KEYS[3], unpack(members)),
        redis.call('HMGET', KEYS[4], unpack(members)), better, equal}
"""

# KEYS: state, build lock, rows, ids, 3 boards, names, periods. ARGV: token, ttl, period.
_FINISH = """
if redis.call('GET', KEYS[1]) ~= 'building:' .. ARGV[1] then return 0 end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], 'ready', 'EX', ttl)
for k = 3, 8 do redis.call('EXPIRE', KEYS[k], ttl + 60) end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('SADD', KEYS[9], ARGV[3])
return 1
"""

# Delete each KEYS[i] that still holds ARGV[i] (a build's own state and lock).
_RELEASE = """
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i] then redis.call('DEL', key) end
end
return 1
"""


class Leaderboards:
    """The leaderboards of one store in one Redis, under ``prefix``.

    ``client``: a redis-py client (its timeouts bound every call); ``guard``:
    an object whose ``call(family, fn)`` runs ``fn()`` and returns its result,
    or returns ``guard.FAILED`` when Redis fails or is avoided (the cache's
    circuit breaker), counting hits, misses and errors per key family.
    ``build``: what a read that finds no board does besides answering from
    the database: ``"background"`` (build it in a thread), ``"inline"``
    (build it first, then answer from Redis) or ``None`` (nothing).
    """

    family = "leaderboards"

    def __init__(self, store, client, prefix, guard, *, ttl=900, build="background", defer=None):
        self.store, self.client, self.prefix, self.guard = store, client, prefix, guard
        self.ttl, self.build_mode = int(ttl), build
        # Where a game's update goes: ``defer(script, keys, args, on_fail)``
        # sends it with the invalidation that follows the game's end, in the
        # same round trip (the Link's); sent on its own when None.
        self.defer = defer
        self._write = client.register_script(_WRITE)
        self._read = client.register_script(_READ)
        self._finish = client.register_script(_FINISH)
        self._release = client.register_script(_RELEASE)
        self._seasons = {}          # season argument -> period key (seasons never change)
        self._building = set()      # periods this process is building in a thread
        self._lock = threading.Lock()
        # Set when a write to Redis failed: this process then answers from
        # the database until it has dropped every board (see _clean).
        self._dirty = False

    @classmethod
    def for_cached_store(cls, cached, **options):
        """The leaderboards of a CachedStore: its wrapped store, its Redis
        connection, breaker and counters, its prefix and leaderboard lifetime."""
        link = cached._cache_link
        return cls(cached._inner, link._redis, cached._cache_config.prefix,
                   LinkGuard(link, cached._cache_tally),
                   ttl=cached._cache_config.key_ttl("leaderboards"), defer=link.defer,
                   **options).attach()

    def attach(self):
        """Start receiving the store's committed writes."""
        self.store._observers = (*self.store._observers, self)
        return self

    # -- keys ------------------------------------------------------------------------

    def _key(self, period, part):
        return f"{self.prefix}lb:{period}:{part}"

    def _period_keys(self, period):
        return [self._key(period, p) for p in ("state", "rows", "ids")] + \
               [self._key(period, f"z:{b}") for b in _BOARDS]

    @property
    def _names(self):
        return f"{self.prefix}lb:names"

    @property
    def _periods(self):
        return f"{self.prefix}lb:periods"

    # -- reads ---------------------------------------------------------------------------

    def leaderboard(self, *, by="wins", limit=100, after=None, friends_of=None, season=None):
        """``Store.leaderboard``, from Redis when the board is ready there."""
        if friends_of is not None:   # a few rows ranked among themselves: the DB's job
            return self.store.leaderboard(by=by, limit=limit, after=after, friends_of=friends_of,
                                          season=season)
        by, limit, period = v.one_of(by, "by", _BOARDS), v.limit(limit), self._period(season)
        listing = f"leaderboard:{by}:{period}"
        start = self.store._board_cursor(by, paging.decode(after, listing))
        if start is None:
            args = ["top", limit + 1]
        else:
            args = ["after", start[1], repr(-float(start[0])), limit + 1]
        got = self._answer(period, by, args)
        if got is None:
            return self.store.leaderboard(by=by, limit=limit, after=after, season=period)
        rows, ranks = got
        if start is None:
            ranks = ranking.assign_ranks(by, rows, 0, None)
        return self.store._board_page(rows, ranks, by, period, limit, listing)

    def rank(self, player_id, *, by="wins", season=None):
        """``Store.rank``, from Redis when the board is ready there."""
        window = self._around(player_id, by, 0, season)
        if window is None:
            return self.store.rank(player_id, by=by, season=self._period(season))
        return window[0] if window else None

    def leaderboard_around(self, player_id, *, by="wins", radius=5, season=None):
        """``Store.leaderboard_around``, from Redis when the board is ready there."""
        radius = v.integer(radius, "radius", 0, 100)
        window = self._around(player_id, by, radius, season)
        if window is None:
            return self.store.leaderboard_around(player_id, by=by, radius=radius,
                                                 season=self._period(season))
        return window

    def _around(self, player_id, by, radius, season):
        by, period = v.one_of(by, "by", _BOARDS), self._period(season)
        player_id = v.uuid_(player_id, "player_id")
        got = self._answer(period, by, ["around", self._key(period, "ids"), str(player_id), radius])
        if got is None:
            return None
        rows, ranks = got
        return [self.store._entry(r, n, by, period) for r, n in zip(rows, ranks)]

    def _answer(self, period, by, args):
        """(rows, ranks) from Redis, [] / [] for a player not ranked there, or
        None when the database must answer."""
        if getattr(self.store._tx, "after_commit", None) is not None:
            # Inside the caller's transaction the database may hold a game
            # ended in it and not committed yet: only it has the right ranks.
            self.guard.tally(self.family, "bypassed")
            return None
        if self._dirty and not self._clean():
            return None
        keys = [self._key(period, "state"), self._key(period, f"z:{by}"), self._key(period, "rows"),
                self._names]
        got = self.guard.call(self.family, lambda: self._read(keys=keys, args=args))
        if got is self.guard.FAILED:
            return None
        if got is None:
            self.guard.miss(self.family)
            self._on_missing(period)
            return None
        if got == [b"moved"]:
            if args[0] == "after":
                return None      # the cursor's player moved since: keyset paging in the DB
            return [], []        # the player has no ranked row in this period
        members, raw_rows, names, better, equal = got
        rows = [self._row(m.decode(), r, period) for m, r in zip(members, raw_rows)]
        missing = [r["username"] for r, n in zip(rows, names) if n is None]
        if missing:
            names = self._fill_names(missing, rows, names)
        for r, n in zip(rows, names):
            r["display_name"] = n.decode() if isinstance(n, bytes) else n
        self.guard.hit(self.family)
        return rows, ranking.assign_ranks(by, rows, better, equal)

    @staticmethod
    def _row(username, raw, period):
        pid, played, won, total, best, rate = json.loads(raw)
        return {"period": period, "player_id": uuid.UUID(pid), "username": username,
                "games_played": played, "games_won": won, "total_score": total,
                "highest_score": best, "win_rate": rate}

    def _fill_names(self, missing, rows, names):
        """Display names the names hash lacks (expired, or a player newly
        ranked by a game), from the database; HSETNX, so a rename written
        meanwhile is not overwritten by what was read before it."""
        found = {p["username"]: p["display_name"] for p in self.store._select(
            "players", [("username", "in", missing)], ())}
        self.guard.call(self.family, lambda: self._hsetnx_names(found))
        return [n if n is not None else found[r["username"]] for r, n in zip(rows, names)]

    def _hsetnx_names(self, found):
        with self.client.pipeline(transaction=False) as pipe:
            for name, display in found.items():
                pipe.hsetnx(self._names, name, display)
            pipe.expire(self._names, self.ttl + 60, nx=True)
            pipe.execute()

    def _period(self, season):
        """The period key, as the store resolves it; named seasons (which
        never change once created) are looked up in the database once."""
        if isinstance(season, str) and season in self._seasons:
            return self._seasons[season]
        period = self.store._period(season)
        if period.startswith("season:"):
            self._seasons[season] = period
        return period

    # -- building from the database --------------------------------------------------------

    def _on_missing(self, period):
        if self.build_mode == "inline":
            self.build(period)
        elif self.build_mode == "background":
            with self._lock:
                if period in self._building:
                    return
                self._building.add(period)
            threading.Thread(target=self._build_in_background, args=(period,), daemon=True,
                             name=f"liapstore-board-{period}").start()

    def _build_in_background(self, period):
        try:
            self.build(period)
        except Exception:  # a thread has no caller to tell; the reads use the DB
            log.exception("building the %s leaderboards in Redis failed", period)
        finally:
            with self._lock:
                self._building.discard(period)

    def build(self, period):
        """Load a period's boards from the database into Redis; return the
        number of ranked players written, or None if another process is
        building them or Redis failed (reads keep using the database)."""
        token = uuid.uuid4().hex
        keys = self._period_keys(period)

        def begin():
            if not self.client.set(self._key(period, "build"), token, nx=True, ex=_BUILD_LEASE):
                return False
            with self.client.pipeline(transaction=True) as pipe:
                pipe.sadd(self._periods, period)
                pipe.unlink(*keys[1:])
                pipe.set(keys[0], f"building:{token}", ex=_BUILD_LEASE)
                pipe.execute()
            return True

        if self.guard.call(self.family, begin) is not True:
            return None
        try:
            return self._load(period, token, keys)
        finally:
            # Whatever happened, the lock is ours to release (a finished
            # build released it already; a failed one leaves no board).
            self.guard.call(self.family, lambda: self._abandon(period, token))

    def _abandon(self, period, token):
        self._release(keys=[self._key(period, "state"), self._key(period, "build")],
                      args=[f"building:{token}", token])

    def _load(self, period, token, keys):
        t0 = time.perf_counter()
        import redis
        # A build is a batch job, not a request: its chunks may wait longer
        # than a request's timeout, on a connection of their own.
        client = redis.Redis(connection_pool=redis.ConnectionPool(**{
            **self.client.connection_pool.connection_kwargs,
            "socket_timeout": _BUILD_TIMEOUT, "socket_connect_timeout": _BUILD_TIMEOUT}))
        written, start = 0, None
        try:
            # Page by page in board order (memory stays bounded). A game
            # ending meanwhile cannot make a row go missing or stale: it
            # commits after the state became "building", so its own update
            # brings its players' new rows, and an older row read after it
            # loses to it (fewer games played).
            while True:
                rows = self.store._board_slice(period, "wins", start, False, _PAGE)
                for first in range(0, len(rows), _CHUNK):
                    args = self._write_args([(1, r) for r in rows[first:first + _CHUNK]], token,
                                            names=True)
                    self._write_chunk(client, period, keys, args)
                written += len(rows)
                if len(rows) < _PAGE:
                    break
                start = (rows[-1]["games_won"], rows[-1]["username"])
        except (redis.RedisError, OSError) as e:
            log.warning("building the %s leaderboards in Redis failed (%s); reads use the "
                        "database", period, type(e).__name__)
            return None
        finally:
            client.close()
        finish_keys = [keys[0], self._key(period, "build")] + keys[1:] + [self._names, self._periods]
        ok = self.guard.call(self.family, lambda: self._finish(
            keys=finish_keys, args=[token, self.ttl, period]))
        if ok != 1:
            return None
        log.info("leaderboards of %s built in Redis: %d ranked players in %.2f s", period,
                 written, time.perf_counter() - t0)
        return written

    def _write_chunk(self, client, period, keys, args):
        """One chunk of a build, extending the build's lease (a builder that
        dies leaves its lock and state for at most _BUILD_LEASE seconds)."""
        with client.pipeline(transaction=False) as pipe:
            self._write(keys=[self._names] + keys, args=args, client=pipe)
            pipe.expire(keys[0], _BUILD_LEASE)
            pipe.expire(self._key(period, "build"), _BUILD_LEASE)
            return pipe.execute()[0]

    def _write_args(self, indexed_rows, token, names=False):
        args = [ranking.MIN_GAMES, self.ttl + 60]
        for index, r in indexed_rows:
            rate = float(r["win_rate"])
            args += [index, r["username"], str(r["player_id"]),
                     json.dumps([str(r["player_id"]), r["games_played"], r["games_won"],
                                 r["total_score"], r["highest_score"], rate]),
                     r["games_played"], -int(r["games_won"]), -int(r["highest_score"]),
                     repr(-rate), r["display_name"] if names else "", token]
        return args

    # -- the store's committed writes (observer methods: never raise) ------------------------

    def stats_written(self, rows):
        """A game ended: apply its players' new per-period statistics."""
        periods = sorted({r["period"] for r in rows})
        keys = [self._names]
        for period in periods:
            keys += self._period_keys(period)
        index = {p: i + 1 for i, p in enumerate(periods)}
        args = self._write_args([(index[r["period"]], r) for r in rows], "")
        if self.defer is not None and not (self._dirty and not self._clean()):
            self.defer(self._write, keys, args, self._lost)
        else:
            self._safe_write(lambda: self._write(keys=keys, args=args))

    def _lost(self):
        self._dirty = True

    def stats_rewritten(self, periods):
        """Statistics were rewritten wholesale (``periods``, or all when None):
        drop those boards; the next read rebuilds them."""
        def drop():
            names = periods if periods is not None else [
                p.decode() for p in self.client.smembers(self._periods)]
            if names:
                self.client.delete(*[self._key(p, "state") for p in names])
        self._safe_write(drop)

    def player_renamed(self, player_id, username, display_name):
        """A player's display name changed."""
        def rename():
            with self.client.pipeline(transaction=True) as pipe:
                pipe.set(f"{self._names}:renamed:{username}", 1, ex=_RENAME_GUARD)
                pipe.hset(self._names, username, display_name)
                pipe.expire(self._names, self.ttl + 60, nx=True)
                pipe.execute()
        self._safe_write(rename)

    def _safe_write(self, fn):
        if self._dirty and not self._clean():
            return
        if self.guard.call(self.family, fn) is self.guard.FAILED:
            # The write may be lost: Redis may now hold an older row. Until
            # every board is dropped, this process trusts none of them.
            self._dirty = True
            self._clean()

    def _clean(self):
        """Drop every board (their states) after a lost write; True once done.
        Meanwhile this process answers from the database."""
        def drop_all():
            periods = self.client.smembers(self._periods)
            with self.client.pipeline(transaction=False) as pipe:
                for p in periods:
                    pipe.delete(self._key(p.decode(), "state"))
                pipe.delete(self._names)
                pipe.execute()
            return True
        if self.guard.call(self.family, drop_all) is True:
            self._dirty = False
        return not self._dirty


class LinkGuard:
    """Runs the leaderboards' Redis calls through the cache's Link: its
    timeouts and circuit breaker (one per process, shared with every other
    cached read), and counts them in the store's per-family counters."""

    FAILED = object()

    def __init__(self, link, tally):
        from .link import Unavailable
        self.link, self.tally, self._unavailable = link, tally, Unavailable

    def call(self, family, fn):
        """``fn()``'s result, or FAILED when Redis failed or is avoided.

        Unlike the near cache, a board is read from Redis itself, where every
        update lands, so it needs no invalidation lease: only the breaker."""
        try:
            return self.link._call(lambda keys, args: fn(), None, None)
        except self._unavailable:
            self.tally(family, "errors")
            return self.FAILED

    def hit(self, family):
        self.tally(family, "redis_hits")

    def miss(self, family):
        self.tally(family, "misses")
