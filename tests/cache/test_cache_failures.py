"""The cache when Redis fails: killed, frozen (SIGSTOP), paused (CLIENT PAUSE),
restarted, absent at start, each against a redis-server the test starts.

Two CachedStores share the database and the key prefix, as two server
processes of one deployment would: A records bot games while B reads them
(and had them in its near cache before the failure). Throughout: every call
succeeds, within BOUND seconds; B never reads a game older than the last
action A acknowledged; a fresh store reading after the failure sees the
latest state; one warning per store and outage; the cache serves again by
itself afterwards; and every game's log is whole (nothing lost or twice).
"""
import logging
import os
import signal
import time

import pytest
import redis

from .helpers import assert_intact, new_game, step

pytestmark = [pytest.mark.servers, pytest.mark.backends("sqlite", "postgres")]

# The longest any store call may take while Redis fails: a Redis call waits at
# most timeout_ms (150), a write whose invalidation failed about lease_ms (400)
# more. Generous for a loaded 2-core machine; the figures show the real ones.
BOUND = 1.0


class Timed:
    """Calls of a store, timed; ``worst`` is the slowest so far."""

    def __init__(self):
        self.worst = 0.0

    def __call__(self, fn, *args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.worst = max(self.worst, time.perf_counter() - started)


def play_and_check(a, b, games, steps, timed):
    """A records ``steps`` actions on each game; after each, B must read it."""
    for _ in range(steps):
        for i, game in enumerate(games):
            if game.ended_at is not None:
                continue
            games[i] = game = timed(step, a, game)
            seen = timed(b.load_game, game.id).game
            assert seen.version == game.version, "B read a game older than A's last write"
            assert timed(b.get_game, game.id).version == game.version
            assert [s.score for s in timed(b.get_seats, game.id)] == \
                [s.score for s in a._inner.get_seats(game.id)]


def wait_serving(store, seconds=10):
    deadline = time.monotonic() + seconds
    while not store.cache_status()["serving"]:
        assert time.monotonic() < deadline, f"the cache did not come back: {store.cache_status()}"
        time.sleep(0.02)


def warm(b, games):
    for game in games:
        b.load_game(game.id), b.get_game(game.id), b.get_seats(game.id)
    hits = b.cache_stats()["game_state"]["near_hits"]
    b.load_game(games[0].id)
    assert b.cache_stats()["game_state"]["near_hits"] == hits + 1, "B is not caching"


def warnings_of(caplog):
    return [r for r in caplog.records
            if r.name == "liapstore.cache" and "does not answer" in r.getMessage()]


def outage_test(own_redis, cached, caplog, figures, name, fail, recover):
    caplog.set_level(logging.WARNING, logger="liapstore.cache")
    a, b = cached(own_redis.url), cached(own_redis.url)
    games = [new_game(a, f"{name}{i}") for i in range(3)]
    timed = Timed()
    play_and_check(a, b, games, 4, timed)
    warm(b, games)
    fail()
    timed.worst = 0.0
    # The first write during the failure, then B's read of it: B must not
    # serve its near copy, although Redis could not tell it the game changed.
    play_and_check(a, b, games, 8, timed)
    during = timed.worst
    fresh = cached(own_redis.url)   # a process started during the outage
    for game in games:
        assert fresh.get_game(game.id).version == game.version
    recover()
    play_and_check(a, b, games, 4, timed)
    for store in (a, b, fresh):
        wait_serving(store)
    play_and_check(a, b, games, 200, timed)
    late = cached(own_redis.url)    # a process started after it
    for store in (b, fresh, late):
        for game in games:
            assert store.load_game(game.id).game.version == game.version
    hits = b.cache_stats()["game_state"]["near_hits"]
    b.load_game(games[0].id)
    assert b.cache_stats()["game_state"]["near_hits"] == hits + 1, "the cache did not come back"
    assert during < BOUND and timed.worst < BOUND, (during, timed.worst)
    assert 1 <= len(warnings_of(caplog)) <= 3, [r.getMessage() for r in warnings_of(caplog)]
    assert_intact(a, games)
    figures(f"cache, Redis {name} ({a.backend}): slowest store call {timed.worst * 1000:.0f} ms "
            f"(during the failure {during * 1000:.0f} ms)")


def test_redis_killed_and_restarted_mid_game(own_redis, cached, caplog, figures):
    outage_test(own_redis, cached, caplog, figures, "killed", own_redis.kill, own_redis.restart)


def test_redis_frozen_by_sigstop(own_redis, cached, caplog, figures):
    pid = own_redis.pid
    try:
        outage_test(own_redis, cached, caplog, figures, "sigstop",
                    lambda: os.kill(pid, signal.SIGSTOP), lambda: os.kill(pid, signal.SIGCONT))
    finally:
        os.kill(pid, signal.SIGCONT)


def test_redis_paused_by_client_pause(own_redis, cached, caplog, figures):
    admin = redis.Redis.from_url(own_redis.url)
    paused = []

    def pause():
        admin.execute_command("CLIENT", "PAUSE", 4000, "ALL")
        paused.append(time.monotonic())

    def resume():
        # The pause runs out by itself (it also holds back CLIENT UNPAUSE).
        time.sleep(max(0.0, paused[0] + 4.1 - time.monotonic()))
    try:
        outage_test(own_redis, cached, caplog, figures, "client-pause", pause, resume)
    finally:
        admin.close()


def test_redis_absent_at_start_then_started(own_redis, cached, caplog, figures):
    """No Redis when the store opens: it opens at once, works from the
    database, warns once, and uses the cache once Redis answers."""
    caplog.set_level(logging.WARNING, logger="liapstore.cache")
    own_redis.kill()
    started = time.perf_counter()
    a = cached(own_redis.url)
    opened = time.perf_counter() - started
    games = [new_game(a, f"absent{i}") for i in range(2)]
    timed = Timed()
    play_and_check(a, a, games, 10, timed)
    assert not a.cache_status()["serving"]   # the breaker opened: see the warning below
    # With the breaker open reads do not wait for Redis (writes still try
    # to publish their invalidations, see liapstore/cache/__init__.py).
    quick = Timed()
    for _ in range(20):
        for game in games:
            quick(a.load_game, game.id), quick(a.get_game, game.id), quick(a.get_seats, game.id)
    own_redis.restart()
    wait_serving(a)
    play_and_check(a, a, games, 5, timed)
    assert a.cache_stats()["game_state"]["near_hits"] > 0
    assert opened < BOUND and timed.worst < BOUND
    # Less than one Redis timeout (200 ms): no read waited for Redis.
    assert quick.worst < 0.15, f"a read waited {quick.worst:.3f} s with the breaker open"
    assert len(warnings_of(caplog)) == 1
    assert any("answers again" in r.getMessage() for r in caplog.records)
    assert_intact(a, games)
    figures(f"cache, no Redis at start ({a.backend}): connect {opened * 1000:.0f} ms, "
            f"slowest call {timed.worst * 1000:.0f} ms, slowest read with the breaker open "
            f"{quick.worst * 1000:.1f} ms")


def test_simulate_while_redis_is_killed_and_restarted(own_redis, cached):
    """`liapstore simulate`'s engine with the cache on completes and verifies
    though Redis dies in the middle and comes back."""
    from liapstore.simulate import simulate
    store = cached(own_redis.url)
    actions = []

    def on_action():
        actions.append(1)
        if len(actions) == 40:
            own_redis.kill()
        elif len(actions) == 120:
            own_redis.restart()
    summary = simulate(store, 4, seed=3, winning_score=15, max_rounds=3, on_action=on_action)
    assert summary.games == 4 and len(actions) > 120
    games = store.list_games(limit=10).items
    assert len(games) == 4 and all(g.ended_at is not None for g in games)
    assert_intact(store, games)
    assert store.verify_stats() == []
