"""A refused argument is named in the InvalidInput message, with what was
wrong, so that the caller can tell which one to fix."""
from datetime import datetime, timedelta

import pytest

from liapstore import InvalidInput
from liapstore.testing.support import expect, make_players, make_room


@pytest.fixture
def player(store):
    return make_players(store, 1)[0]


def named(e, *words):
    for word in words:
        assert word in str(e), (word, str(e))


def test_limits(store):
    for bad in (0, -1, 10**9, "5", None):
        named(expect(InvalidInput, store.list_players, limit=bad), "limit")
        named(expect(InvalidInput, store.search_rooms, "x", limit=bad), "limit")
    named(expect(InvalidInput, store.list_players, limit=0), "limit", "between 1 and 1000", "got 0")


def test_durations(store, player):
    for bad in (0, -5, timedelta(0), "1 day", True, None):
        named(expect(InvalidInput, store.create_session, player.id, ttl=bad), "ttl", "positive")
        named(expect(InvalidInput, store.sweep_stale_connections, bad), "older_than", "positive")


def test_moments(store, player):
    naive = datetime(2030, 1, 1)
    named(expect(InvalidInput, store.list_events, since=naive), "since", "timezone-aware", repr(naive))
    named(expect(InvalidInput, store.list_events, until="yesterday"), "until", "'yesterday'")
    named(expect(InvalidInput, store.update_player, player.id, last_seen=None), "last_seen")
    named(expect(InvalidInput, store.delete_expired_sessions, now=naive), "now")


def test_ip_addresses(store, player):
    for bad in ("not-an-ip", "300.1.1.1", 12, "10.0.0.1/99"):
        named(expect(InvalidInput, store.create_session, player.id, ip_address=bad),
              "IP address", repr(bad))
    # A host with its network's prefix keeps the prefix; a single host loses /32.
    session, _ = store.create_session(player.id, ip_address="10.1.2.3/16")
    assert session.ip_address == "10.1.2.3/16"
    session, _ = store.create_session(player.id, ip_address="10.1.2.3/32")
    assert session.ip_address == "10.1.2.3"


def test_choices(store):
    room = make_room(store)
    e = expect(InvalidInput, store.list_rooms, status="closed")
    named(e, "status", "waiting, ", "'closed'")
    named(expect(InvalidInput, store.update_room, room.id, status="LOBBY"), "status", "'LOBBY'")
    named(expect(InvalidInput, store.leaderboard, by="losses"), "by", "wins, score", "'losses'")


def test_floats_too_large_to_store_exactly(store):
    e = expect(InvalidInput, store.record_event, "e", {"x": 2.0 ** 60})
    named(e, "data", "too large", "use an int")


def test_an_email_needs_both_sides_of_the_at(store):
    for bad in ("@example.com", "alice@", "alice", "alice@localhost", "al ice@example.com"):
        e = expect(InvalidInput, store.create_player, "emailer", email=bad)
        assert "email" in str(e) and repr(bad) in str(e)
