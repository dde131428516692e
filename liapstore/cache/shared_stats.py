"""Cache counters shared by every process of a deployment, and the guard
that runs each Redis call.

``liapstore cache stats`` runs in a process of its own, so counts kept only
in a server's memory would tell it nothing. Each process counts hits, misses
and errors per key family in memory and adds them to one Redis hash,
``<prefix>stats`` (fields ``<family>:hit``, ``<family>:miss``,
``<family>:error``), with one pipelined batch of HINCRBY every ``every``
counted operations or ``seconds`` seconds, whichever comes first, and when
the store closes. Counting therefore costs one round trip per batch, not per
read, and a process that dies loses at most its last unflushed batch. Counts
that cannot be flushed (Redis down) are kept and added at the next flush.
"""
import logging
import threading
import time
from collections import Counter

log = logging.getLogger("liapstore.cache")

KINDS = ("hit", "miss", "error")


class SharedCounters:
    """Per-family hit/miss/error counts, flushed in batches to ``<prefix>stats``."""

    def __init__(self, client, prefix, *, every=100, seconds=1.0):
        self.client, self.key = client, f"{prefix}stats"
        self.every, self.seconds = every, seconds
        self._pending, self._ops = Counter(), 0
        self._next = time.monotonic() + seconds
        self._lock = threading.Lock()

    def add(self, family, kind, n=1):
        """Count ``n`` events of ``kind`` (hit, miss, error) for ``family``."""
        with self._lock:
            self._pending[f"{family}:{kind}"] += n
            self._ops += 1
            due = self._ops >= self.every or time.monotonic() >= self._next
        if due:
            self.flush()

    def flush(self):
        """Add the pending counts to Redis; keep them for later if it fails."""
        with self._lock:
            batch, self._pending, self._ops = self._pending, Counter(), 0
            self._next = time.monotonic() + self.seconds
        if not batch:
            return True
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for field, n in batch.items():
                    pipe.hincrby(self.key, field, n)
                pipe.execute()
            return True
        except Exception:  # Redis down: the counts wait for the next flush
            with self._lock:
                self._pending.update(batch)
            return False

    def local(self):
        """The counts not yet flushed, as {family: {kind: n}}."""
        with self._lock:
            return _nest(self._pending.items())


def read_stats(client, prefix):
    """Every process's flushed counts: {family: {"hit", "miss", "error", "ratio"}}."""
    raw = client.hgetall(f"{prefix}stats")
    out = _nest((k.decode(), int(n)) for k, n in raw.items())
    for counts in out.values():
        for kind in KINDS:
            counts.setdefault(kind, 0)
        reads = counts["hit"] + counts["miss"]
        counts["ratio"] = counts["hit"] / reads if reads else None
    return out


def _nest(items):
    out = {}
    for field, n in items:
        family, _, kind = field.rpartition(":")
        out.setdefault(family, {})[kind] = out.get(family, {}).get(kind, 0) + n
    return out


class Guard:
    """Runs Redis calls for the cache: counts them, and after a failure
    avoids Redis for ``cooldown`` seconds (a circuit breaker), logging one
    warning per outage rather than one per call."""

    FAILED = object()

    def __init__(self, counters, *, cooldown=1.0):
        import redis
        self.counters, self.cooldown = counters, cooldown
        self._errors = (redis.RedisError, OSError)
        self._open_until = 0.0
        self._warned = False

    def call(self, family, fn):
        """``fn()``'s result, or FAILED when Redis failed or is being avoided."""
        if time.monotonic() < self._open_until:
            return self.FAILED
        try:
            result = fn()
        except self._errors as e:
            self.counters.add(family, "error")
            self._open_until = time.monotonic() + self.cooldown
            if not self._warned:
                self._warned = True
                log.warning("Redis cache unavailable (%s); answering from the database",
                            type(e).__name__)
            return self.FAILED
        if self._warned:
            self._warned = False
            log.warning("Redis cache available again")
        return result

    def hit(self, family):
        self.counters.add(family, "hit")

    def miss(self, family):
        self.counters.add(family, "miss")
