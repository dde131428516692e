"""Attacks on PostgreSQL as the application role: a fresh role that does not
own the tables, given what it needs by ``liapstore migrate --grant-to``.

The store checks every rule itself (test_contract_security.py); here the
store's checks are bypassed (raw SQL, the table primitives) to show that the
database holds them too, and the identity is shown never to leak across
pooled connections or threads.
"""
import threading
import uuid
from contextlib import nullcontext
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import errors

import liapstore
from liapstore import Forbidden, InvalidInput, NotFound
from liapstore.testing.support import SHORT, make_players, record, script, start

from support.approle import application_role, cli
from test_postgres_round_trips import counting

pytestmark = pytest.mark.backends("postgres")


@pytest.fixture
def app_role(store, store_url):
    """A new LOGIN role granted by ``migrate --grant-to``; yields its URL."""
    with application_role(store_url) as url:
        yield url


@pytest.fixture
def app(app_role):
    with liapstore.connect(app_role, migrate=False) as s:
        yield s


def raw(url):
    return psycopg.connect(url, autocommit=True)


def acting(conn, player_id):
    conn.execute("SELECT set_config('app.user_id', %s, true)", (str(player_id or ""),))


def test_the_application_role_does_not_bypass_row_level_security(app_role):
    user = urlsplit(app_role).username
    with raw(app_role) as conn:
        [(superuser, bypass)] = conn.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user").fetchall()
        owns = conn.execute("SELECT count(*) FROM pg_tables WHERE tableowner = current_user"
                            ).fetchone()[0]
    assert (superuser, bypass, owns) == (False, False, 0), user


def test_another_players_profile_cannot_be_changed(store, app_role):
    alice, bob = make_players(store, 2)
    with raw(app_role) as conn:
        with conn.transaction():
            acting(conn, alice.id)
            # Bob's row is not there to update or delete, for alice.
            assert conn.execute("UPDATE players SET display_name = 'hacked' WHERE id = %s",
                                (bob.id,)).rowcount == 0
            assert conn.execute("DELETE FROM players WHERE id = %s", (bob.id,)).rowcount == 0
            assert conn.execute("UPDATE players SET display_name = 'me' WHERE id = %s",
                                (alice.id,)).rowcount == 1
        for attack in ("UPDATE players SET games_won = 99 WHERE id = %s",     # own statistics
                       "UPDATE players SET id = gen_random_uuid() WHERE id = %s"):
            with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
                acting(conn, alice.id)
                conn.execute(attack, (alice.id,))
        with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
            acting(conn, alice.id)
            conn.execute("INSERT INTO players (username, display_name) VALUES ('sock', 'S')")
    assert store.get_player(bob.id) == bob
    assert store.get_player(alice.id).display_name == "me"
    assert store.get_player(alice.id).games_won == 0


def test_the_server_cannot_change_a_profile_without_the_players_identity(store, app_role):
    alice = make_players(store, 1)[0]
    with raw(app_role) as conn:
        for identity in (None, ""):  # unset, and '' once a setting was used
            with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
                if identity is not None:
                    acting(conn, identity)
                conn.execute("UPDATE players SET settings = '{\"x\": 1}' WHERE id = %s",
                             (alice.id,))
        # Statistics and bookkeeping are the server's.
        assert conn.execute("UPDATE players SET games_played = games_played + 1, "
                            "is_active = false WHERE id = %s", (alice.id,)).rowcount == 1
    assert store.get_player(alice.id).settings == {}


def test_another_players_sessions_and_connections_cannot_be_read(store, app_role):
    alice, bob = make_players(store, 2)
    store.create_session(alice.id)
    bob_session, _ = store.create_session(bob.id)
    store.open_connection(bob.id)
    store.request_friend(bob.id, store.create_player("carol").id)
    with raw(app_role) as conn:
        with conn.transaction():
            acting(conn, alice.id)
            for table in ("player_sessions", "active_connections"):
                seen = conn.execute(f"SELECT player_id FROM {table}").fetchall()
                assert {p for (p,) in seen} <= {alice.id}, table
            assert conn.execute("SELECT count(*) FROM friendships").fetchone()[0] == 0
            assert conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 0
            assert conn.execute("UPDATE player_sessions SET expires_at = now() + interval '9 years' "
                                "WHERE id = %s", (bob_session.id,)).rowcount == 0
            assert conn.execute("DELETE FROM player_sessions").rowcount == 1  # her own
        with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
            acting(conn, alice.id)
            conn.execute("INSERT INTO player_sessions (player_id, token_hash, expires_at) "
                         "VALUES (%s, 'x', now() + interval '1 day')", (bob.id,))
        # The server (no identity) sees them all.
        assert conn.execute("SELECT count(*) FROM player_sessions").fetchone()[0] == 1
    assert [s.id for s in store.list_sessions(bob.id)] == [bob_session.id]


def test_the_audit_trail_cannot_be_forged_or_erased(store, app_role):
    make_players(store, 1)
    with raw(app_role) as conn:
        for attack in ("INSERT INTO audit_log (table_name, operation) VALUES ('players', 'X')",
                       "DELETE FROM audit_log", "UPDATE audit_log SET user_id = NULL",
                       "TRUNCATE audit_log"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(attack)
    assert len(store.list_audit_log().items) == 1


def test_the_store_as_the_application_role_is_held_by_the_database(store, app):
    """The store's own checks bypassed (the table primitives): the database refuses."""
    alice, bob = make_players(app, 2)
    app.create_session(bob.id)
    with app.acting_as(alice.id):
        assert app._update("players", [("id", "=", bob.id)], {"display_name": "x"}) == 0
        assert app._select("player_sessions", [], ()) == []
        with pytest.raises(Forbidden):
            app._update("players", [("id", "=", alice.id)], {"games_won": 5})
        with pytest.raises(Forbidden):
            app._insert("player_sessions", {"id": uuid.uuid4(), "player_id": bob.id,
                                            "token_hash": "f" * 64,
                                            "created_at": alice.created_at,
                                            "expires_at": alice.created_at})
    with pytest.raises(Forbidden):
        app._update("players", [("id", "=", alice.id)], {"display_name": "server"})
    assert app.get_player(bob.id) == bob
    # The same Store goes on working after each refusal.
    with app.acting_as(alice.id):
        assert app.update_player(alice.id, display_name="Alice").display_name == "Alice"


def test_no_identity_is_left_on_a_pooled_connection(store_url, app_role):
    with liapstore.connect(app_role + "?max_connections=1", migrate=False) as app:
        alice, bob = make_players(app, 2)
        app.create_session(bob.id)

        def setting():
            with app.translate_errors():
                return app.db.execute_sql(
                    "SELECT current_setting('app.user_id', true)").fetchone()[0]

        with app.acting_as(alice.id):
            assert setting() == str(alice.id)          # outside a transaction
            with app.transaction():
                assert setting() == str(alice.id)      # inside one, set with BEGIN
            with pytest.raises(Forbidden), app.transaction():
                app.update_player(bob.id, is_active=False)
        # The one pooled connection served alice; now it serves the server.
        assert setting() in ("", None)
        assert len(app._select("player_sessions", [], ())) == 1
        with pytest.raises(Forbidden):
            app._update("players", [("id", "=", alice.id)], {"display_name": "leaked?"})


def test_no_identity_crosses_threads(app_role):
    with liapstore.connect(app_role + "?max_connections=4", migrate=False) as app:
        alice, bob = make_players(app, 2)
        app.create_session(bob.id)
        holding, seen = threading.Barrier(2, timeout=30), {}

        def player():
            with app.acting_as(alice.id), app.transaction():
                app._select("players", [], (), limit=1)  # BEGIN sent, identity set
                holding.wait()   # the server works while alice's transaction is open
                holding.wait()
                seen["alice"] = len(app._select("player_sessions", [], ()))

        thread = threading.Thread(target=player)
        thread.start()
        holding.wait()
        seen["server"] = len(app._select("player_sessions", [], ()))
        with app.translate_errors():
            seen["setting"] = app.db.execute_sql(
                "SELECT current_setting('app.user_id', true)").fetchone()[0]
        holding.wait()
        thread.join(30)
    assert seen == {"alice": 0, "server": 1, "setting": None} or \
        seen == {"alice": 0, "server": 1, "setting": ""}


def test_acting_as_adds_no_round_trip(store_url):
    """A read, a write in a transaction and a recorded game, counted in the
    protocol: the same round trips as the server's own work."""
    with liapstore.connect(store_url + "?max_connections=1") as s:
        with s.db.connection_context():
            conn = s.db.connection()
        counts = {}
        for who in ("server", "player"):
            table = start(s, code=f"RT-{who}", **SHORT)
            alice = table.players[0]
            with counting(conn) as box:
                with s.acting_as(alice.id, "192.0.2.1") if who == "player" else nullcontext():
                    s.get_player(table.players[1].id)
                    with s.transaction():
                        s.update_player(alice.id, is_active=False)
                    record(s, table.game.id, script(3).steps)
            counts[who] = box[0]
    assert counts["player"] == counts["server"], counts


def test_recording_and_simulating_work_as_the_application_role(app_role):
    out = cli("simulate", "--games", "3", "--seed", "5", "--url", app_role)
    assert "3" in out
    assert "0 with disagreements" in cli("verify", "--all", "--stats", "--url", app_role)
    with liapstore.connect(app_role, migrate=False) as app:
        players = app.list_players().items
        assert players and all(p.games_played > 0 for p in players if not p.username.startswith("bot"))
        assert app.verify_stats() == []


def test_maintenance_is_the_owners_and_new_partitions_take_writes(store, store_url, app_role):
    with liapstore.connect(app_role, migrate=False) as app:
        with pytest.raises(Forbidden):  # it may not refresh the owner's materialized view
            app.maintain()
    # The owner creates partitions further ahead (maintain, run from cron);
    # the application role writes into them.
    with raw(store_url) as conn:
        conn.execute("SELECT liapstore_ensure_analytics_partitions('2031-01-01', 2)")
    when = "2031-01-15T10:00:00+00:00"
    with raw(app_role) as conn:
        conn.execute("INSERT INTO analytics_events (event_type, event_data, timestamp) "
                     "VALUES ('later', '{}', %s)", (when,))
        conn.execute("INSERT INTO analytics_events_2031_01 (event_type, event_data, timestamp) "
                     "VALUES ('direct', '{}', %s)", (when,))
        assert conn.execute("SELECT count(*) FROM analytics_events_2031_01").fetchone()[0] == 2


def test_grant_to_refuses_roles_that_would_bypass_it(store, store_url):
    with pytest.raises(InvalidInput):
        store.grant_to("postgres")
    with pytest.raises(NotFound):
        store.grant_to(f"nobody_{uuid.uuid4().hex[:8]}")
    with liapstore.connect("memory://") as memory, pytest.raises(InvalidInput):
        memory.grant_to("anyone")


def test_erasure_is_the_owners_and_the_application_role_is_refused_whole(store, app):
    # Erasing scrubs the audit trail, which the application role can only
    # read: on PostgreSQL erasure is an operator's job (like maintain), run
    # with the owner's URL. The application role gets Forbidden, and nothing
    # of the erasure stays behind.
    alice = store.create_player("erase_me", email="erase.me@example.com")
    with pytest.raises(Forbidden):
        app.erase_player(alice.id)
    with pytest.raises(Forbidden), app.acting_as(alice.id):
        app.erase_player(alice.id)
    assert app.get_player(alice.id).email == "erase.me@example.com"
    assert store.erased_at(alice.id) is None
    report = store.erase_player(alice.id)
    assert report["removed"]["email_key"] == 1
    assert app.get_player(alice.id).email is None and app.erased_at(alice.id) is not None
