"""liapstore.metrics with a real prometheus_client registry, real stores and
real servers: the counters move with real operations, errors are counted by
type, gauges read the live pools and workers, health checks make round trips,
and no log line or health report holds a password."""
import asyncio
import json
import logging
import subprocess
import sys
import threading

import pytest
from prometheus_client import CollectorRegistry

import liapstore
from liapstore import metrics
from liapstore.asyncstore import AsyncStore
from liapstore.testing.support import SHORT, record, script, start

# Nothing listens there: every connection is refused at once.
DEAD_POSTGRES = "postgresql://liap:s3cretpw@127.0.0.1:1/nowhere?connect_timeout=2"


@pytest.fixture
def registry():
    """A fresh registry the store records into for the test."""
    before = metrics._recorder
    registry = CollectorRegistry()
    metrics.use(registry)
    yield registry
    metrics._recorder = before


def sample(registry, name, **labels):
    return registry.get_sample_value(name, labels) or 0


def test_a_registry_takes_the_metrics_once(registry):
    assert metrics.use(registry) is metrics.use(registry) is metrics.recorder()
    metrics.disable()
    assert metrics.use(None) is metrics.use(None)  # prometheus_client's default registry


def test_operations_are_counted_and_timed(registry, store):
    store.create_player("alice")
    store.get_or_create_player("alice")  # one operation, whatever it calls inside
    b = store.backend
    assert sample(registry, "liapstore_operations_total", backend=b, operation="create_player",
                  outcome="ok") == 1
    assert sample(registry, "liapstore_operations_total", backend=b,
                  operation="get_or_create_player", outcome="ok") == 1
    assert sample(registry, "liapstore_operations_total", backend=b,
                  operation="get_player_by_username", outcome="ok") == 0
    assert sample(registry, "liapstore_operation_seconds_count", backend=b,
                  operation="create_player") == 1
    assert 0 < sample(registry, "liapstore_operation_seconds_sum", backend=b,
                      operation="create_player") < 5


def test_errors_are_counted_by_type_and_conflicts_apart(registry, store):
    store.create_player("alice")
    with pytest.raises(liapstore.Conflict):
        store.create_player("alice")
    with pytest.raises(liapstore.NotFound):
        store.get_player_by_username("nobody")
    for _ in range(2):
        with pytest.raises(liapstore.InvalidInput):
            store.create_player("not a username")
    b = store.backend
    errors = {e: sample(registry, "liapstore_errors_total", backend=b, operation=op, error=e)
              for op, e in (("create_player", "Conflict"), ("get_player_by_username", "NotFound"),
                            ("create_player", "InvalidInput"))}
    assert errors == {"Conflict": 1, "NotFound": 1, "InvalidInput": 2}
    assert sample(registry, "liapstore_conflicts_total", backend=b, operation="create_player") == 1
    assert sample(registry, "liapstore_operations_total", backend=b, operation="create_player",
                  outcome="Conflict") == 1


def test_actions_are_counted_once_committed(registry, store):
    table = start(store, **SHORT)
    steps = script(1, **SHORT).steps
    with pytest.raises(RuntimeError):
        with store.transaction():
            record(store, table.game.id, steps[:3])
            raise RuntimeError("rolled back: these actions never happened")
    assert sample(registry, "liapstore_actions_recorded_total", backend=store.backend) == 0
    record(store, table.game.id, steps)
    assert sample(registry, "liapstore_actions_recorded_total", backend=store.backend) == len(steps)
    # The calls themselves all succeeded, the rolled-back ones included.
    assert sample(registry, "liapstore_operations_total", backend=store.backend,
                  operation="record_action", outcome="ok") == 3 + len(steps)


def test_an_unavailable_database_is_an_error_and_a_warning_without_its_password(registry, caplog):
    store = liapstore.connect(DEAD_POSTGRES, migrate=False)
    caplog.set_level(logging.WARNING, logger="liapstore")
    with pytest.raises(liapstore.StorageUnavailable):
        store.get_player_by_username("alice")
    assert sample(registry, "liapstore_errors_total", backend="postgresql",
                  operation="get_player_by_username", error="StorageUnavailable") == 1
    [line] = [r for r in caplog.records if r.name == "liapstore"]
    assert line.levelno == logging.WARNING
    assert (line.liapstore_operation, line.liapstore_error) == ("get_player_by_username",
                                                                "StorageUnavailable")
    as_json = json.loads(metrics.JsonFormatter().format(line))
    assert as_json["liapstore_backend"] == "postgresql" and as_json["level"] == "WARNING"
    assert "s3cretpw" not in metrics.JsonFormatter().format(line)
    assert "s3cretpw" not in line.getMessage()
    report = metrics.health(store)
    assert report["ok"] is False and report["checks"]["database"]["up"] is False
    assert "s3cretpw" not in json.dumps(report)
    store.close()


def test_every_operation_logs_a_debug_line_with_its_fields(store, caplog):
    caplog.set_level(logging.DEBUG, logger="liapstore")
    store.create_player("alice")
    [line] = [r for r in caplog.records if getattr(r, "liapstore_operation", None) == "create_player"]
    assert (line.levelno, line.liapstore_outcome, line.liapstore_backend) == \
        (logging.DEBUG, "ok", store.backend)
    assert line.liapstore_seconds >= 0


@pytest.mark.backends("postgres")
def test_pool_use_is_read_when_scraped(registry, store_url):
    store = liapstore.connect(store_url)
    try:
        def in_use():
            return sample(registry, "liapstore_pool_connections", backend="postgresql",
                          state="in_use")
        before = in_use()
        with store.transaction():
            store.create_player("alice")  # the connection is checked out until the commit
            assert in_use() == before + 1
        assert in_use() == before
        assert sample(registry, "liapstore_pool_connections", backend="postgresql",
                      state="idle") >= 1
    finally:
        store.close()


def test_async_workers_are_read_when_scraped(registry):
    gate = threading.Event()

    async def main():
        astore = AsyncStore(liapstore.connect("memory://"), max_workers=2)
        calls = [asyncio.ensure_future(astore.run(gate.wait, 5)) for _ in range(5)]
        await asyncio.sleep(0.05)
        figures = {s: sample(registry, "liapstore_async_workers", state=s)
                   for s in ("busy", "waiting", "max")}
        gate.set()
        await asyncio.gather(*calls)
        await astore.close()
        return figures
    figures = asyncio.run(main())
    # Other AsyncStores of the test run may still be alive: at least these.
    assert figures["busy"] >= 2 and figures["waiting"] >= 3 and figures["max"] >= 2


class _WithCacheFigures(type(liapstore.connect("memory://"))):
    """A store reporting cache figures in the shape of liapstore's Redis cache
    (CachedStore.cache_stats, cache_status): the hooks the metrics read."""

    serving = True

    def cache_stats(self):
        return {"game_state": {"near_hits": 2, "redis_hits": 1, "hits": 3, "misses": 1,
                               "hit_ratio": 0.75},
                "room_info": {"near_hits": 0, "redis_hits": 0, "hits": 0, "misses": 4,
                              "hit_ratio": None}}

    def cache_status(self):
        return {"serving": self.serving, "breaker_open": not self.serving}


def test_a_stores_cache_stats_are_exported_per_family(registry):
    store = _WithCacheFigures("memory://")
    store.create_player("alice")  # stores are scraped from their first operation on
    assert sample(registry, "liapstore_cache_hits_total", backend="memory",
                  family="game_state") >= 3
    assert sample(registry, "liapstore_cache_misses_total", backend="memory",
                  family="room_info") >= 4
    assert sample(registry, "liapstore_cache_stat", backend="memory", family="game_state",
                  stat="hit_ratio") >= 0.75
    store.close()


def test_health_asks_a_cache_without_a_check_whether_it_serves():
    store = _WithCacheFigures("memory://")
    assert metrics.health(store)["checks"]["cache"] == {"up": True, "error": None}
    store.serving = False
    report = metrics.health(store)
    assert report["ok"] is False and report["checks"]["database"]["up"] is True
    assert "breaker is open" in report["checks"]["cache"]["error"]


def test_health_checks_each_part_with_a_round_trip(store, redis_url):
    import redis

    class WithCache(type(store)):
        pass

    def checks(cache_url):
        client = redis.Redis.from_url(cache_url, socket_connect_timeout=2)
        return lambda self: {**type(store)._health_checks(self), "cache": client.ping}

    assert metrics.health(store) == {"ok": True, "checks": {"database": {"up": True,
                                                                          "error": None}}}
    WithCache._health_checks = checks(redis_url)
    cached = WithCache.__new__(WithCache)
    cached.__dict__ = store.__dict__  # the same open database, with a cache check
    assert metrics.health(cached)["ok"] is True
    WithCache._health_checks = checks("redis://:s3cretpw@127.0.0.1:1/0")
    report = metrics.health(cached)
    assert report["ok"] is False and report["checks"]["database"]["up"] is True
    assert report["checks"]["cache"]["up"] is False and "ConnectionError" in \
        report["checks"]["cache"]["error"]
    assert "s3cretpw" not in json.dumps(report)


def test_health_of_an_async_store_runs_on_its_workers(store_url):
    async def main():
        async with liapstore.connect_async(store_url) as astore:
            return await metrics.ahealth(astore)
    assert asyncio.run(main())["ok"] is True


def test_render_gives_the_prometheus_text(registry, store):
    store.create_player("alice")
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    assert b'liapstore_operations_total{backend="%s",operation="create_player",outcome="ok"} 1.0' \
        % store.backend.encode() in body


def test_without_prometheus_client_nothing_is_imported_and_operations_still_work():
    code = """
import sys
sys.modules["prometheus_client"] = None  # as if it were not installed
import liapstore
from liapstore import metrics
store = liapstore.connect("memory://")
store.create_player("alice")
assert type(metrics.recorder()) is metrics._Recorder, metrics.recorder()
try:
    metrics.render()
except RuntimeError as e:
    assert "liapstore[metrics]" in str(e)
else:
    raise AssertionError("render() without prometheus_client")
"""
    subprocess.run([sys.executable, "-c", code], check=True)
    code = "import sys, liapstore; assert 'prometheus_client' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
