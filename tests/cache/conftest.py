"""Fixtures of the cache tests: a Redis server of the test's own (to kill,
pause and restart), and stores behind the cache on it."""
import uuid

import pytest

import liapstore
from liapstore.game import bots
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


def new_game(store, code, winning_score=15):
    """A four-bot game in a new room; returns the Game."""
    players = [store.get_or_create_player(f"bot_{code}_{i}") for i in range(4)]
    room = store.create_room(code, f"room {code}")
    return store.start_game(room.id, [p.id for p in players], bots=range(4),
                            winning_score=winning_score, max_rounds=3)


def step(store, game, seed="s"):
    """Record the game's next bot action through ``store``; the Game after it."""
    state = store.load_game(game.id).state
    action = bots.next_action(state, seed, game.version + 1)
    return store.record_action(game.id, game.version + 1, action)


def assert_intact(store, games):
    """Every action recorded once, in order, and the results agree with them."""
    for game in games:
        stored = store.get_game(game.id)
        actions = store.list_actions(game.id)
        assert [a.sequence_number for a in actions] == list(range(1, stored.version + 1))
        assert store.verify_game(game.id) == []
