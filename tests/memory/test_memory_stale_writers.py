"""The memory backend's write path under a writer whose cached state went
stale while it waited for the store's lock: another thread abandoned the
game, or recorded the same action, inside a transaction it held.

The interleaving is forced with the store's own transaction, which holds the
lock every memory write takes: the holder lets the writer start, gives it
time to read its cached state and queue behind the lock, then changes the
game and commits. Should the writer be slower than that, it reads the new
state instead, and the expected outcome is the same: the tests cannot fail
spuriously, they only lose the interleaving they are after.
"""
import threading
import time

import pytest

from liapstore import Conflict
from liapstore.testing.support import SHORT, record, rows, script, start

pytestmark = pytest.mark.backends("memory")

QUEUE_TIME = 0.5  # seconds for the writer to reach the lock


def _race(store, change, write):
    """Run ``change()`` inside a transaction that the writer thread queues behind."""
    result = {}

    def writer():
        try:
            result["value"] = write()
        except Exception as e:  # noqa: BLE001 - checked by the caller
            result["error"] = e

    with store.transaction():
        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(QUEUE_TIME)
        change()
    thread.join(30)
    assert not thread.is_alive()
    return result


def test_a_write_queued_behind_an_abandon_is_refused(store):
    sc = script(17)
    table = start(store, **SHORT)
    gid = table.game.id
    k = 7
    record(store, gid, sc.steps[:k])
    result = _race(store, lambda: store.abandon_game(gid),
                   lambda: store.record_action(gid, k + 1, sc.actions[k]))
    assert isinstance(result.get("error"), Conflict), result
    game = store.get_game(gid)
    assert game.finished and game.version == k
    assert len(store.list_actions(gid)) == k
    assert store.verify_game(gid) == []


def test_the_same_action_queued_behind_its_twin_is_a_no_op(store):
    sc = script(18)
    table = start(store, **SHORT)
    gid = table.game.id
    k = 4
    record(store, gid, sc.steps[:k])
    result = _race(store, lambda: store.record_action(gid, k + 1, sc.actions[k]),
                   lambda: store.record_action(gid, k + 1, sc.actions[k]))
    assert result.get("value") == store.get_game(gid), result
    assert store.get_game(gid).version == k + 1
    assert [a.action_data for a in store.list_actions(gid)] == sc.actions[:k + 1]
    counts = rows(store)
    assert store.verify_game(gid) == []
    record(store, gid, sc.steps[k + 1:])
    assert store.get_game(gid).finished and store.verify_game(gid) == []
    assert rows(store)["player_actions"] == counts["player_actions"] + len(sc.steps) - k - 1
