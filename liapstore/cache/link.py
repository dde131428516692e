"""The process's link to Redis: shared entries, invalidations, lease, breaker.

See ``liapstore/cache/__init__.py`` for why it works this way. In short:

- Redis holds entries as hashes ``<prefix><gen>:<key>`` with a token field
  ``t`` and one field per variant. A writer, after its commit, runs one
  script that replaces each changed key by a tombstone (a fresh token, no
  variants) and publishes the keys on ``<prefix>invalidate``, then pings
  (a barrier, see ``_with_barrier``).
  A reader that missed fills a variant only if the token is still the one it
  saw before reading the database (compare-and-set in a script), so a value
  read before a write never lands after that write's tombstone.
- ``<prefix>gen`` is the generation: every process bumps it when it (re)joins
  the channel, which orphans every entry written while it was not listening
  and makes every near cache flush (the ``G`` message).
- A thread pings Redis over the subscriber connection every ``heartbeat_ms``.
  A pong proves every invalidation published before that ping was sent has
  been handled. ``usable()`` is true only while the last answered ping was
  sent less than ``lease_ms`` ago; a writer whose publish went unanswered
  waits until ``lease_ms`` after it sent it before it returns.
- After ``breaker_failures`` consecutive failures, reads send nothing to
  Redis for ``breaker_seconds``; invalidations are always tried (a skipped
  one could be missed by a process that already hears Redis again). A
  warning is logged once per outage.
"""
import logging
import select
import threading
import time
import uuid

from ..errors import InvalidInput, StorageUnavailable
from ..urls import redact

log = logging.getLogger("liapstore.cache")

_READ = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local r = redis.call('HMGET', ARGV[2], 't', ARGV[3])
return {r[1] or '', r[2] or ''}
"""
_FILL = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local t = redis.call('HGET', ARGV[2], 't')
if (t or '') ~= ARGV[3] then return 0 end
if not t then redis.call('HSET', ARGV[2], 't', ARGV[4]) end
if redis.call('HSETNX', ARGV[2], 'live', '1') == 1 then redis.call('EXPIRE', ARGV[2], ARGV[5]) end
redis.call('HSET', ARGV[2], ARGV[6], ARGV[7])
return 1
"""
_INVALIDATE = """
local gen = redis.call('GET', KEYS[1]) or '0'
for i = 5, #ARGV do
  local key = ARGV[1] .. gen .. ':' .. ARGV[i]
  redis.call('DEL', key)
  redis.call('HSET', key, 't', ARGV[2])
  redis.call('EXPIRE', key, ARGV[3])
end
return redis.call('PUBLISH', ARGV[4], 'K' .. table.concat(ARGV, '\\n', 5))
"""
_BUMP = """
local g = redis.call('INCR', KEYS[1])
return {g, redis.call('PUBLISH', ARGV[1], 'G' .. g)}
"""
# A tombstone outlives any database read a filler could be in the middle of.
_TOMBSTONE_TTL = 600


class Unavailable(Exception):
    """Internal: Redis did not answer (or the breaker is open); use the database."""


class Link:
    """One process's (one store's) connection to the cache's Redis."""

    def __init__(self, config, near):
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as e:
            raise StorageUnavailable(f"the Redis cache needs redis-py ({e}): "
                                     "pip install 'liapstore[redis]'") from None
        self.config, self.near = config, near
        seconds = config.timeout_ms / 1000
        try:
            self._redis = redis.Redis.from_url(
                config.redis_url, socket_timeout=seconds, socket_connect_timeout=seconds,
                retry=Retry(NoBackoff(), 0), health_check_interval=0)
            # Builds (without connecting) what every call will: a bad option
            # in the URL fails here, not in the listener thread.
            self._redis.connection_pool.make_connection().disconnect()
        except (ValueError, TypeError) as e:
            raise InvalidInput(f"bad Redis URL for the cache {redact(config.redis_url)!r}: "
                               f"{redact(str(e), config.redis_url)}") from None
        self._errors = (redis.RedisError, OSError)
        self._no_script = redis.exceptions.NoScriptError
        self._scripts = {name: self._redis.register_script(text) for name, text in
                         (("read", _READ), ("fill", _FILL), ("invalidate", _INVALIDATE),
                          ("bump", _BUMP))}
        self.channel = f"{config.prefix}invalidate"
        self._gen_key = f"{config.prefix}gen"
        self.gen = None                  # the generation, once subscribed
        self._lease = config.lease_ms / 1000
        self._confirmed = float("-inf")  # send time of the last answered ping
        self._ping_sent = None           # send time of the ping awaiting its pong
        self._last_ping = 0.0
        self._beat = config.heartbeat_ms / 1000
        self._pubsub = None
        self._poll = None                # poll object of the subscriber socket
        self._sub_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._failures = 0
        self._open_until = 0.0
        self._warned = False
        # A writer that failed asks the listener to rejoin (bumping the
        # generation) by moving _want_join past _joined.
        self._want_join = self._joined = 0
        self.counters = None             # a stats.Counters, sent to Redis now and then
        self._deferred = threading.local()  # scripts riding on this thread's next invalidate
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"liapstore-cache {config.prefix}")
        self._thread.start()

    # -- what the store calls -------------------------------------------------------

    def usable(self):
        """True when entries may be served: the lease holds and every
        invalidation that reached this process's socket has been applied."""
        if self.gen is None or time.monotonic() < self._open_until:
            return False
        with self._sub_lock:
            if self._pubsub is None:
                return False
            # Busy readers renew the lease themselves: under load the listener
            # thread may wait long for the GIL.
            if self._ping_sent is None and time.monotonic() - self._last_ping >= self._beat \
                    and not self._ping():
                return False
            # Whoever drains holds the lock until the messages it read are
            # applied; an empty socket then means nothing is pending.
            if self._poll.poll(0) and not self._drain():
                return False
            return time.monotonic() - self._confirmed < self._lease

    def _ping(self):
        """Send a lease ping on the subscriber connection (lock held)."""
        if self._pubsub is None:
            return False
        try:
            self._ping_sent = self._last_ping = time.monotonic()
            self._pubsub.ping("lease")
            return True
        except self._errors as e:
            self._failed(e)
            self._drop_pubsub()
            return False

    def read(self, key, variant):
        """``(token, blob or None)`` of a Redis entry; Unavailable on failure
        or when the generation moved (a G message is on its way)."""
        found = self._call(self._scripts["read"], keys=[self._gen_key],
                           args=[self.gen, self._key(key), variant])
        if found is None:
            raise Unavailable()
        token, blob = found
        return token, blob or None

    def fill(self, key, variant, token, blob, ttl):
        """Store a variant if the entry still has ``token``; True if stored."""
        return bool(self._call(self._scripts["fill"], keys=[self._gen_key], args=[
            self.gen, self._key(key), token, uuid.uuid4().hex, ttl, variant, blob]))

    def claim(self, key, variant, token, ms):
        """Whether this process may rebuild a missing entry whose token is
        ``token``: the first to ask within ``ms`` may, the others wait for its
        result (no stampede). An invalidation changes the token, hence the claim."""
        return bool(self._call(lambda keys, args: self._redis.set(
            f"{self._key(key)}#{variant}#{token}", 1, nx=True, px=ms), keys=None, args=None))

    def invalidate(self, keys):
        """Tombstone ``keys`` in Redis and publish them to every process.

        Returns once no other process can serve the old values: at once when
        the publish succeeded, else after the lease of every other process
        has run out (see the module docstring)."""
        self.near.invalidate(keys)
        extra, self._deferred.calls = getattr(self._deferred, "calls", None) or [], None
        if not self._publish(self._scripts["invalidate"], [
                self.config.prefix, uuid.uuid4().hex, _TOMBSTONE_TTL, self.channel, *keys],
                extra=[call[:3] for call in extra]):
            for *_, on_fail in extra:
                on_fail()

    def defer(self, script, keys, args, on_fail):
        """Send ``script`` with this thread's next ``invalidate``, in the same
        round trip as its script (a game's end: the leaderboards' update rides
        with the invalidation of the game's keys); ``on_fail()`` if that fails."""
        if getattr(self._deferred, "calls", None) is None:
            self._deferred.calls = []
        self._deferred.calls.append((script, keys, args, on_fail))

    def bump(self):
        """Orphan every entry (a new generation) and flush every near cache."""
        self.near.flush()
        self._publish(self._scripts["bump"], [self.channel])

    def wait_ready(self):
        """Wait until the cache serves, at most a few heartbeats; not at all
        once Redis has failed to answer (the store then starts uncached)."""
        deadline = time.monotonic() + 2 * (self.config.timeout_ms + self.config.heartbeat_ms) / 1000
        while not self.usable() and not self._failures and time.monotonic() < deadline:
            time.sleep(0.002)

    def shared_counts(self):
        """The raw hash of counts every process sent (``stats.from_hash``)."""
        try:
            return self._redis.hgetall(f"{self.config.prefix}stats")
        except self._errors as e:
            raise StorageUnavailable(f"the Redis cache at {redact(self.config.redis_url)} "
                                     f"cannot be read: {redact(str(e))}") from None

    def _send_counts(self):
        unsent = self.counters.take() if self.counters is not None else {}
        if not unsent:
            return
        pipe = self._redis.pipeline(transaction=False)
        for field, n in unsent.items():
            pipe.hincrby(f"{self.config.prefix}stats", field, n)
        try:
            pipe.execute()
        except self._errors:
            self.counters.give_back(unsent)

    def status(self):
        """A dict for operators: whether the cache serves, and why not."""
        now = time.monotonic()
        return {"url": redact(self.config.redis_url), "prefix": self.config.prefix,
                "generation": self.gen, "serving": self.gen is not None
                and now - self._confirmed < self._lease and now >= self._open_until,
                "breaker_open": now < self._open_until, "near_entries": len(self.near)}

    def close(self):
        """Stop the listener thread, send the last counts, close the connections."""
        self._closed.set()
        self._thread.join(timeout=5)
        if time.monotonic() >= self._open_until:
            self._send_counts()
        with self._sub_lock:
            self._drop_pubsub()
        self._redis.close()

    # -- internals --------------------------------------------------------------------

    def _key(self, key):
        return f"{self.config.prefix}{self.gen}:{key}"

    def _call(self, script, keys, args):
        if time.monotonic() < self._open_until:
            raise Unavailable()
        return self._try(script, keys, args)[1]

    def _try(self, script, keys, args):
        """``(sent, result)``: the send time and the script's result."""
        sent = time.monotonic()
        try:
            result = script(keys=keys, args=args)
        except self._errors as e:
            self._failed(e)
            raise Unavailable() from None
        self._succeeded()
        return sent, result

    def _publish(self, script, args, extra=()):
        """Run a script that publishes, even with the breaker open (the breaker
        spares reads, never an invalidation). If Redis does not answer, wait
        until the lease of every process that could still hear Redis when this
        call was sent has run out, and rejoin (bumping the generation) once
        Redis is back. ``extra``: (script, keys, args) sent in the same round
        trip as ``script``. Returns whether Redis answered."""
        sent = time.monotonic()
        try:
            self._try(lambda keys, args: self._with_barrier(keys, args, extra), [self._gen_key],
                      [script, *args])
            return True
        except Unavailable:
            self._want_join += 1
            delay = sent + self._lease + 0.001 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            return False

    def _with_barrier(self, keys, args, extra=()):
        """Run the script ``args[0]``, then a PING: once that is answered, what
        the script published is in every subscriber's socket.

        Redis writes the replies of one event-loop pass one client after the
        other, newest first, so the publisher's reply can go out before the
        message to a subscriber (measured on loopback: 19 in 10,000 replies
        came first, by up to 11 ms on a busy machine). A reader that drained
        its socket in between would serve the old value after our write
        returned. The PING is read in a later pass than the script, after
        that pass wrote every message: the second round trip is the price of
        "never stale" (pipelining the two would put them in the same pass)."""
        script, args = args[0], args[1:]
        calls = [(script, keys, args), *extra]
        for attempt in (1, 2):
            try:
                if extra:  # the deferred scripts in the same round trip
                    pipe = self._redis.pipeline(transaction=False)
                    for each, each_keys, each_args in calls:
                        pipe.evalsha(each.sha, len(each_keys), *each_keys, *each_args)
                    result = pipe.execute()[0]
                else:
                    result = self._redis.evalsha(script.sha, len(keys), *keys, *args)
                break
            except self._no_script:
                if attempt == 2:
                    raise
                # Redis restarted: its script cache is empty.
                for each, _, _ in calls:
                    each.sha = self._redis.script_load(each.script)
        # The script returns how many subscribers the message went to: when
        # this process is the only one listening, there is nobody to wait for.
        if (result if isinstance(result, int) else result[1]) > 1:
            self._redis.ping()
        return result

    def _failed(self, error):
        with self._state_lock:
            self._failures += 1
            if self._failures >= self.config.breaker_failures:
                self._open_until = time.monotonic() + self.config.breaker_seconds
                if not self._warned:
                    self._warned = True
                    log.warning("the Redis cache at %s does not answer (%s); serving from the "
                                "database, retrying every %s s",
                                redact(self.config.redis_url), redact(str(error)),
                                self.config.breaker_seconds)

    def _succeeded(self):
        if self._failures:
            with self._state_lock:
                self._failures = 0

    def _drain(self):
        """Apply every message waiting on the subscriber socket (lock held)."""
        pubsub = self._pubsub
        if pubsub is None:
            return False
        try:
            while (response := pubsub.parse_response(block=False, timeout=0)) is not None:
                self._handle(pubsub.handle_message(response, ignore_subscribe_messages=True))
        except self._errors as e:
            self._failed(e)
            self._drop_pubsub()
            return False
        return True

    def _handle(self, message):
        if message is None:
            return
        data = message["data"]
        if message["type"] == "pong":
            if self._ping_sent is not None:
                self._confirmed, self._ping_sent = self._ping_sent, None
        elif message["type"] == "message" and data[:1] == b"K":
            self.near.invalidate(data[1:].decode().split("\n"))
        elif message["type"] == "message" and data[:1] == b"G":
            self.near.flush()
            self.gen = int(data[1:])

    def _drop_pubsub(self):
        self._confirmed, self._ping_sent, self._poll = float("-inf"), None, None
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except self._errors:
                pass
            self._pubsub = None

    def _join(self):
        """Subscribe, then bump the generation: whatever was written while this
        process was not listening is neither in its near cache nor served."""
        wanted = self._want_join
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self.channel)
            gen = int(self._scripts["bump"](keys=[self._gen_key], args=[self.channel])[0])
        except self._errors as e:
            pubsub.close()
            self._failed(e)
            return
        with self._sub_lock:
            self.near.flush()
            self.gen = gen
            self._pubsub, self._joined = pubsub, wanted
            self._poll = select.poll()
            self._poll.register(pubsub.connection._sock, select.POLLIN)
        self._succeeded()
        with self._state_lock:
            self._open_until = 0.0
            if self._warned:
                self._warned = False
                log.warning("the Redis cache at %s answers again; near caches flushed",
                            redact(self.config.redis_url))

    def _run(self):
        while not self._closed.is_set():
            try:
                self._listen()
            except Exception as e:  # noqa: BLE001 - the thread must outlive any surprise
                log.exception("liapstore cache listener: %s", redact(str(e)))
                with self._sub_lock:
                    self._drop_pubsub()
                self._closed.wait(self.config.breaker_seconds)

    def _listen(self):
        """The listener's loop: (re)join, ping, wait for messages, send counts."""
        timeout = self.config.timeout_ms / 1000
        last_sent = 0.0
        while not self._closed.is_set():
            if self._pubsub is None or self._want_join != self._joined:
                with self._sub_lock:
                    self._drop_pubsub()
                wait = max(self._open_until - time.monotonic(), self._beat)
                if self._closed.wait(0 if self._last_ping == 0.0 else wait):
                    return
                self._last_ping = time.monotonic()
                self._join()
                continue
            with self._sub_lock:
                # What waits in the socket first: after this process was not
                # scheduled for a while, the pong may be there already.
                if not self._drain():
                    continue
                now = time.monotonic()
                if self._ping_sent is None and now - self._last_ping >= self._beat:
                    if not self._ping():
                        continue
                elif self._ping_sent is not None and \
                        now - self._ping_sent > max(timeout, self._lease - self._beat):
                    self._failed(TimeoutError("no pong from Redis"))
                    self._drop_pubsub()
                    continue
                sock = getattr(self._pubsub.connection, "_sock", None)
            try:
                if sock is not None:
                    select.select([sock], [], [], self._beat / 2)
                else:
                    time.sleep(self._beat / 2)
            except (OSError, ValueError):
                pass
            if now - last_sent >= 1.0 and time.monotonic() >= self._open_until:
                last_sent = now
                self._send_counts()
