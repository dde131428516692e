"""A hot game state read through the cache, beside the database read it
replaces, on SQLite and PostgreSQL, in one run.

``load_game`` (game, seats and rules state: what a server needs to answer a
player) of a game in the middle of play, read again and again: uncached, each
read is the backend's queries; cached, it is served by the process's near
cache, kept coherent through Redis. Under ``--benchmark-only`` the cached
read's median must be at least 10 times below PostgreSQL's uncached one.
"""
import pytest

import liapstore
from liapstore.testing.support import MEDIUM, record, script, start
from support.cache_prefix import private_prefix

pytestmark = pytest.mark.backends("sqlite", "postgres")
OPS = ("uncached", "cached")
SPEEDUP = 10
_MEDIANS = {}


def pytest_generate_tests(metafunc):
    if "op" in metafunc.fixturenames:
        metafunc.parametrize("op", OPS)


def test_hot_game_state_read(benchmark, backend, op, store_url, redis_cache_url, figures, request):
    with liapstore.connect(store_url) as plain, \
            liapstore.connect(store_url, cache=redis_cache_url) as cached:
        table = start(plain, code="HOT", **MEDIUM)
        steps = script(42, **MEDIUM).steps
        record(plain, table.game.id, steps[:len(steps) // 2])
        game_id = table.game.id
        want = plain.load_game(game_id)
        assert cached.load_game(game_id) == want
        read = {"uncached": plain.load_game, "cached": cached.load_game}[op]
        benchmark.group = f"cache-game-state-{backend}"
        benchmark.extra_info.update(backend=backend, op=op)
        result = benchmark.pedantic(read, args=(game_id,), rounds=1 if benchmark.disabled else 2000,
                                    warmup_rounds=0 if benchmark.disabled else 20)
        assert result == want
        if benchmark.stats is None:
            return
        median = benchmark.stats.stats.median
        _MEDIANS[(backend, op)] = median
        figures(f"[bench cache game state] {backend:<8} {op:<8} median {median * 1e6:9.1f} us")
        base = _MEDIANS.get(("postgres", "uncached"))
        if op == "cached" and base is not None:
            figures(f"[bench cache game state] {backend} cached read {base / median:,.0f}x faster "
                    "than PostgreSQL's uncached read")
            assert base / median >= SPEEDUP, f"only {base / median:.1f}x"


@pytest.fixture
def redis_cache_url(redis_url):
    with private_prefix(redis_url, "bench-state") as (cache_url, _, _):
        yield cache_url
