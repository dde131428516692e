"""What an operator watches: metrics (Prometheus) and structured logs of the
store's operations, and a health check.

Every public method of every Store class is an *operation*: the store reports
its latency and outcome when it returns or raises (``instrument``, applied to
``Store`` and each subclass as it is defined). Only the outermost call counts:
``get_or_create_player`` calling ``get_player_by_username`` is one operation.

Metrics go through ``prometheus_client`` when it is installed (``pip install
'liapstore[metrics]'``); it is imported at the first operation and nothing is
imported when it is absent, when each operation costs a clock read or two.
By default they are registered in prometheus_client's default registry;
``use(registry)`` picks another, ``disable()`` turns them off. The metrics:

- ``liapstore_operations_total{backend,operation,outcome}`` (outcome ``ok`` or
  the error's class name) and ``liapstore_operation_seconds{backend,operation}``;
- ``liapstore_errors_total{backend,operation,error}``, and of those the
  ``liapstore_conflicts_total{backend,operation}``;
- ``liapstore_actions_recorded_total{backend}``: actions committed by
  ``record_action`` (counted after the outermost commit, never on rollback);
- read when scraped: ``liapstore_pool_connections{backend,state}`` (``in_use``,
  ``idle``; PostgreSQL's pool), ``liapstore_async_workers{state}`` (``busy``,
  ``waiting``, ``max``) of AsyncStores, and the cache's counters when the
  store has ``cache_stats()`` (``liapstore_cache_hits_total{backend,family}``
  and ``liapstore_cache_misses_total``, and ``liapstore_cache_stat{stat}``
  for its other numbers).

Logs go to the ``liapstore`` logger, each line with its fields in ``extra``
(``liapstore_operation``, ``liapstore_backend``, ``liapstore_outcome``,
``liapstore_seconds``, ``liapstore_error``): a failed operation at WARNING when
the storage is unavailable, INFO for a conflict, DEBUG otherwise, and every
operation at DEBUG. ``JsonFormatter`` writes them as one JSON object a line.
Messages and URLs pass through ``liapstore.urls.redact``: no password reaches
a log line.
"""
import functools
import importlib.util
import inspect
import json
import logging
import threading
import time
import weakref

from .errors import Conflict, LiapstoreError, StorageUnavailable
from .urls import redact

log = logging.getLogger("liapstore")

#: Latency buckets (seconds): a cached read takes tens of microseconds, a
#: recorded action on PostgreSQL about a millisecond, a report longer.
BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
           1.0, 2.5, 5.0, 10.0)

#: Operations whose success is counted only once committed: operation -> the
#: counter's attribute on the recorder.
COUNTED_AFTER_COMMIT = {"record_action": "actions"}

_local = threading.local()  # .depth: whether an operation is running on this thread
# Read at scrape time: the stores made (their pools), the stores that ran an
# operation (their caches: a store wrapping another, such as the cached one,
# may not run Store.__init__, and its pool is its inner store's), AsyncStores.
_pooled = weakref.WeakSet()
_operated = weakref.WeakSet()
_async_stores = weakref.WeakSet()


# -- the recording interface --------------------------------------------------------

class _Recorder:
    """Records nothing: prometheus_client is absent, or metrics are disabled."""

    def done(self, store, operation, seconds):
        """An operation returned."""

    def failed(self, store, operation, seconds, error):
        """An operation raised ``error``."""

    def count(self, store, counter):
        """One more of ``counter`` (see COUNTED_AFTER_COMMIT)."""


class PrometheusRecorder(_Recorder):
    """Records into prometheus_client metrics registered in ``registry``."""

    def __init__(self, registry=None):
        import prometheus_client as p
        registry = p.REGISTRY if registry is None else registry
        kind = ["backend", "operation"]
        self.registry = registry
        self.operations = p.Counter("liapstore_operations", "Store operations by outcome",
                                    kind + ["outcome"], registry=registry)
        self.seconds = p.Histogram("liapstore_operation_seconds", "Latency of store operations",
                                   kind, buckets=BUCKETS, registry=registry)
        self.errors = p.Counter("liapstore_errors", "Failed store operations by error type",
                                kind + ["error"], registry=registry)
        self.conflicts = p.Counter("liapstore_conflicts", "Operations that raised Conflict",
                                   kind, registry=registry)
        self.actions = p.Counter("liapstore_actions_recorded", "Actions committed by record_action",
                                 ["backend"], registry=registry)
        registry.register(_ScrapeTimeCollector())

    def done(self, store, operation, seconds):
        self.operations.labels(store.backend, operation, "ok").inc()
        self.seconds.labels(store.backend, operation).observe(seconds)

    def failed(self, store, operation, seconds, error):
        name = type(error).__name__
        self.operations.labels(store.backend, operation, name).inc()
        self.seconds.labels(store.backend, operation).observe(seconds)
        self.errors.labels(store.backend, operation, name).inc()
        if isinstance(error, Conflict):
            self.conflicts.labels(store.backend, operation).inc()

    def count(self, store, counter):
        getattr(self, counter).labels(store.backend).inc()


_recorder = None  # chosen at the first operation (see recorder())
_choosing = threading.Lock()
# The recorder registered in each registry: a registry takes liapstore's
# metrics once, and use() of the same registry again finds them there.
_registered = weakref.WeakKeyDictionary()


def _prometheus(registry):
    import prometheus_client
    registry = prometheus_client.REGISTRY if registry is None else registry
    if registry not in _registered:
        _registered[registry] = PrometheusRecorder(registry)
    return _registered[registry]


def recorder():
    """The recorder operations report to: Prometheus's when prometheus_client
    is installed (default registry), else one that records nothing."""
    global _recorder
    if _recorder is None:
        with _choosing:
            if _recorder is None:
                installed = importlib.util.find_spec("prometheus_client") is not None
                _recorder = _prometheus(None) if installed else _Recorder()
    return _recorder


def use(registry=None):
    """Record into ``registry`` (a ``prometheus_client.CollectorRegistry``;
    None: the default one) from now on; returns the recorder. For tests, and
    for servers that keep liapstore's metrics in a registry of their own."""
    global _recorder
    with _choosing:
        _recorder = _prometheus(registry)
    return _recorder


def disable():
    """Record no metrics from now on (logs are unaffected)."""
    global _recorder
    with _choosing:
        _recorder = _Recorder()


# -- operation boundaries ---------------------------------------------------------------

def instrument(cls):
    """Make each public method of ``cls`` (its own, its mixins', inherited)
    report as an operation, unless it already does.

    Store applies it to itself and to every subclass as it is defined;
    context managers (``transaction``), properties and abstract methods are
    left as they are.
    """
    for name in dir(cls):
        method = inspect.getattr_static(cls, name)
        if (name.startswith("_") or not inspect.isfunction(method)
                or getattr(method, "__isabstractmethod__", False)
                or getattr(method, "_liapstore_operation", False)
                or inspect.isgeneratorfunction(getattr(method, "__wrapped__", None))):
            continue
        setattr(cls, name, _operation(name, method))
    return cls


def _operation(name, method):
    counted = COUNTED_AFTER_COMMIT.get(name)

    @functools.wraps(method)
    def operation(self, *args, **kwargs):
        if getattr(_local, "depth", False):  # inside another operation: part of it
            return method(self, *args, **kwargs)
        _local.depth = True
        if "_liapstore_seen" not in self.__dict__:  # its first operation
            self.__dict__["_liapstore_seen"] = True
            _operated.add(self)
        start = time.perf_counter()
        try:
            result = method(self, *args, **kwargs)
        except BaseException as e:
            _local.depth = False
            _failed(self, name, time.perf_counter() - start, e)
            raise
        _local.depth = False
        seconds = time.perf_counter() - start
        rec = recorder()
        rec.done(self, name, seconds)
        if counted:
            self._after_commit(functools.partial(rec.count, self, counted))
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s ok in %.2f ms", self.backend, name, seconds * 1000,
                      extra=_fields(self, name, "ok", seconds))
        return result
    operation._liapstore_operation = True
    return operation


def _failed(store, name, seconds, error):
    if not isinstance(error, Exception):  # KeyboardInterrupt, a generator's exit: not a failure
        return
    recorder().failed(store, name, seconds, error)
    kind = type(error).__name__
    if isinstance(error, StorageUnavailable):
        level = logging.WARNING
    elif isinstance(error, Conflict):
        level = logging.INFO
    elif isinstance(error, LiapstoreError):
        level = logging.DEBUG
    else:  # not one of liapstore's errors: a bug somewhere
        level = logging.ERROR
    if log.isEnabledFor(level):
        log.log(level, "%s %s failed: %s: %s", store.backend, name, kind,
                redact(str(error), getattr(store, "url", None)),
                extra={**_fields(store, name, kind, seconds), "liapstore_error": kind})


def _fields(store, name, outcome, seconds):
    return {"liapstore_operation": name, "liapstore_backend": store.backend,
            "liapstore_outcome": outcome, "liapstore_seconds": round(seconds, 6)}


def opened(store):
    """Called by Store.__init__: the store's pool is read at scrape time."""
    _pooled.add(store)


def opened_async(astore):
    """Called by AsyncStore.__init__, for the worker gauges."""
    _async_stores.add(astore)


# -- read at scrape time -------------------------------------------------------------------

class _ScrapeTimeCollector:
    """Pool, worker and cache figures, read from the live stores when scraped."""

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
        pool = GaugeMetricFamily("liapstore_pool_connections", "Pooled database connections",
                                 labels=["backend", "state"])
        workers = GaugeMetricFamily("liapstore_async_workers", "AsyncStore worker threads",
                                    labels=["state"])
        cache = {"hits": CounterMetricFamily("liapstore_cache_hits", "Cache hits",
                                             labels=["backend", "family"]),
                 "misses": CounterMetricFamily("liapstore_cache_misses", "Cache misses",
                                               labels=["backend", "family"])}
        other = GaugeMetricFamily("liapstore_cache_stat", "The cache's other figures",
                                  labels=["backend", "family", "stat"])
        totals = {}

        def add(key, n):
            totals[key] = totals.get(key, 0) + n
        for store in list(_pooled):
            for state, n in (store._pool_usage() or {}).items():
                add(("pool", store.backend, state), n)
        for store in list(_operated):
            for family, stat, n in _cache_stats(store):
                add(("cache", store.backend, family, stat), n)
        for astore in list(_async_stores):
            for state, n in (("busy", astore.busy), ("waiting", astore.waiting),
                             ("max", astore.max_workers)):
                add(("async", state), n)
        for key, n in sorted(totals.items()):
            if key[0] == "pool":
                pool.add_metric(list(key[1:]), n)
            elif key[0] == "async":
                workers.add_metric([key[1]], n)
            elif key[3] in cache:
                cache[key[3]].add_metric(list(key[1:3]), n)
            else:
                other.add_metric(list(key[1:]), n)
        return [pool, workers, *cache.values(), other]


def _cache_stats(store):
    """``(family, stat, number)`` of the store's ``cache_stats()``, if it has
    one: a dict of numbers, or of such dicts per key family (the Redis
    cache's); a flat one is family ``all``. Nothing if it fails."""
    stats = getattr(type(store), "cache_stats", None)
    if not callable(stats):
        return []
    try:
        found = stats(store)
    except Exception as e:  # noqa: BLE001 - a scrape must not fail because the cache did
        log.warning("cache_stats failed: %s", redact(str(e), getattr(store, "url", None)))
        return []
    families = {f: c for f, c in found.items() if isinstance(c, dict)} or {"all": found}
    return [(family, stat, n) for family, counts in families.items()
            for stat, n in counts.items()
            if isinstance(n, (int, float)) and not isinstance(n, bool)]


def render(registry=None):
    """``(body, content_type)`` of the Prometheus text exposition of
    ``registry`` (default: the one in use), for a ``/metrics`` endpoint. From
    async code: ``await astore.run(liapstore.metrics.render)`` (scraping reads
    the stores' pools and caches). Needs prometheus_client."""
    try:
        import prometheus_client as p
    except ImportError:
        raise RuntimeError("metrics need prometheus_client: pip install 'liapstore[metrics]'") \
            from None
    if registry is None:
        registry = getattr(recorder(), "registry", p.REGISTRY)
    return p.generate_latest(registry), p.CONTENT_TYPE_LATEST


# -- health ------------------------------------------------------------------------------------

def health(store):
    """What is up, for a ``/healthz`` endpoint: ``{"ok": bool, "checks":
    {name: {"up": bool, "error": message or None}}}`` with a check named
    ``database`` always, and ``cache`` when the store has a cache: the
    store's ``_health_checks()``, each a round trip, or for the cache, when
    it has no check there, its ``cache_status()`` saying whether it serves.
    Takes a Store; for an AsyncStore, ``await ahealth(astore)``."""
    checks = {}
    parts = dict(store._health_checks())
    status = getattr(type(store), "cache_status", None)
    if "cache" not in parts and callable(status):
        # A store with a cache that says whether it serves (the Redis cache
        # does, from its heartbeat round trips) without a check of its own.
        parts["cache"] = functools.partial(_cache_serving, store, status)
    for name, check in parts.items():
        try:
            check()
            checks[name] = {"up": True, "error": None}
        except Exception as e:  # noqa: BLE001 - reported, not raised
            checks[name] = {"up": False, "error": f"{type(e).__name__}: "
                                                  f"{redact(str(e), getattr(store, 'url', None))}"}
    return {"ok": all(c["up"] for c in checks.values()), "checks": checks}


def _cache_serving(store, status):
    state = status(store)
    if not state.get("serving"):
        why = "its breaker is open" if state.get("breaker_open") else "no recent answer"
        raise StorageUnavailable(f"the cache is not serving: {why}")


async def ahealth(astore):
    """``health()`` of an AsyncStore, run on its workers (the loop never waits)."""
    return await astore.run(health, astore.store)


# -- logs as JSON ------------------------------------------------------------------------------

_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and every field
    passed in ``extra`` (liapstore's are named ``liapstore_*``). Strings are
    redacted (``liapstore.urls.redact``)."""

    def format(self, record):
        line = {"time": self.formatTime(record), "level": record.levelname,
                "logger": record.name, "message": redact(record.getMessage())}
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS:
                line[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, default=str)


__all__ = ["instrument", "recorder", "use", "disable", "render", "health", "ahealth",
           "JsonFormatter", "PrometheusRecorder", "BUCKETS"]
