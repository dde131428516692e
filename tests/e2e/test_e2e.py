"""The example server killed with SIGKILL in the middle of play, end to end.

Real parts only: the server runs as its own process (``python -m
examples.server``) on a loopback port, the clients are real WebSocket
clients (four per game, several games at once, and an all-bot game followed
by a spectator), and the kill is a SIGKILL. After each kill a new server
starts on the same store; every client reconnects with its session token.
The run passes when every action a client saw acknowledged is in its
finished game, no game is lost or stored twice, and every game passes
``verify_game`` (examples/server/e2e.py does the checking; it is also a
script a person can run).
"""
import asyncio
import uuid

import pytest

from examples.server import e2e

# Without and with liapstore's Redis cache (the server's --cache), on SQLite
# and PostgreSQL.
CACHES = [None, "redis"]


@pytest.mark.crash
@pytest.mark.durable
@pytest.mark.parametrize("cache", CACHES, ids=lambda c: c or "no-cache")
def test_server_killed_mid_play(store_url, cache, request, figures):
    tag = "E" + uuid.uuid4().hex[:6].upper()
    # A key prefix of the test's own: the Redis server is shared.
    cache_url = f"{request.getfixturevalue('redis_url')}?prefix=e2e-{tag}:" if cache else None
    result = asyncio.run(e2e.run_async(store_url, cache=cache_url, games=6, kills=2, tag=tag))
    for line in result.lines():
        figures(f"e2e: {line}")
    assert result.errors == []
    assert result.kills == 2
    # The first kill lands while every game, the bots' too, is under way.
    assert result.running_at_kills[0] == result.games
    assert result.reconnects >= result.clients
    assert result.acknowledged > 0
    assert (result.lost, result.missing, result.duplicated, result.unfinished,
            result.failed_verify) == (0, 0, 0, 0, 0)
    assert result.ok
