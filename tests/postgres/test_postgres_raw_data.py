"""What PostgreSQL really holds, read and written with a second, raw
connection: tokens are never stored, corruption is detected, and the
database itself enforces the schema's rules."""
import hashlib
import uuid

import psycopg
import pytest
from psycopg import errors
from psycopg.types.json import Jsonb

from liapstore.testing.support import assert_detects, corruption_cases, make_players, start

pytestmark = pytest.mark.backends("postgres")


def raw(url):
    return psycopg.connect(url, autocommit=True)


def test_session_tokens_are_never_stored(store, store_url):
    p = store.create_player("alice")
    made = [store.create_session(p.id, user_agent="ua", ip_address="10.1.2.3") for _ in range(3)]
    with raw(store_url) as conn:
        cur = conn.execute("SELECT * FROM player_sessions")
        names = [d.name for d in cur.description]
        stored = [dict(zip(names, r)) for r in cur.fetchall()]
    assert len(stored) == 3
    for session, token in made:
        row = next(r for r in stored if r["id"] == session.id)
        assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
        for other in stored:
            for column, value in other.items():
                assert token not in str(value), column
                assert token.encode() not in (value if isinstance(value, bytes) else b"")


@pytest.mark.parametrize("which", [0, 1, 2])
def test_corrupted_results_are_detected(store, store_url, which):
    game, cases = corruption_cases(store)
    table, row_id, column, bad, good, where, word = cases[which]
    wrap = Jsonb if isinstance(bad, (dict, list)) else (lambda x: x)
    with raw(store_url) as conn:
        n = conn.execute(f'UPDATE {table} SET "{column}" = %s WHERE id = %s', (wrap(bad), row_id)).rowcount
        assert n == 1
        assert_detects(store, game.id, where, word)
        conn.execute(f'UPDATE {table} SET "{column}" = %s WHERE id = %s', (wrap(good), row_id))
    assert store.verify_game(game.id) == []


def test_missing_turn_and_tampered_log_are_detected(store, store_url):
    game, _ = corruption_cases(store)
    turn = store.list_turns(game.id, round_number=1)[0]
    with raw(store_url) as conn:
        conn.execute("DELETE FROM turns WHERE id = %s", (turn.id,))
        problems = store.verify_game(game.id)
        assert any(p.where == "round 1 turn 1" and "missing" in p.message for p in problems), problems
        conn.execute("DELETE FROM player_actions WHERE game_id = %s AND sequence_number = 3",
                     (game.id,))
        problems = store.verify_game(game.id)
        assert any("sequence" in p.message for p in problems), [str(p) for p in problems]


def test_the_database_enforces_checks_and_keys(store, store_url):
    table = start(store)
    game_id, players = table.game.id, [p.id for p in table.players]
    extra = make_players(store, 1, prefix="extra")[0]
    with raw(store_url) as conn:
        def fails(exc, sql, *params):
            with pytest.raises(exc):
                conn.execute(sql, params)

        for bad in ("ab", "bad name", "x" * 50 + "y", "semi;colon", "trailing\n"):
            fails((errors.CheckViolation, errors.StringDataRightTruncation),
                  "INSERT INTO players (username, display_name) VALUES (%s, 'x')", bad)
        fails(errors.UniqueViolation,
              "INSERT INTO players (username, display_name) VALUES (%s, 'x')", table.players[0].username)
        fails(errors.CheckViolation, "UPDATE rooms SET status = 'closed' WHERE id = %s", table.room.id)
        fails(errors.CheckViolation, "UPDATE games SET current_phase = 'LOBBY' WHERE id = %s", game_id)
        fails(errors.CheckViolation,
              "INSERT INTO game_players (game_id, player_id, position) VALUES (%s, %s, 4)",
              game_id, extra.id)
        fails(errors.CheckViolation,
              "INSERT INTO game_players (game_id, player_id, position) VALUES (%s, %s, -1)",
              game_id, extra.id)
        fails(errors.UniqueViolation,
              "INSERT INTO game_players (game_id, player_id, position) VALUES (%s, %s, 2)",
              game_id, extra.id)
        fails(errors.UniqueViolation,
              "INSERT INTO game_players (game_id, player_id, position) VALUES (%s, %s, 3)",
              game_id, players[0])
        fails(errors.ForeignKeyViolation,
              "INSERT INTO rooms (room_code, name, created_by) VALUES ('FK', 'x', %s)", uuid.uuid4())
        fails(errors.ForeignKeyViolation,
              "INSERT INTO player_sessions (player_id, token_hash, expires_at) VALUES (%s, 'h', now())",
              uuid.uuid4())
        fails(errors.NotNullViolation,
              "INSERT INTO player_sessions (player_id, token_hash) VALUES (%s, 'h')", players[0])
        fails(errors.UniqueViolation,
              "INSERT INTO player_actions (game_id, action_type, action_data, sequence_number) "
              "VALUES (%s, 'deal', '{}', 1), (%s, 'deal', '{}', 1)", game_id, game_id)
        fails(errors.InvalidTextRepresentation,
              "INSERT INTO active_connections (connection_id, ip_address) VALUES (%s, 'not-an-ip')",
              uuid.uuid4())
        # Defaults fill in what the application leaves out.
        [(pid, created, settings, active)] = conn.execute(
            "INSERT INTO players (username, display_name) VALUES ('raw_user', 'Raw') "
            "RETURNING id, created_at, settings, is_active").fetchall()
        assert isinstance(pid, uuid.UUID) and created is not None
        assert (settings, active) == ({}, True)
    assert store.get_player(pid).username == "raw_user"


def test_deleting_a_game_cascades(store, store_url):
    from liapstore.testing.support import play_recorded, rows
    table, sc, game = play_recorded(store, 3)
    store.create_session(table.players[0].id)
    with raw(store_url) as conn:
        # The game's lifecycle events reference it without ON DELETE (history
        # is not deleted behind anyone's back): they go first.
        conn.execute("DELETE FROM analytics_events WHERE room_id = %s OR game_id = %s",
                     (table.room.id, game.id))
        conn.execute("DELETE FROM rooms WHERE id = %s", (table.room.id,))
    counts = rows(store)
    for t in ("games", "game_players", "rounds", "turns", "player_actions"):
        assert counts[t] == 0, t
    assert counts["players"] == 4 and counts["player_sessions"] == 1
    with raw(store_url) as conn:
        conn.execute("DELETE FROM players WHERE id = %s", (table.players[0].id,))
    assert rows(store)["player_sessions"] == 0
