"""The cache's wiring: connect(cache=...), settings, the proxy's completeness,
what is cached and what is not, counters, prefixes, copies."""
import subprocess
import sys
import time
import uuid

import pytest
import redis

import liapstore
from liapstore import InvalidInput, NotFound, Store
from liapstore.cache import config
from liapstore.cache.store import FLUSH_ALL, NO_EFFECT, CachedStore
from .helpers import new_game

pytestmark = [pytest.mark.servers]


def prefix():
    return f"liapstore-test-{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def memory_cached(redis_url):
    store = liapstore.connect("memory://", cache=redis_url, cache_options={"prefix": prefix()})
    yield store
    store.close()


def test_every_public_method_is_classified():
    """A public Store method the cache does not know would invalidate
    everything on every call: each is an overridden read or write, or
    listed as changing nothing cached, or as flushing everything."""
    public = {n for n in dir(Store) if not n.startswith("_") and callable(getattr(Store, n))}
    overridden = {n for n in vars(CachedStore) if not n.startswith("_")}
    unknown = public - overridden - NO_EFFECT - FLUSH_ALL
    assert unknown == set(), f"classify {sorted(unknown)} in liapstore/cache/store.py"
    assert not (NO_EFFECT | FLUSH_ALL) - public, "stale names in the classification"
    for name in public:
        assert getattr(CachedStore, name).__doc__, name


def test_a_cached_store_is_a_store_with_the_backend_attributes(memory_cached):
    inner = memory_cached._inner
    assert isinstance(memory_cached, Store)
    assert (memory_cached.backend, memory_cached.durable, memory_cached.url) == \
        (inner.backend, inner.durable, inner.url)
    assert "CachedStore" in repr(memory_cached) and "memory://" in repr(memory_cached)


def test_import_and_plain_connect_load_no_redis():
    code = ("import sys, liapstore; s = liapstore.connect('memory://'); "
            "assert type(s).__name__ == 'MemoryStore'; "
            "assert not [m for m in sys.modules if m.split('.')[0] == 'redis'], 'redis imported'")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_environment_variable_and_false(redis_url, monkeypatch):
    monkeypatch.setenv("LIAPSTORE_CACHE_URL", f"{redis_url}?prefix={prefix()}")
    with liapstore.connect("memory://") as store:
        assert isinstance(store, CachedStore)
    with liapstore.connect("memory://", cache=False) as store:
        assert not isinstance(store, CachedStore)


@pytest.mark.parametrize("url, options, message", [
    ("http://h/", None, "not a Redis URL"),
    ("redis://h/0?room_info_ttl=0", None, "room_info_ttl must be between"),
    ("redis://h/0", {"nonsense": 1}, "unknown cache option 'nonsense'"),
    ("redis://h/0", {"prefix": "a b"}, "prefix"),
    ("redis://h/0", {"lease_ms": 50, "heartbeat_ms": 40}, "heartbeat_ms"),
    ("redis://:secret@h/0", {"timeout_ms": "x"}, "must be a number"),
    ("redis://:secret@h:port/0", None, "bad Redis URL"),
    ("redis://:secret@h/0?ssl_cert_reqs=none", None, "bad Redis URL"),
])
def test_bad_settings_are_invalid_input(url, options, message):
    with pytest.raises(InvalidInput, match=message) as e:
        liapstore.connect("memory://", cache=url, cache_options=options)
    assert "secret" not in str(e.value)


def test_settings_from_the_url_and_keywords():
    parsed = config.parse("redis://h:1/2?prefix=eu:&game_state_ttl=7&socket_keepalive=1",
                          {"room_list_ttl": 9, "lease_ms": 500})
    assert parsed.prefix == "eu:" and parsed.lease_ms == 500
    assert parsed.ttl["game_state"] == 7 and parsed.ttl["room_list"] == 9
    assert parsed.ttl["player_stats"] == 3600
    assert parsed.redis_url == "redis://h:1/2?socket_keepalive=1"   # redis-py's own stay


def test_hot_reads_are_served_from_the_process(redis_url):
    # A long lease: this test counts hits exactly, and on a loaded machine a
    # 400 ms lease can lapse between two reads (the read then goes to the
    # database, correctly, as "bypassed"). The lease's own tests are elsewhere.
    with liapstore.connect("memory://", cache=redis_url,
                           cache_options={"prefix": prefix(), "lease_ms": 10000}) as cached:
        hot_reads(cached)


def hot_reads(memory_cached):
    game = new_game(memory_cached, "hot")
    for _ in range(3):
        memory_cached.load_game(game.id), memory_cached.get_game(game.id)
        memory_cached.get_seats(game.id), memory_cached.get_room(game.room_id)
    stats = memory_cached.cache_stats()
    assert stats["game_state"]["near_hits"] == 4 and stats["game_state"]["misses"] == 2
    assert stats["game_players"]["near_hits"] == 2 and stats["room_info"]["near_hits"] == 2
    assert stats["game_state"]["hit_ratio"] == pytest.approx(4 / 6)
    assert stats["leaderboards"]["hit_ratio"] is None


def test_callers_get_copies(memory_cached):
    player = memory_cached.create_player("copies", settings={"list": [1]})
    memory_cached.get_player(player.id).settings["list"].append(2)
    memory_cached.get_player(player.id).settings["list"].append(3)
    assert memory_cached.get_player(player.id).settings == {"list": [1]}


def test_errors_are_the_stores_and_not_cached(memory_cached):
    missing = uuid.uuid4()
    for _ in range(2):
        with pytest.raises(NotFound):
            memory_cached.get_game(missing)
        with pytest.raises(InvalidInput):
            memory_cached.get_room("not a uuid")
    room = memory_cached.create_room("LATER", "created after a miss")
    with pytest.raises(NotFound):
        memory_cached.get_room_by_code("NOPE")
    assert memory_cached.get_room_by_code("LATER") == room


def test_two_deployments_share_one_redis_under_their_prefixes(redis_url):
    # Two databases, one Redis: equal ids (a restored copy) never mix.
    def open_one():
        return liapstore.connect("memory://", cache=redis_url, cache_options={"prefix": prefix()})
    with open_one() as a, open_one() as b:
        pa = a.create_player("same")
        b.create_player("same")
        with a.acting_as(pa.id):
            a.update_player(pa.id, settings={"who": "a"})
        assert a.get_player_by_username("same").settings == {"who": "a"}
        assert b.get_player_by_username("same").settings == {}
        client = redis.Redis.from_url(redis_url)
        try:
            keys = {k.decode() for k in client.scan_iter(match=f"{a.cache_status()['prefix']}*")}
        finally:
            client.close()
        assert keys and all(k.startswith(a.cache_status()["prefix"]) for k in keys)


def test_writes_in_a_rolled_back_transaction_invalidate_nothing(memory_cached):
    room = memory_cached.create_room("TX", "before")
    memory_cached.get_room(room.id)
    with pytest.raises(RuntimeError):
        with memory_cached.transaction():
            memory_cached.update_room(room.id, name="rolled back")
            assert memory_cached.get_room(room.id).name == "rolled back"  # own write, uncached
            raise RuntimeError
    hits = memory_cached.cache_stats()["room_info"]["near_hits"]
    assert memory_cached.get_room(room.id).name == "before"
    assert memory_cached.cache_stats()["room_info"]["near_hits"] == hits + 1


def test_unknown_writes_flush_everything(memory_cached):
    game = new_game(memory_cached, "flush")
    memory_cached.load_game(game.id)
    generation = memory_cached.cache_status()["generation"]
    memory_cached.rebuild_stats()
    # The new generation reaches this process's status through its listener
    # thread (a read drains the channel itself before it serves).
    deadline = time.monotonic() + 2
    while memory_cached.cache_status()["generation"] == generation and time.monotonic() < deadline:
        time.sleep(0.01)
    assert memory_cached.cache_status()["generation"] > generation
    misses = memory_cached.cache_stats()["game_state"]["misses"]
    memory_cached.load_game(game.id)
    assert memory_cached.cache_stats()["game_state"]["misses"] == misses + 1


def test_undecodable_entries_are_never_unpickled(redis_url):
    from liapstore.cache.near import decode, encode
    assert decode(encode({"a": [1]})) == {"a": [1]}
    evil = b"cos\nsystem\n(S'echo owned'\ntR."
    with pytest.raises(ValueError, match="not a liapstore record"):
        decode(evil)


def test_counts_are_summed_over_processes_in_redis(redis_url):
    options = {"prefix": prefix()}
    with liapstore.connect("memory://", cache=redis_url, cache_options=options) as a:
        player = a.create_player("counted")
        for _ in range(3):
            a.get_player(player.id)
        with liapstore.connect("memory://", cache=redis_url, cache_options=options) as b:
            with pytest.raises(NotFound):
                b.get_player(uuid.uuid4())   # a miss, counted (the error is not cached)
        everywhere = a.cache_stats(everywhere=True)["player_stats"]  # b sent its counts at close
        assert everywhere["misses"] >= 1
    with liapstore.connect("memory://", cache=redis_url, cache_options=options) as c:
        total = c.cache_stats(everywhere=True)["player_stats"]
    assert total["near_hits"] == 2 and total["misses"] == 2, total
    assert total["hit_ratio"] == pytest.approx(0.5)
