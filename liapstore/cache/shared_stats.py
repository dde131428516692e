"""Cache counters shared by every process of a deployment, and the guard
that runs the leaderboards' Redis calls.

``liapstore cache stats`` runs in a process of its own, so counts kept only
in a server's memory would tell it nothing. Each process counts hits, misses
and errors per key family in memory and adds them to one Redis hash,
``<prefix>stats`` (fields ``<family>:<counter>``, the counters of
``CachedStore.cache_stats``), with one pipelined batch of HINCRBY every ``every``
counted operations or ``seconds`` seconds, whichever comes first, and when
the store closes. Counting therefore costs one round trip per batch, not per
read, and a process that dies loses at most its last unflushed batch. Counts
that cannot be flushed (Redis down) are kept and added at the next flush.
"""
import threading
import time
from collections import Counter

#: The counters CachedStore keeps per key family (see CachedStore.cache_stats).
KINDS = ("near_hits", "redis_hits", "misses", "errors", "bypassed")


class SharedCounters:
    """Per-family hit/miss/error counts, flushed in batches to ``<prefix>stats``."""

    def __init__(self, client, prefix, *, every=100, seconds=1.0, run=None):
        self.client, self.key = client, f"{prefix}stats"
        # How to send the batch (the Link's breaker); directly when None.
        self.run = run or (lambda fn: fn())
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
        def send():
            with self.client.pipeline(transaction=False) as pipe:
                for field, n in batch.items():
                    pipe.hincrby(self.key, field, n)
                pipe.execute()
        try:
            self.run(send)
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
    """Every process's flushed counts, {family: counts}: the KINDS, ``hits``
    (near + Redis) and ``hit_ratio`` (hits over all reads; None before any),
    as ``CachedStore.cache_stats`` computes them for one process."""
    raw = client.hgetall(f"{prefix}stats")
    out = _nest((k.decode(), int(n)) for k, n in raw.items())
    for counts in out.values():
        for kind in KINDS:
            counts.setdefault(kind, 0)
        counts["hits"] = counts["near_hits"] + counts["redis_hits"]
        reads = sum(counts[k] for k in KINDS)
        counts["hit_ratio"] = counts["hits"] / reads if reads else None
    return out


def _nest(items):
    out = {}
    for field, n in items:
        family, _, kind = field.rpartition(":")
        out.setdefault(family, {})[kind] = out.get(family, {}).get(kind, 0) + n
    return out


class LinkGuard:
    """Runs the leaderboards' Redis calls through the cache's Link: its
    timeouts and circuit breaker (one per process, shared with every other
    cached read), and counts them in the store's per-family counters."""

    FAILED = object()

    def __init__(self, link, tally):
        from .link import Unavailable
        self.link, self.tally, self._unavailable = link, tally, Unavailable

    def call(self, family, fn, serve=False):
        """``fn()``'s result, or FAILED when Redis failed or is avoided. With
        ``serve`` (a read), also FAILED when the cache is not serving now
        (lease lapsed: Redis may be frozen)."""
        if serve and not self.link.usable():
            self.tally(family, "bypassed")
            return self.FAILED
        try:
            return self.link._call(lambda keys, args: fn(), None, None)
        except self._unavailable:
            self.tally(family, "errors")
            return self.FAILED

    def hit(self, family):
        self.tally(family, "redis_hits")

    def miss(self, family):
        self.tally(family, "misses")
