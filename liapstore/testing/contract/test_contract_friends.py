"""Friends: requests, acceptance, declines, cancelling, removal, blocks, and
every transition that makes no sense, the same on every backend."""
import threading

import pytest

from liapstore import Conflict, InvalidInput, NotFound
from liapstore.testing.support import make_players, rows


@pytest.fixture
def trio(store):
    return make_players(store, 3, prefix="friend")


def names(players):
    return [p.username for p in players]


def test_request_then_accept_makes_friends_both_ways(store, trio):
    a, b, c = trio
    request = store.request_friend(a.id, b.id)
    assert (request.player_id, request.friend_id, request.status) == (a.id, b.id, "pending")
    assert store.list_friend_requests(b.id) == [request]
    assert store.list_friend_requests(a.id, outgoing=True) == [request]
    assert store.list_friend_requests(a.id) == []
    assert store.list_friends(a.id) == [] and store.list_friends(b.id) == []
    friendship = store.accept_friend(b.id, a.id)
    assert (friendship.player_id, friendship.friend_id, friendship.status) == (b.id, a.id, "accepted")
    assert names(store.list_friends(a.id)) == [b.username]
    assert names(store.list_friends(b.id)) == [a.username]
    assert store.list_friend_requests(b.id) == []
    assert store._friend_ids(a.id) == {b.id}
    assert store.list_friends(c.id) == []


def test_requests_that_cross_make_friends_at_once(store, trio):
    a, b, _ = trio
    store.request_friend(a.id, b.id)
    assert store.request_friend(b.id, a.id).status == "accepted"
    assert names(store.list_friends(a.id)) == [b.username]
    assert store.list_friend_requests(a.id) == store.list_friend_requests(b.id) == []


def test_decline_cancel_and_remove(store, trio):
    a, b, c = trio
    store.request_friend(a.id, b.id)
    store.decline_friend(b.id, a.id)
    assert store.list_friend_requests(b.id) == []
    store.request_friend(a.id, b.id)  # asking again after a decline is allowed
    store.cancel_friend_request(a.id, b.id)
    assert store.list_friend_requests(b.id) == []
    store.request_friend(c.id, a.id)
    store.accept_friend(a.id, c.id)
    store.remove_friend(c.id, a.id)
    assert store.list_friends(a.id) == store.list_friends(c.id) == []


@pytest.mark.parametrize("call, error, words", [
    (lambda s, a, b, c: s.request_friend(a.id, a.id), InvalidInput, "themselves"),
    (lambda s, a, b, c: s.accept_friend(a.id, b.id), InvalidInput, "no pending friend request"),
    (lambda s, a, b, c: s.accept_friend(b.id, c.id), InvalidInput, "no pending friend request"),
    (lambda s, a, b, c: s.decline_friend(a.id, c.id), InvalidInput, "no pending friend request"),
    (lambda s, a, b, c: s.cancel_friend_request(b.id, a.id), InvalidInput, "no pending friend request"),
    (lambda s, a, b, c: s.remove_friend(a.id, c.id), InvalidInput, "not friends"),
    (lambda s, a, b, c: s.unblock(a.id, c.id), InvalidInput, "has not blocked"),
    (lambda s, a, b, c: s.request_friend(a.id, b.id), Conflict, "already asked"),
    (lambda s, a, b, c: s.block(a.id, a.id), InvalidInput, "themselves"),
    (lambda s, a, b, c: s.request_friend(a.id, "not-a-uuid"), InvalidInput, "UUID"),
])
def test_transitions_that_make_no_sense(store, trio, call, error, words):
    a, b, c = trio
    store.request_friend(a.id, b.id)  # a -> b pending
    before = rows(store)
    with pytest.raises(error, match=words):
        call(store, a, b, c)
    assert rows(store) == before


def test_already_friends_and_unknown_players(store, trio):
    a, b, _ = trio
    store.request_friend(a.id, b.id)
    store.accept_friend(b.id, a.id)
    with pytest.raises(Conflict, match="already friends"):
        store.request_friend(a.id, b.id)
    with pytest.raises(Conflict, match="already friends"):
        store.request_friend(b.id, a.id)
    ghost = store.create_player("ghost")
    store._delete("players", [("id", "=", ghost.id)])
    with pytest.raises(NotFound):
        store.request_friend(a.id, ghost.id)
    with pytest.raises(NotFound):
        store.block(a.id, ghost.id)


def test_a_block_ends_everything_and_stops_requests(store, trio):
    a, b, c = trio
    store.request_friend(a.id, b.id)
    store.accept_friend(b.id, a.id)
    store.request_friend(c.id, a.id)
    block = store.block(a.id, b.id)
    assert (block.player_id, block.friend_id, block.status) == (a.id, b.id, "blocked")
    assert store.block(a.id, b.id) == block  # blocking twice changes nothing
    assert store.list_friends(a.id) == store.list_friends(b.id) == []
    assert names(store.list_blocked(a.id)) == [b.username]
    # The blocked player can no longer ask, and is not told why.
    with pytest.raises(Conflict) as e:
        store.request_friend(b.id, a.id)
    assert "block" not in str(e.value)
    with pytest.raises(Conflict, match="unblock first"):
        store.request_friend(a.id, b.id)
    # The blocker disappears from the blocked player's listings only.
    assert a.username not in names(store.list_players(viewer=b.id))
    assert a.username in names(store.list_players(viewer=c.id))
    assert a.username in names(store.list_players())
    # Others are unaffected; unblocking brings back no friendship.
    assert [r.player_id for r in store.list_friend_requests(a.id)] == [c.id]
    store.unblock(a.id, b.id)
    assert store.list_friends(a.id) == [] and store.list_blocked(a.id) == []
    assert a.username in names(store.list_players(viewer=b.id))
    assert store.request_friend(b.id, a.id).status == "pending"


def test_each_may_block_the_other(store, trio):
    a, b, _ = trio
    store.block(a.id, b.id)
    store.block(b.id, a.id)
    assert names(store.list_blocked(a.id)) == [b.username]
    assert names(store.list_blocked(b.id)) == [a.username]
    store.unblock(a.id, b.id)
    with pytest.raises(Conflict):
        store.request_friend(a.id, b.id)  # b still blocks a


def test_deleting_a_player_deletes_their_friendships(store, trio):
    a, b, c = trio
    store.request_friend(a.id, b.id)
    store.accept_friend(b.id, a.id)
    store.request_friend(c.id, a.id)
    store._delete("players", [("id", "=", a.id)])
    assert store.list_friends(b.id) == [] and store.list_friend_requests(c.id, outgoing=True) == []


def test_crossing_requests_from_threads_end_as_one_friendship(store):
    pairs = [make_players(store, 2, prefix=f"race{i}") for i in range(8)]
    errors = []

    def ask(me, other):
        try:
            store.request_friend(me.id, other.id)
        except Conflict:
            pass  # the other request won; the friendship is made either way
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=ask, args=pair) for pair in pairs]
    threads += [threading.Thread(target=ask, args=pair[::-1]) for pair in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for a, b in pairs:
        # Either friends already, or both asked while neither saw the other:
        # then either accept completes it.
        if store.list_friends(a.id) == []:
            store.accept_friend(a.id, b.id)
        assert names(store.list_friends(a.id)) == [b.username]
        assert names(store.list_friends(b.id)) == [a.username]
