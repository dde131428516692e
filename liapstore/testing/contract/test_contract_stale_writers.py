"""Writers whose idea of a game is out of date: a game another Store
abandoned, and the action after one that was rolled back. Nothing may be
written into the game in either case."""
import pytest

import liapstore
from liapstore import Conflict
from liapstore.testing.support import SHORT, record, rows, script, start


def _unchanged(store, gid, version, counts):
    assert store.get_game(gid).version == version
    assert [a.sequence_number for a in store.list_actions(gid)] == list(range(1, version + 1))
    assert rows(store) == counts
    assert store.verify_game(gid) == []


@pytest.mark.durable
@pytest.mark.parametrize("where", ["mid-game", "last action"])
def test_recording_into_a_game_another_store_abandoned(store_url, where):
    sc = script(15)
    k = 6 if where == "mid-game" else len(sc.steps) - 1
    with liapstore.connect(store_url) as a, liapstore.connect(store_url) as b:
        table = start(a, **SHORT)
        gid = table.game.id
        record(a, gid, sc.steps[:k])          # a holds the game's state at version k
        b.abandon_game(gid)                   # another process ends it
        counts = rows(a)
        players = {p.id: a.get_player(p.id) for p in table.players}
        for attempt in range(2):              # with a's cached state, then from the database
            with pytest.raises(Conflict):
                a.record_action(gid, k + 1, sc.actions[k])
            _unchanged(a, gid, k, counts)
        assert a.get_room(table.room.id).status == "abandoned"
        assert a.get_game(gid).winner_id is None and a.get_game(gid).final_scores is None
        assert {p.id: a.get_player(p.id) for p in table.players} == players


def test_recording_after_a_rolled_back_action(store):
    sc = script(16)
    table = start(store, **SHORT)
    gid = table.game.id
    k = 5
    record(store, gid, sc.steps[:k])
    counts = rows(store)

    class ServerFailure(Exception):
        pass

    with pytest.raises(ServerFailure):
        with store.transaction():
            assert store.record_action(gid, k + 1, sc.actions[k]).version == k + 1
            raise ServerFailure()
    _unchanged(store, gid, k, counts)
    # The rolled-back action is not in the log, so the one after it has no
    # place yet: recording it would leave a gap.
    with pytest.raises(Conflict):
        store.record_action(gid, k + 2, sc.actions[k + 1])
    _unchanged(store, gid, k, counts)
