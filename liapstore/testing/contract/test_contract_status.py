"""status(), migrate(), maintain(), closing, and durability across reopening."""
import pytest

import liapstore
from liapstore.schema import migrations
from liapstore.schema.models import BY_TABLE
from liapstore.testing.support import SHORT, play_recorded, rows, update_own

# status() counts every table the schema has (the models list them all).
TABLES = set(BY_TABLE)


def test_status_of_a_new_store(store):
    st = store.status()
    latest = len(migrations.names())
    assert st["schema_version"] == st["latest_schema_version"] == latest
    assert store.schema_version() == (latest, latest)
    assert isinstance(st["backend"], str) and st["backend"]
    assert st["durable"] is store.durable
    assert set(st["rows"]) == TABLES
    assert all(n == 0 for n in st["rows"].values())
    assert isinstance(st["url"], str)


def test_status_counts_rows(store):
    table, sc, game = play_recorded(store, 0)
    p = table.players[0]
    store.create_session(p.id)
    store.open_connection(p.id)
    store.record_event("x")
    counts = rows(store)
    assert counts["players"] == 4
    assert counts["rooms"] == 1
    assert counts["games"] == 1
    assert counts["game_players"] == 4
    assert counts["player_actions"] == len(sc.steps)
    assert counts["rounds"] == len(store.list_rounds(game.id)) == sc.game_over["rounds"]
    assert counts["turns"] == len(store.list_turns(game.id)) == len(sc.events("turn_result"))
    assert counts["player_sessions"] == 1
    assert counts["active_connections"] == 1
    # The one recorded here, and the game's lifecycle: started, each redeal,
    # each round scored, finished.
    redeals = sum(a["type"] == "deal" for a in sc.actions) - sc.game_over["rounds"]
    assert counts["analytics_events"] == 1 + 1 + redeals + sc.game_over["rounds"] + 1
    # Players: four INSERTs, and one UPDATE each when the game's statistics
    # were written; the room: made, its game started, its game over; the session.
    audit = store.list_audit_log(limit=1000).items
    assert counts["audit_log"] == len(audit) == 4 + 4 + 3 + 1
    assert sorted((e.table_name, e.operation) for e in audit) == sorted(
        [("players", "INSERT")] * 4 + [("players", "UPDATE")] * 4
        + [("rooms", "INSERT")] + [("rooms", "UPDATE")] * 2 + [("player_sessions", "INSERT")])


def test_migrate_is_idempotent(store):
    assert store.migrate() == []
    assert store.migrate() == []
    latest = len(migrations.names())
    assert store.schema_version() == (latest, latest)


def test_maintain_reports_what_it_did(store):
    first = store.maintain()
    assert set(first) == {"partitions_created", "expired_sessions_deleted", "leaderboard_refreshed"}
    assert first["expired_sessions_deleted"] == 0
    again = store.maintain()
    assert again["partitions_created"] == 0
    assert again["expired_sessions_deleted"] == 0


def test_repr_and_context_manager(store_url):
    with liapstore.connect(store_url) as s:
        assert s.url in repr(s) or "***" in repr(s)
        s.create_player("alice")


@pytest.mark.durable
def test_data_survives_reopening(store_url):
    with liapstore.connect(store_url) as s:
        assert s.durable is True
        table, sc, game = play_recorded(s, 4)
        p = s.create_player("alice", email="alice@example.org", settings={"k": [1, "ü"]})
        session, token = s.create_session(p.id)
        conn = s.open_connection(p.id, room_id=table.room.id)
        event = s.record_event("e", {"a": 1}, player_id=p.id)
        counts = rows(s)
        players = {x.id: x for x in s.list_players(limit=100)}
    with liapstore.connect(store_url) as s:
        assert rows(s) == counts
        assert s.get_player(p.id) == p
        assert {x.id: x for x in s.list_players(limit=100)} == players
        assert s.get_session(token) == session
        assert s.get_connection(conn.connection_id) == conn
        assert s.list_events(event_type="e").items == (event,)
        assert s.get_game(game.id) == game
        assert [a.action_data for a in s.list_actions(game.id)] == sc.actions
        assert s.verify_game(game.id) == []
        assert s.migrate() == []


@pytest.mark.durable
def test_two_stores_on_one_database_see_each_other(store_url):
    with liapstore.connect(store_url) as a, liapstore.connect(store_url) as b:
        p = a.create_player("alice")
        assert b.get_player(p.id) == p
        update_own(b, p.id, display_name="Alice B.")
        assert a.get_player(p.id).display_name == "Alice B."
        table, sc, game = play_recorded(a, 2, settings=SHORT)
        assert b.get_game(game.id) == game
        assert b.verify_game(game.id) == []


@pytest.mark.durable
def test_a_failed_transaction_is_not_durable(store_url):
    class Boom(Exception):
        pass

    with liapstore.connect(store_url) as s:
        with pytest.raises(Boom):
            with s.transaction():
                s.create_player("ghost")
                raise Boom()
        s.create_player("real")
    with liapstore.connect(store_url) as s:
        assert [p.username for p in s.list_players()] == ["real"]
