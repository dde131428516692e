"""An erasure and a game start racing for the same player on PostgreSQL,
where writers run at once (SQLite and memory serialise them): whichever
commits first wins, and the other is refused with Conflict, so no unfinished
game ever seats an erased player."""
import threading
import time

import pytest

import liapstore
from liapstore.errors import Conflict
from liapstore.testing.support import make_players

pytestmark = pytest.mark.backends("postgres")


def _holding(store, call, ready, release, out):
    """Run ``call`` in a transaction that stays open until ``release`` is set."""
    try:
        with store.transaction():
            out.append(call())
            ready.set()
            release.wait(10)
    except Exception as e:  # noqa: BLE001 - reported to the test
        out.append(e)
        ready.set()


def _race(store_url, first, second):
    with liapstore.connect(store_url) as a, liapstore.connect(store_url) as b:
        ready, release, out = threading.Event(), threading.Event(), []
        thread = threading.Thread(target=_holding, args=(a, lambda: first(a), ready, release, out))
        thread.start()
        assert ready.wait(10)
        result = []
        racer = threading.Thread(target=lambda: result.append(_call(second, b)))
        racer.start()
        time.sleep(0.5)
        assert racer.is_alive(), "the second writer did not wait for the first"
        release.set()
        thread.join(10)
        racer.join(10)
        return out[0], result[0]


def _call(fn, store):
    try:
        return fn(store)
    except Exception as e:  # noqa: BLE001 - reported to the test
        return e


def test_a_game_start_waits_for_an_erasure_and_is_refused(store, store_url):
    players = make_players(store, prefix="race")
    room = store.create_room("RACE", "Race")
    erased, started = _race(store_url, lambda s: s.erase_player(players[0].id),
                            lambda s: s.start_game(room.id, [p.id for p in players]))
    assert erased["already_erased"] is False
    assert isinstance(started, Conflict), started
    assert store.list_games().items == () and store.get_room(room.id).status == "waiting"


def test_an_erasure_waits_for_a_game_start_and_is_refused(store, store_url):
    players = make_players(store, prefix="race")
    room = store.create_room("RACE", "Race")
    started, erased = _race(store_url, lambda s: s.start_game(room.id, [p.id for p in players]),
                            lambda s: s.erase_player(players[0].id))
    assert isinstance(erased, Conflict), erased
    assert store.get_game(started.id).version == 0
    assert store.erased_at(players[0].id) is None
