"""Login sessions and WebSocket connections."""
import dataclasses
import time
import uuid
from datetime import datetime, timedelta, timezone

import liapstore
from liapstore import Conflict, InvalidInput, NotFound
from liapstore.testing.support import expect, rows

UTC = timezone.utc


def test_create_and_get_session(store):
    p = store.create_player("alice")
    before = datetime.now(UTC)
    session, token = store.create_session(p.id, ttl=timedelta(hours=2), ip_address="203.0.113.7",
                                          user_agent="Mozilla/5.0 (X11)")
    assert isinstance(session, liapstore.Session) and isinstance(session.id, uuid.UUID)
    assert isinstance(token, str) and len(token) >= 32
    assert session.player_id == p.id
    assert before <= session.created_at <= datetime.now(UTC)
    assert session.expires_at - session.created_at == timedelta(hours=2)
    assert (session.ip_address, session.user_agent) == ("203.0.113.7", "Mozilla/5.0 (X11)")
    assert store.get_session(token) == session
    # The token is returned once and is nowhere in what the store hands back.
    assert token not in repr(session)
    assert token not in repr(store.list_sessions(p.id))
    assert all(token not in str(v) for v in dataclasses.asdict(session).values())


def test_tokens_are_unique_and_sessions_independent(store):
    p = store.create_player("alice")
    made = [store.create_session(p.id) for _ in range(5)]
    assert len({t for _, t in made}) == 5
    for s, t in made:
        assert store.get_session(t).id == s.id
    assert [s.id for s in store.list_sessions(p.id)] == [s.id for s, _ in made]


def test_unknown_tokens(store):
    p = store.create_player("alice")
    _, token = store.create_session(p.id)
    for bad in (token + "x", token[:-1], token.upper() if token.upper() != token else token + "A",
                "nothing", " " + token):
        expect(NotFound, store.get_session, bad)
    # Malformed tokens are refused as unknown ones are: see test_contract_sessions_expiry.py.


def test_expired_sessions(store):
    p = store.create_player("alice")
    short, short_token = store.create_session(p.id, ttl=0.05)
    long, long_token = store.create_session(p.id, ttl=timedelta(days=1))
    time.sleep(0.1)
    expect(NotFound, store.get_session, short_token)
    assert store.get_session(long_token) == long
    # Expired sessions are still listed until swept.
    assert [s.id for s in store.list_sessions(p.id)] == [short.id, long.id]
    assert store.delete_expired_sessions() == 1
    assert [s.id for s in store.list_sessions(p.id)] == [long.id]
    assert store.delete_expired_sessions() == 0
    # "now" can be given: everything expires in a year.
    assert store.delete_expired_sessions(now=datetime.now(UTC) + timedelta(days=365)) == 1
    assert store.list_sessions(p.id) == []
    expect(NotFound, store.get_session, long_token)


def test_delete_expired_sessions_uses_the_given_now(store):
    p = store.create_player("alice")
    s1, _ = store.create_session(p.id, ttl=timedelta(hours=1))
    s2, t2 = store.create_session(p.id, ttl=timedelta(hours=3))
    assert store.delete_expired_sessions(now=s1.expires_at - timedelta(seconds=1)) == 0
    assert store.delete_expired_sessions(now=s1.expires_at) == 1
    assert store.get_session(t2) == s2
    expect(InvalidInput, store.delete_expired_sessions, now=datetime(2030, 1, 1))
    expect(InvalidInput, store.delete_expired_sessions, now="tomorrow")


def test_maintain_drops_expired_sessions(store):
    p = store.create_player("alice")
    store.create_session(p.id, ttl=0.01)
    _, live = store.create_session(p.id)
    time.sleep(0.05)
    done = store.maintain()
    assert done["expired_sessions_deleted"] == 1
    assert len(store.list_sessions(p.id)) == 1
    store.get_session(live)


def test_delete_session(store):
    p = store.create_player("alice")
    s, token = store.create_session(p.id)
    other, other_token = store.create_session(p.id)
    store.delete_session(s.id)
    expect(NotFound, store.get_session, token)
    expect(NotFound, store.delete_session, s.id)
    expect(NotFound, store.delete_session, uuid.uuid4())
    expect(InvalidInput, store.delete_session, token)
    assert store.get_session(other_token) == other
    assert [x.id for x in store.list_sessions(p.id)] == [other.id]


def test_list_sessions_per_player(store):
    a, b = store.create_player("alice"), store.create_player("bob")
    sa1, _ = store.create_session(a.id)
    sb, _ = store.create_session(b.id)
    sa2, _ = store.create_session(a.id)
    assert [s.id for s in store.list_sessions(a.id)] == [sa1.id, sa2.id]
    assert [s.id for s in store.list_sessions(b.id)] == [sb.id]
    assert store.list_sessions(uuid.uuid4()) == []
    expect(InvalidInput, store.list_sessions, "alice")


def test_bad_session_arguments_write_nothing(store):
    p = store.create_player("alice")
    counts = rows(store)
    expect(NotFound, store.create_session, uuid.uuid4())
    for kwargs in ({"ttl": 0}, {"ttl": -5}, {"ttl": timedelta(0)}, {"ttl": "1h"},
                   {"ip_address": "999.1.1.1"}, {"ip_address": "localhost"}, {"ip_address": 127},
                   {"user_agent": "x" * 1001}, {"user_agent": 5}):
        expect(InvalidInput, store.create_session, p.id, **kwargs)
    expect(InvalidInput, store.create_session, "alice")
    assert rows(store) == counts


def test_ip_addresses_read_back_as_written(store):
    p = store.create_player("alice")
    for ip in ("127.0.0.1", "::1", "2001:db8::1", "10.0.0.0/8", "192.168.1.5/24",
               "0:0:0:0:0:0:0:1", "2001:DB8::1", "1.2.3.4/32"):
        session, token = store.create_session(p.id, ip_address=ip)
        # What create_session returned is what the store keeps.
        assert store.get_session(token).ip_address == session.ip_address, ip
        assert store.list_sessions(p.id)[-1].ip_address == session.ip_address, ip


def test_sessions_need_an_existing_player(store):
    expect(NotFound, store.create_session, uuid.uuid4())
    assert rows(store)["player_sessions"] == 0


# -- connections -------------------------------------------------------------------------


def test_open_get_close_connection(store):
    p = store.create_player("alice")
    room = store.create_room("R1", "Room")
    before = datetime.now(UTC)
    c = store.open_connection(p.id, room_id=room.id, ip_address="198.51.100.2", user_agent="ua")
    assert isinstance(c, liapstore.Connection) and isinstance(c.connection_id, uuid.UUID)
    assert (c.player_id, c.room_id, c.ip_address, c.user_agent) == (p.id, room.id, "198.51.100.2", "ua")
    assert before <= c.connected_at == c.last_heartbeat <= datetime.now(UTC)
    assert store.get_connection(c.connection_id) == c
    store.close_connection(c.connection_id)
    expect(NotFound, store.get_connection, c.connection_id)
    expect(NotFound, store.close_connection, c.connection_id)


def test_connection_with_a_given_id_and_no_player(store):
    cid = uuid.uuid4()
    c = store.open_connection(connection_id=cid)
    assert (c.connection_id, c.player_id, c.room_id) == (cid, None, None)
    assert store.get_connection(str(cid)) == c
    expect(Conflict, store.open_connection, connection_id=cid)
    assert rows(store)["active_connections"] == 1


def test_bad_connections_write_nothing(store):
    p = store.create_player("alice")
    counts = rows(store)
    expect(NotFound, store.open_connection, uuid.uuid4())
    expect(NotFound, store.open_connection, p.id, room_id=uuid.uuid4())
    expect(InvalidInput, store.open_connection, "alice")
    expect(InvalidInput, store.open_connection, p.id, ip_address="nope")
    expect(InvalidInput, store.open_connection, p.id, connection_id="nope")
    assert rows(store) == counts


def test_heartbeat(store):
    p = store.create_player("alice")
    r1, r2 = store.create_room("R1", "One"), store.create_room("R2", "Two")
    c = store.open_connection(p.id, room_id=r1.id)
    time.sleep(0.01)
    h = store.heartbeat(c.connection_id)
    assert h.last_heartbeat > c.last_heartbeat
    assert (h.connected_at, h.room_id) == (c.connected_at, r1.id)
    assert store.get_connection(c.connection_id) == h
    moved = store.heartbeat(c.connection_id, room_id=r2.id)
    assert moved.room_id == r2.id and moved.last_heartbeat >= h.last_heartbeat
    left = store.heartbeat(c.connection_id, room_id=None)
    assert left.room_id is None and store.get_connection(c.connection_id) == left
    expect(NotFound, store.heartbeat, uuid.uuid4())
    expect(NotFound, store.heartbeat, c.connection_id, room_id=uuid.uuid4())
    assert store.get_connection(c.connection_id) == left


def test_list_connections(store):
    a, b = store.create_player("alice"), store.create_player("bob")
    r1, r2 = store.create_room("R1", "One"), store.create_room("R2", "Two")
    c1 = store.open_connection(a.id, room_id=r1.id)
    c2 = store.open_connection(b.id, room_id=r1.id)
    c3 = store.open_connection(a.id, room_id=r2.id)
    c4 = store.open_connection()
    ids = lambda cs: [c.connection_id for c in cs]  # noqa: E731
    assert ids(store.list_connections()) == ids([c1, c2, c3, c4])
    assert ids(store.list_connections(player_id=a.id)) == ids([c1, c3])
    assert ids(store.list_connections(room_id=r1.id)) == ids([c1, c2])
    assert ids(store.list_connections(player_id=a.id, room_id=r2.id)) == ids([c3])
    assert store.list_connections(player_id=b.id, room_id=r2.id) == []
    store.close_connection(c1.connection_id)
    assert ids(store.list_connections(room_id=r1.id)) == ids([c2])


def test_sweep_stale_connections(store):
    p = store.create_player("alice")
    stale1 = store.open_connection(p.id)
    stale2 = store.open_connection()
    time.sleep(0.01)
    cutoff = datetime.now(UTC)
    time.sleep(0.01)
    fresh = store.open_connection(p.id)
    revived = store.open_connection(p.id)
    time.sleep(0.01)
    # stale2 connected before the cutoff but has a heartbeat after it:
    # heartbeats count, not connection times.
    refreshed = store.heartbeat(stale2.connection_id)
    assert refreshed.last_heartbeat > cutoff

    swept = store.sweep_stale_connections(timedelta(seconds=30), now=cutoff + timedelta(seconds=30))
    assert swept == 1
    left = {c.connection_id for c in store.list_connections()}
    assert left == {stale2.connection_id, fresh.connection_id, revived.connection_id}
    expect(NotFound, store.get_connection, stale1.connection_id)
    assert store.sweep_stale_connections(timedelta(seconds=30), now=cutoff + timedelta(seconds=30)) == 0
    # With the default "now", nothing is a minute old yet.
    assert store.sweep_stale_connections() == 0
    assert store.sweep_stale_connections(older_than=60, now=datetime.now(UTC) + timedelta(minutes=5)) == 3
    assert store.list_connections() == []
    expect(InvalidInput, store.sweep_stale_connections, timedelta(0))
    expect(InvalidInput, store.sweep_stale_connections, now=datetime(2030, 1, 1))
