"""The cache's counters, per key family, in the process and summed in Redis.

Each CachedStore counts its reads (``Counters.tally``); its listener thread
adds what it counted since the last time to the hash ``<prefix>stats`` in
Redis about once a second (``HINCRBY``, one round trip), so that
``cache_stats(everywhere=True)``, and a ``liapstore cache stats`` run from
another process, see the sum over every process of the deployment. Counts
that could not be sent (Redis down) are kept and sent later.
"""
import threading

NAMES = ("near_hits", "redis_hits", "misses", "errors", "bypassed")


class Counters:
    """Thread-safe counts of this process, and those not yet sent to Redis."""

    def __init__(self, families):
        self._lock = threading.Lock()
        self._counts = {f: dict.fromkeys(NAMES, 0) for f in families}
        self._unsent = {}

    def tally(self, family, what):
        """Count one read of ``family`` that ended as ``what`` (one of NAMES)."""
        with self._lock:
            self._counts[family][what] += 1
            field = f"{family}:{what}"
            self._unsent[field] = self._unsent.get(field, 0) + 1

    def local(self):
        """This process's counts, as ``report`` shapes them."""
        with self._lock:
            return report({f: dict(c) for f, c in self._counts.items()})

    def take(self):
        """The counts not yet sent (``{"family:name": n}``), now counted as sent."""
        with self._lock:
            unsent, self._unsent = self._unsent, {}
        return unsent

    def give_back(self, unsent):
        """Counts ``take`` returned that could not be sent after all."""
        with self._lock:
            for field, n in unsent.items():
                self._unsent[field] = self._unsent.get(field, 0) + n


def from_hash(raw, families):
    """Counts from the Redis hash (``{b"family:name": b"n"}``), shaped by ``report``."""
    counts = {f: dict.fromkeys(NAMES, 0) for f in families}
    for field, n in raw.items():
        family, _, name = field.decode().partition(":")
        if family in counts and name in NAMES:
            counts[family][name] = int(n)
    return report(counts)


def report(counts):
    """Add ``hits`` (near + Redis) and ``hit_ratio`` (hits over every read
    counted, None before the first) to each family's counts."""
    for c in counts.values():
        c["hits"] = c["near_hits"] + c["redis_hits"]
        reads = c["hits"] + c["misses"] + c["errors"] + c["bypassed"]
        c["hit_ratio"] = c["hits"] / reads if reads else None
    return counts
