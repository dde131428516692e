"""SQLite's audit actor: the one-row table liapstore_actor, filled before a
write to an audited table in a transaction with an identity, and empty again
when that transaction ends."""
import sqlite3
import threading

import pytest

from liapstore.testing.support import make_players, update_own

pytestmark = pytest.mark.backends("sqlite")


def raw(store):
    return sqlite3.connect(store.path, isolation_level=None)


def test_the_actor_row_is_empty_outside_the_stores_transactions(store):
    alice = make_players(store, 1)[0]
    update_own(store, alice.id, display_name="A")           # one statement, given a transaction
    with store.acting_as(alice.id, "192.0.2.3"), store.transaction():
        store.update_player(alice.id, display_name="B")
        # Inside: what the triggers read. Another connection sees the last commit: empty.
        assert store.db.execute_sql("SELECT user_id, ip_address FROM liapstore_actor"
                                    ).fetchall() == [(str(alice.id), "192.0.2.3")]
        conn = raw(store)
        try:
            assert conn.execute("SELECT count(*) FROM liapstore_actor").fetchone()[0] == 0
        finally:
            conn.close()
    conn = raw(store)
    try:
        assert conn.execute("SELECT count(*) FROM liapstore_actor").fetchone()[0] == 0
        # A write behind the store's back is audited too, naming no one.
        conn.execute("UPDATE players SET display_name = 'raw' WHERE id = ?", (str(alice.id),))
    finally:
        conn.close()
    entries = store.list_audit_log(table_name="players").items
    assert [(e.user_id, e.changed_data["display_name"]) for e in entries[1:]] == [
        (alice.id, "A"), (alice.id, "B"), (None, "raw")]
    assert entries[2].ip_address == "192.0.2.3"


def test_a_rolled_back_transaction_leaves_no_actor(store):
    alice = make_players(store, 1)[0]
    with pytest.raises(RuntimeError), store.acting_as(alice.id), store.transaction():
        store.update_player(alice.id, display_name="gone")
        raise RuntimeError
    assert store.db.execute_sql("SELECT count(*) FROM liapstore_actor").fetchone()[0] == 0
    store.update_player(alice.id, is_active=False)  # the server's write names no one
    assert store.list_audit_log().items[-1].user_id is None


def test_concurrent_writers_each_name_their_own_actor(store):
    players = make_players(store, 4)
    barrier = threading.Barrier(len(players), timeout=30)

    def work(p):
        barrier.wait()
        for i in range(10):
            update_own(store, p.id, display_name=f"{p.username}-{i}")

    threads = [threading.Thread(target=work, args=(p,)) for p in players]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    updates = [e for e in store.list_audit_log(limit=1000).items if e.operation == "UPDATE"]
    assert len(updates) == 40
    by_id = {str(p.id): p.id for p in players}
    assert all(e.user_id == by_id[e.changed_data["id"]] for e in updates)


def test_a_failed_inner_block_does_not_lose_the_actor(store):
    alice = make_players(store, 1)[0]
    with store.acting_as(alice.id), store.transaction():
        with pytest.raises(RuntimeError), store.transaction():
            store.update_player(alice.id, display_name="undone")  # names the actor, then undone
            raise RuntimeError
        store.update_player(alice.id, display_name="kept")
    last = store.list_audit_log().items[-1]
    assert (last.user_id, last.changed_data["display_name"]) == (alice.id, "kept")
    assert store.db.execute_sql("SELECT count(*) FROM liapstore_actor").fetchone()[0] == 0
