"""The optional Redis cache: ``liapstore.connect(url, cache="redis://...")``.

It wraps any Store (memory, SQLite, PostgreSQL, a third party's) in a
``CachedStore``, which is a Store: same methods, same errors. Without it
nothing changes; ``import liapstore`` never imports redis.

Why a near cache
----------------
A Redis GET over loopback (~125 µs) is barely faster than a PostgreSQL
primary-key read (~150-200 µs), so a cache that only asked Redis would save
little. Hot entries are kept decoded in the process (``near.py``), where a hit
is a dict lookup and a poll of one socket, and Redis is what keeps the
processes' near caches coherent, and a shared second level for their misses.

Why not redis-py's client-side caching (RESP3 ``CLIENT TRACKING``)
------------------------------------------------------------------
redis-py 8 offers it (``CacheProxyConnection``), but it needs Redis >= 7.4
(this project's servers are 7.0), and it serves cached replies as long as its
connection is not known to be broken: a Redis frozen by SIGSTOP or CLIENT
PAUSE leaves every process serving what it holds while writers cannot deliver
their invalidations. The design below bounds that window with a lease.

Never stale
-----------
A read never returns a game state, room or player older than the last write
acknowledged to any process sharing the database and the Redis (and prefix):

1. A write goes to the database; after the *outermost* commit
   (``Store._after_commit``; nothing on rollback) the writer drops the keys
   from its own near cache and runs one script that tombstones them in Redis
   and publishes them on ``<prefix>invalidate``, before the write returns.
2. Every process listens on that channel and pings Redis over the same
   connection every ``heartbeat_ms``. Redis answers in order, so a pong proves
   that every invalidation published before its ping was sent has been
   applied. A process serves from its near cache or Redis only while its last
   answered ping was sent less than ``lease_ms`` ago, and it first applies
   whatever invalidations already sit in its socket. The writer follows its
   script with a PING, which Redis reads only after it has written the
   published message to every subscriber's socket (``Link._with_barrier``),
   so once a write has returned, its invalidation is in every listening
   process's socket: two round trips per write (one when no other process
   listens).
3. A writer whose publish fails (Redis down, paused, slow: every call has a
   ``timeout_ms``) returns only ``lease_ms`` after it sent it: by then every
   other process's lease, which cannot have been renewed since Redis stopped
   answering, has run out, so none serves the old value; and it rejoins
   (point 4) once Redis answers. Invalidations are tried even while the
   circuit breaker is open: a skipped one could be missed by a process that
   already hears Redis again.
4. A process that (re)joins the channel (at start, after its connection
   dropped, after a pong came too late, or after one of its writes could
   not be published) bumps the generation ``<prefix>gen``, which is part of
   every Redis key, and flushes its near cache; the ``G`` message flushes every
   other process's. So nothing written while a process was not listening,
   nor an entry a failed writer could not tombstone, is served afterwards.
5. Fills cannot overwrite newer data: a reader that misses notes the near
   cache's invalidation counter and the Redis entry's token before it reads
   the database, and stores what it read only if neither moved (a
   compare-and-set script in Redis).
6. Inside a transaction, reads bypass the cache: the database may hold the
   caller's own uncommitted writes, which must be neither cached nor hidden.

What is left: a process cut off from Redis while the others still reach it
(a one-sided partition) cannot tombstone its writes; the others serve the old
entries until its listener rejoins Redis and bumps the generation, or until
their lifetime ends. Every process writing to the database must use the
cache with the same Redis and prefix; a writer without it is not seen.

When Redis fails
----------------
Every store operation still succeeds from the database. A read that finds
the cache not serving goes straight to the database; a Redis call waits at
most ``timeout_ms`` (default 200 ms; redis-py's own default is 5 s with
retries, both replaced); a write whose invalidation fails returns after at
most about ``lease_ms`` (400 ms) more. After ``breaker_failures`` (3) failures
in a row reads send nothing to Redis for ``breaker_seconds`` (1 s); then the
listener tries to rejoin, and the cache serves again by itself once it has.
Meanwhile the readers of one key share database reads
(``CachedStore._cache_shared_read``), each getting one that began after it
asked. A warning
is logged once per outage (logger ``liapstore.cache``), and once when Redis
answers again.

No stampede
-----------
When a hot key expires, the first caller in the process rebuilds it; the
others wait up to ``rebuild_wait_ms`` for its result. Across processes the
first to miss in Redis claims the rebuild (``SET NX``, keyed by the entry's
token) and the others poll Redis for its result, as long. Keys, lifetimes and
settings: ``config.py``. Counters: ``CachedStore.cache_stats()`` (``stats.py``).
"""
import os

from .config import FAMILIES, CacheConfig, parse

#: The environment variable ``connect()`` reads when no ``cache=`` is given.
CACHE_URL_ENV = "LIAPSTORE_CACHE_URL"


def resolve(cache=None):
    """The cache URL to use: the argument, else ``$LIAPSTORE_CACHE_URL``,
    else None (no cache). ``cache=False`` turns the variable off."""
    if cache is False:
        return None
    return cache or os.environ.get(CACHE_URL_ENV) or None


def wrap(store, url, options=None):
    """``store`` behind the cache on the Redis at ``url`` (a CachedStore)."""
    from .store import CachedStore
    cached = CachedStore(store, parse(url, options))
    # Let the first reads use the cache: wait (briefly) for the channel's lease.
    cached._cache_link.wait_ready()
    return cached


__all__ = ["wrap", "resolve", "parse", "CacheConfig", "FAMILIES", "CACHE_URL_ENV"]
