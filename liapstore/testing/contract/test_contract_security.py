"""Acting as someone (``store.acting_as``): who may do what, on every backend.

Each test tries to break one rule of liapstore/security.py and expects the
same refusal everywhere: ``Forbidden`` for an explicit request about another
player, ``NotFound`` for another player's session or connection (as if it did
not exist), and nothing written. The store checks these itself on every
backend; PostgreSQL holds them a second time for an application role
(tests/postgres/test_postgres_rls.py attacks that).
"""
import threading
import uuid
from datetime import datetime, timedelta

import pytest

from liapstore import Forbidden, InvalidInput, NotFound
from liapstore.security import secret_column
from liapstore.schema.models import PlayerSession, Room as RoomModel
from liapstore.testing.support import SHORT, make_players, record, rows, script, start, update_own


def test_outside_acting_as_the_store_is_the_server(store):
    assert store.acting_player is None
    alice, bob = make_players(store, 2)
    with store.acting_as(alice.id, "192.0.2.1"):
        assert store.acting_player == alice.id
        with store.acting_as(bob.id):
            assert store.acting_player == bob.id
        assert store.acting_player == alice.id
    assert store.acting_player is None


def test_a_player_changes_only_their_own_profile(store):
    alice, bob = make_players(store, 2)
    before = rows(store)
    with store.acting_as(alice.id):
        for change in ({"display_name": "hacked"}, {"settings": {"x": 1}},
                       {"email": "mine@mail.example"}, {"is_active": False},
                       {"last_seen": alice.last_seen}):
            with pytest.raises(Forbidden):
                store.update_player(bob.id, **change)
        assert store.update_player(alice.id, display_name="Alice A.").display_name == "Alice A."
    assert store.get_player(bob.id) == bob
    assert rows(store) == {**before, "audit_log": before["audit_log"] + 1}


def test_the_server_does_not_change_a_profile_on_a_players_behalf(store):
    alice = make_players(store, 1)[0]
    for change in ({"display_name": "renamed"}, {"settings": {}}, {"email": None}):
        with pytest.raises(Forbidden):
            store.update_player(alice.id, **change)
    assert store.get_player(alice.id) == alice
    # Bookkeeping is the server's as well as the player's.
    assert store.update_player(alice.id, is_active=False).is_active is False
    assert store.update_player(alice.id, last_seen=alice.created_at).last_seen == alice.created_at
    # Bad input is still InvalidInput first, whoever asks.
    with pytest.raises(InvalidInput):
        store.update_player(alice.id, display_name="")


def test_a_player_does_not_create_players(store):
    alice = make_players(store, 1)[0]
    with store.acting_as(alice.id), pytest.raises(Forbidden):
        store.create_player("sockpuppet")
    with pytest.raises(NotFound):
        store.get_player_by_username("sockpuppet")


def test_a_player_sees_and_ends_only_their_own_sessions(store):
    alice, bob = make_players(store, 2)
    with store.acting_as(bob.id):
        bob_session, bob_token = store.create_session(bob.id, ttl=timedelta(seconds=1))
    alice_session, alice_token = store.create_session(alice.id)  # the server logs alice in
    with store.acting_as(alice.id):
        with pytest.raises(Forbidden):
            store.list_sessions(bob.id)
        with pytest.raises(Forbidden):
            store.create_session(bob.id)
        with pytest.raises(NotFound):
            store.get_session(bob_token)
        with pytest.raises(NotFound):
            store.delete_session(bob_session.id)
        # Purging as alice purges alice's only (bob's has expired by then).
        assert store.delete_expired_sessions(now=bob_session.expires_at + timedelta(days=1)) == 0
        assert store.get_session(alice_token) == alice_session
        assert [s.id for s in store.list_sessions(alice.id)] == [alice_session.id]
    # The server sees both, and bob's is still there.
    # (Its expiry may have slid since: compare what does not move.)
    assert (store.get_session(bob_token).id, store.get_session(bob_token).player_id) == \
        (bob_session.id, bob.id)
    assert {s.id for s in store.list_sessions(bob.id)} == {bob_session.id}


def test_a_player_sees_and_closes_only_their_own_connections(store):
    alice, bob = make_players(store, 2)
    mine = store.open_connection(alice.id)
    theirs = store.open_connection(bob.id)
    anonymous = store.open_connection()
    with store.acting_as(alice.id):
        assert [c.connection_id for c in store.list_connections()] == [mine.connection_id]
        with pytest.raises(Forbidden):
            store.list_connections(player_id=bob.id)
        with pytest.raises(Forbidden):
            store.open_connection(bob.id)
        with pytest.raises(Forbidden):
            store.open_connection()
        for call in (store.get_connection, store.close_connection, store.heartbeat):
            with pytest.raises(NotFound):
                call(theirs.connection_id)
        assert store.sweep_stale_connections(timedelta(seconds=1), now=theirs.last_heartbeat
                                             + timedelta(hours=1)) == 1
    assert {c.connection_id for c in store.list_connections()} == {
        theirs.connection_id, anonymous.connection_id}


def test_a_player_acts_only_in_their_own_friendships(store):
    alice, bob, carol = make_players(store, 3)
    store.request_friend(bob.id, carol.id)
    with store.acting_as(alice.id):
        for call, args in ((store.request_friend, (bob.id, alice.id)),
                           (store.accept_friend, (carol.id, bob.id)),
                           (store.block, (bob.id, alice.id)),
                           (store.list_friends, (bob.id,)),
                           (store.list_friend_requests, (carol.id,)),
                           (store.list_blocked, (bob.id,))):
            with pytest.raises(Forbidden):
                call(*args)
        with pytest.raises(Forbidden):
            store.list_players(viewer=bob.id)
        store.request_friend(alice.id, bob.id)
    with store.acting_as(bob.id):
        store.accept_friend(bob.id, alice.id)
        assert [p.id for p in store.list_friends(bob.id)] == [alice.id]
    assert [f.friend_id for f in store.list_friend_requests(carol.id)] == [carol.id]


def test_recording_as_a_player_updates_every_seated_players_statistics(store):
    table = start(store, **SHORT)
    with store.acting_as(table.players[0].id, "198.51.100.7"):
        record(store, table.game.id, script(3).steps)
    assert [store.get_player(p.id).games_played for p in table.players] == [1, 1, 1, 1]
    # Recorded as the server, from the player's address.
    last = store.list_audit_log(table_name="players").items[-1]
    assert (last.user_id, last.ip_address) == (None, "198.51.100.7")


def test_the_identity_belongs_to_its_thread(store):
    alice = make_players(store, 1)[0]
    inside, seen = threading.Barrier(2, timeout=30), {}

    def other():
        inside.wait()  # while the main thread acts as alice
        seen["actor"] = store.acting_player
        try:
            store.update_player(alice.id, display_name="from another thread")
        except Forbidden:
            seen["refused"] = True

    thread = threading.Thread(target=other)
    thread.start()
    with store.acting_as(alice.id):
        inside.wait()
        thread.join(30)
        assert store.acting_player == alice.id
    assert seen == {"actor": None, "refused": True}
    assert store.get_player(alice.id).display_name == alice.display_name


def test_the_identity_may_change_inside_a_transaction(store):
    alice, bob = make_players(store, 2)
    with store.transaction():
        update_own(store, alice.id, display_name="A")
        update_own(store, bob.id, display_name="B")
        store.update_player(alice.id, is_active=False)  # the server again
    updates = [e for e in store.list_audit_log(table_name="players").items
               if e.operation == "UPDATE"]
    assert [(e.user_id, e.changed_data["display_name"]) for e in updates] == [
        (alice.id, "A"), (bob.id, "B"), (None, "A")]


def test_a_failed_call_leaves_the_identity_as_it_was(store):
    alice, bob = make_players(store, 2)
    with store.acting_as(alice.id):
        with pytest.raises(Forbidden):
            with store.transaction():
                with store.acting_as(bob.id):
                    store.update_player(bob.id, display_name="B")
                store.update_player(bob.id, display_name="again")
        assert store.acting_player == alice.id
        assert store.update_player(alice.id, display_name="A").display_name == "A"
    assert store.get_player(bob.id).display_name == bob.display_name
    entry = store.list_audit_log(table_name="players").items[-1]
    assert (entry.user_id, entry.changed_data["display_name"]) == (alice.id, "A")


def test_acting_as_checks_its_arguments(store):
    for bad in (None, "nobody", 7):
        with pytest.raises(InvalidInput):
            with store.acting_as(bad):
                pass
    alice = make_players(store, 1)[0]
    with pytest.raises(InvalidInput):
        with store.acting_as(alice.id, "999.1.1.1"):
            pass
    assert store.acting_player is None


# -- the audit trail names the actor, on players, sessions and rooms -------------------


def test_audit_names_the_actor_and_address_of_sessions_and_rooms(store):
    alice = make_players(store, 1)[0]
    with store.acting_as(alice.id, "2001:db8::7"):
        session, token = store.create_session(alice.id, ip_address="203.0.113.5", user_agent="ua")
        stored = row_payload(store, "player_sessions", session.id)
        store.delete_session(session.id)
    room = store.create_room("AUD1", "Audited room", created_by=alice.id,
                             game_settings={"speed": "fast"})
    room = store.update_room(room.id, is_public=False)
    sessions = store.list_audit_log(table_name="player_sessions").items
    assert [(e.operation, e.user_id, e.ip_address) for e in sessions] == [
        ("INSERT", alice.id, "2001:db8::7"), ("DELETE", alice.id, "2001:db8::7")]
    hidden = {c for c in PlayerSession._meta.columns if secret_column(c)}
    assert hidden >= {"token_hash"}
    assert stored["ip_address"] == "203.0.113.5" and stored["user_agent"] == "ua"
    for e in sessions:
        assert e.changed_data == stored
        assert token not in repr(e.changed_data) and not hidden & set(e.changed_data)
    rooms = store.list_audit_log(table_name="rooms").items
    assert [(e.operation, e.user_id) for e in rooms] == [("INSERT", None), ("UPDATE", None)]
    assert rooms[-1].changed_data == row_payload(store, "rooms", room.id)
    assert rooms[-1].changed_data["is_public"] is False
    assert rooms[-1].changed_data["game_settings"] == {"speed": "fast"}
    assert set(rooms[-1].changed_data) == set(RoomModel._meta.columns)


def test_audit_listing_filters_and_belongs_to_the_server(store):
    alice, bob = make_players(store, 2)
    update_own(store, alice.id, display_name="A")
    update_own(store, bob.id, display_name="B")
    mine = store.list_audit_log(user_id=alice.id).items
    assert [(e.table_name, e.changed_data["display_name"]) for e in mine] == [("players", "A")]
    everything = store.list_audit_log().items
    assert store.list_audit_log(since=everything[-1].timestamp).items[-1] == everything[-1]
    assert store.list_audit_log(since=everything[-1].timestamp + timedelta(days=1)).items == ()
    with store.acting_as(alice.id), pytest.raises(Forbidden):
        store.list_audit_log()


def row_payload(store, table, key):
    """What the audit trail holds for the row of ``table`` with id ``key``, as
    it now is: every column but the secret ones, ids as text, times as
    fixed-width UTC text, JSON and booleans as they are."""
    [row] = store._select(table, [("id", "=", key)], ())
    def form(x):
        if isinstance(x, uuid.UUID):
            return str(x)
        if isinstance(x, datetime):
            return x.isoformat(sep=" ", timespec="microseconds")
        return x
    return {c: form(x) for c, x in row.items() if not secret_column(c)}


def test_sessions_deleted_with_their_player_are_audited(store):
    alice = make_players(store, 1)[0]
    session, _ = store.create_session(alice.id)
    assert store._delete("players", [("id", "=", alice.id)]) == 1  # the store never does this
    # In either order: PostgreSQL runs the cascade after the player's own row.
    entries = store.list_audit_log().items[-2:]
    assert sorted((e.table_name, e.operation, e.changed_data["id"]) for e in entries) == [
        ("player_sessions", "DELETE", str(session.id)), ("players", "DELETE", str(alice.id))]
