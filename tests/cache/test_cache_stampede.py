"""No stampede: when a hot game state expires under load, one caller reads
the database while the others wait for it. Reads that reach the database are
counted by wrapping the wrapped store's ``load_game``, which every cache miss
calls. Lifetimes of 1 s make several expiries happen during the test.

Across processes the readers are 2 x 50: with 2 x 100 threads spinning on this
project's 2 shared cores, a process is sometimes not scheduled for longer
than the lease (400 ms); its readers then read the database (shared reads,
see CachedStore._cache_shared_read), which is correct but not a stampede
this test could bound."""
import math
import threading
import time
import uuid

import pytest

from .cache_worker import counting, hammer
from liapstore.game import bots
from .helpers import Worker, new_game

pytestmark = [pytest.mark.servers, pytest.mark.backends("sqlite", "postgres")]

TTL, SECONDS = 1, 4.5


def most_queries(seconds=SECONDS):
    # The first fill, then at most 2 queries per expiry (the bound).
    return 2 * (math.ceil(seconds / TTL) + 1)


def test_200_readers_in_one_process(cached, redis_url, figures):
    store = cached(redis_url, game_state_ttl=TTL)
    game = new_game(store, "stampede")
    result = hammer(store, game.id, 200, SECONDS)
    assert result["reads"] > 2000, result
    assert 1 <= result["database"] <= most_queries(), result
    figures(f"cache stampede ({store.backend}): 200 threads, {result['reads']} reads of one "
            f"game in {SECONDS} s with a {TTL} s lifetime: {result['database']} database reads")


def test_readers_in_two_processes(store_url, redis_url, cached, figures):
    game = new_game(cached(redis_url), "stampede2")
    cache_url = f"{redis_url}?prefix=liapstore-test-{uuid.uuid4().hex[:12]}:&game_state_ttl={TTL}"
    workers = [Worker(store_url, cache_url), Worker(store_url, cache_url)]
    results = []
    try:
        threads = [threading.Thread(target=lambda w=w: results.append(
            w("hammer", game=str(game.id), threads=50, seconds=SECONDS))) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for w in workers:
            w.close()
    database = sum(r["database"] for r in results)
    assert len(results) == 2 and all(r["reads"] > 1000 for r in results), results
    assert 1 <= database <= most_queries(SECONDS + 1), results
    figures(f"cache stampede ({store_url.split(':')[0]}): 2 processes x 50 threads, "
            f"{sum(r['reads'] for r in results)} reads: {database} database reads")


def test_counting_sees_every_miss(cached, redis_url):
    """The count is truthful: with the cache not serving (inside a
    transaction), every read is counted."""
    store = cached(redis_url)
    game = new_game(store, "count")
    calls = counting(store)
    with store.transaction():
        for _ in range(5):
            store.load_game(game.id)
    assert calls[0] == 5


def test_readers_share_database_reads_while_the_cache_does_not_serve(own_redis, cached):
    """Redis is down: concurrent readers of one game share database reads,
    yet each gets a read that began after it asked (so it sees every write
    acknowledged before)."""
    store = cached(own_redis.url)
    game = new_game(store, "shared")
    own_redis.kill()
    calls, read = counting(store), store._inner.load_game

    def slow(game_id):
        time.sleep(0.05)   # a slow database: readers pile up behind one read
        return read(game_id)
    store._inner.load_game = slow
    versions = []
    threads = [threading.Thread(
        target=lambda: versions.append(store.load_game(game.id).game.version)) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert versions == [0] * 40 and calls[0] <= 4, calls
    state = store.load_game(game.id).state
    store._inner.record_action(game.id, 1, bots.next_action(state, "s", 1))
    assert store.load_game(game.id).game.version == 1
