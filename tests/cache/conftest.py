"""Fixtures of the cache tests: a Redis server of the test's own (to kill,
pause and restart), and stores behind the cache on it."""
import uuid

import pytest

import liapstore
from support.servers import RedisServer


@pytest.fixture
def own_redis():
    """A throwaway redis-server on a free port, only this test's."""
    server = RedisServer.start()
    yield server
    server.stop()


@pytest.fixture
def cached(store_url):
    """``cached(redis_url, **options)``: a new CachedStore on this test's
    database, all of them sharing one key prefix (as the processes of one
    deployment do); closed after the test."""
    prefix, opened = f"liapstore-test-{uuid.uuid4().hex[:12]}:", []

    def open_store(redis_url, **options):
        store = liapstore.connect(store_url, cache=redis_url,
                                  cache_options={"prefix": prefix, **options})
        opened.append(store)
        return store
    yield open_store
    for store in opened:
        store.close()
