"""Redis round trips a write through the cache adds: one when the process is
the cache's only listener, two when others listen (the issue asks for one).

The cache's invalidation is one round trip (its script; at a game's end the
leaderboards' update rides in the same pipeline). When other processes
listen, a PING follows, a second round trip, which ``Link._with_barrier``
explains: Redis may answer the writer before it has written the invalidation
to the other processes' sockets, and the PING, read in a later event-loop
pass, is the barrier that keeps a reader elsewhere from serving the old value
after the write returned. This test pins both counts, and that a game's end
costs no more than any other action.

Counted, not timed: every command batch the writing thread sends to Redis
(redis-py's ``send_packed_command``: one call per command or per pipeline,
each followed by waiting for the reply, so one round trip) while a write runs
through the cached store, after a warm-up that loads the scripts. The
listener thread's pings are not the write's and are not counted. Each kind
of write is measured: an action in the middle of a game, the action that
ends a game (its invalidation and the leaderboards' update share one round
trip), starting a game, creating and updating a room and a player. Under
pytest-benchmark (one round) so ``--benchmark-only`` runs include it.
"""
import threading
from contextlib import contextmanager

import pytest

from liapstore.cache import wrap
from liapstore.testing.support import SHORT, make_players, script
from support.cache_prefix import private_prefix

pytestmark = pytest.mark.backends("sqlite", "postgres")
INVALIDATION, BARRIER = 1, 1


@contextmanager
def counting():
    """Count the round trips the current thread makes to Redis."""
    from redis.connection import AbstractConnection
    me, sent = threading.get_ident(), []
    real = AbstractConnection.send_packed_command

    def send(self, command, check_health=True):
        if threading.get_ident() == me:
            sent.append(command)
        return real(self, command, check_health)

    AbstractConnection.send_packed_command = send
    try:
        yield sent
    finally:
        AbstractConnection.send_packed_command = real


def measure_writes(cached, players, steps, code):
    """The most round trips each kind of write took, through ``cached``."""
    counts = {}

    def one(name, fn):
        with counting() as sent:
            fn()
        counts[name] = max(counts.get(name, 0), len(sent))
    room = cached.create_room(f"{code}-1", "measured")
    one("start_game", lambda: cached.start_game(room.id, [p.id for p in players], **SHORT))
    game = cached.get_room(room.id).current_game_id
    for step, _, action, _ in steps[:-1]:
        one("record_action", lambda: cached.record_action(game, step, action))
    step, _, action, _ = steps[-1]
    one("record_action (game's end)", lambda: cached.record_action(game, step, action))
    one("create_room", lambda: cached.create_room(f"{code}-2", "another"))
    one("update_room", lambda: cached.update_room(room.id, name="renamed"))
    with cached.acting_as(players[0].id):
        one("update_player", lambda: cached.update_player(players[0].id, settings={"a": code}))
    return counts


def test_write_through_round_trips(benchmark, backend, store, redis_url, figures):
    with private_prefix(redis_url, "bench-rt") as (cache_url, _, _):
        # Generous timeouts: on a loaded machine a call timing out would be
        # retried or given up, and this test counts calls, not their speed.
        cache_url += "&timeout_ms=5000&lease_ms=10000"
        cached = wrap(store, cache_url)
        other = None
        try:
            players = make_players(cached, 4, prefix="rt")
            first = cached.create_room("RT0", "warm-up")
            game = cached.start_game(first.id, [p.id for p in players], **SHORT)
            steps = script(11).steps
            for step, _, action, _ in steps:        # a whole game: every script loaded
                cached.record_action(game.id, step, action)
            cached.leaderboard()
            counts = {}

            def measure():
                nonlocal other
                # Alone: this store's listener is the only subscriber.
                counts["alone"] = measure_writes(cached, players, steps, "RTA")
                # Shared: another store (another listener, as another server
                # process would be) subscribed too.
                other = wrap(store, cache_url)
                counts["shared"] = measure_writes(cached, players, steps, "RTS")
                return counts

            benchmark.pedantic(measure, rounds=1, iterations=1)
        finally:
            for each in (cached, other):
                if each is not None:
                    each._cache_link.close()
    benchmark.extra_info.update(backend=backend, **counts)
    for mode in ("alone", "shared"):
        figures(f"[bench cache round trips] {backend} {mode}: " +
                ", ".join(f"{name} {n}" for name, n in counts[mode].items()))
        assert counts[mode]["record_action (game's end)"] == counts[mode]["record_action"]
    assert max(counts["alone"].values()) == INVALIDATION, counts
    assert max(counts["shared"].values()) == INVALIDATION + BARRIER, counts
