"""The PostgreSQL schema, read from the catalog: every table, column, type,
default, constraint, index, partition, view, policy and trigger that
/work/shared/DATABASE_SCHEMA.md asks for exists in a migrated database.

One migrated database serves the whole module (the catalog is read-only
here), so these many checks cost one database. Each test takes ``backend``
only so that it runs exactly when PostgreSQL is among the selected backends.
"""
import re
import uuid
from datetime import datetime, timezone

import psycopg
import pytest

import liapstore

pytestmark = pytest.mark.backends("postgres")

UTC = timezone.utc

UUID, TSTZ, JSONB, INT, BOOL, TEXT, INET = ("uuid", "timestamp with time zone", "jsonb", "integer",
                                            "boolean", "text", "inet")


def vc(n):
    return ("character varying", n)


# table -> column -> (type, default pattern or None, must be NOT NULL)
# Defaults and NOT NULLs are those the document writes; a column the
# document leaves without a default is not checked for one.
COLUMNS = {
    "players": {
        "id": (UUID, r"gen_random_uuid\(\)", True),
        "username": (vc(50), None, True),
        "display_name": (vc(100), None, True),
        "email": (vc(255), None, False),
        "created_at": (TSTZ, r"now\(\)", False),
        "last_seen": (TSTZ, r"now\(\)", False),
        "is_active": (BOOL, r"true", False),
        "games_played": (INT, r"^0$", False),
        "games_won": (INT, r"^0$", False),
        "total_score": (INT, r"^0$", False),
        "highest_score": (INT, r"^0$", False),
        "settings": (JSONB, r"'\{\}'::jsonb", False),
        "email_encrypted": ("bytea", None, False),
    },
    "rooms": {
        "id": (UUID, r"gen_random_uuid\(\)", True),
        "room_code": (vc(20), None, True),
        "name": (vc(100), None, True),
        "created_by": (UUID, None, False),
        "created_at": (TSTZ, r"now\(\)", False),
        "is_public": (BOOL, r"true", False),
        "max_players": (INT, r"^4$", False),
        "game_settings": (JSONB, r"'\{\}'::jsonb", False),
        "status": (vc(20), r"'waiting'", False),
        "current_game_id": (UUID, None, False),
    },
    "games": {
        "id": (UUID, r"gen_random_uuid\(\)", True),
        "room_id": (UUID, None, False),
        "started_at": (TSTZ, r"now\(\)", False),
        "ended_at": (TSTZ, None, False),
        "winning_score": (INT, r"^50$", False),
        "max_rounds": (INT, r"^20$", False),
        "initial_multiplier": (INT, r"^1$", False),
        "current_round": (INT, r"^0$", False),
        "current_phase": (vc(20), r"'NOT_STARTED'", False),
        "phase_data": (JSONB, r"'\{\}'::jsonb", False),
        "winner_id": (UUID, None, False),
        "final_scores": (JSONB, None, False),
        "version": (INT, r"^0$", True),
    },
    "game_players": {
        "game_id": (UUID, None, True),
        "player_id": (UUID, None, True),
        "position": (INT, None, True),
        "score": (INT, r"^0$", False),
        "is_active": (BOOL, r"true", False),
        "is_bot": (BOOL, r"false", False),
        "pieces_in_hand": (JSONB, r"'\[\]'::jsonb", False),
        "declared_piles": (INT, None, False),
        "captured_piles": (INT, r"^0$", False),
    },
    "rounds": {
        "id": (UUID, r"gen_random_uuid\(\)", True),
        "game_id": (UUID, None, False),
        "round_number": (INT, None, True),
        "started_at": (TSTZ, r"now\(\)", False),
        "ended_at": (TSTZ, None, False),
        "multiplier": (INT, r"^1$", False),
        "had_redeal": (BOOL, r"false", False),
        "round_data": (JSONB, None, True),
    },
    "turns": {
        "id": (UUID, r"gen_random_uuid\(\)", True),
        "round_id": (UUID, None, False),
        "turn_number": (INT, None, True),
        "timestamp": (TSTZ, r"now\(\)", False),
        "leading_player_id": (UUID, None, False),
        "required_piece_count": (INT, None, False),
        "plays": (JSONB, None, True),
        "winner_id": (UUID, None, False),
        "pile_count": (INT, None, False),
    },
    "player_actions": {
        "id": ("bigint", r"nextval\(", True),
        "game_id": (UUID, None, False),
        "player_id": (UUID, None, False),
        "action_type": (vc(50), None, True),
        "action_data": (JSONB, None, True),
        "timestamp": (TSTZ, r"now\(\)", False),
        "sequence_number": (INT, None, True),
    },
    "active_connections": {
        "connection_id": (UUID, None, True),
        "player_id": (UUID, None, False),
        "room_id": (UUID, None, False),
        "connected_at": (TSTZ, r"now\(\)", False),
        "last_heartbeat": (TSTZ, r"now\(\)", False),
        "ip_address": (INET, None, False),
        "user_agent": (TEXT, None, False),
    },
    "player_sessions": {
        "id": (UUID, r"gen_random_uuid\(\)", True),
        "player_id": (UUID, None, False),
        "token_hash": (vc(64), None, True),
        "created_at": (TSTZ, r"now\(\)", False),
        "expires_at": (TSTZ, None, True),
        "ip_address": (INET, None, False),
        "user_agent": (TEXT, None, False),
    },
    "analytics_events": {
        "id": ("bigint", r"nextval\(", True),
        "event_type": (vc(50), None, True),
        "player_id": (UUID, None, False),
        "game_id": (UUID, None, False),
        "room_id": (UUID, None, False),
        "event_data": (JSONB, None, True),
        "timestamp": (TSTZ, r"now\(\)", False),
    },
    "audit_log": {
        "id": ("bigint", r"nextval\(", True),
        "table_name": (vc(50), None, True),
        "operation": (vc(10), None, True),
        "user_id": (UUID, None, False),
        "changed_data": (JSONB, None, False),
        "timestamp": (TSTZ, r"now\(\)", False),
        "ip_address": (INET, None, False),
    },
}

# (table, column, referenced table, ON DELETE rule)
FOREIGN_KEYS = {
    ("rooms", "created_by", "players", "NO ACTION"),
    ("games", "room_id", "rooms", "CASCADE"),
    ("games", "winner_id", "players", "NO ACTION"),
    ("game_players", "game_id", "games", "CASCADE"),
    ("game_players", "player_id", "players", "NO ACTION"),
    ("rounds", "game_id", "games", "CASCADE"),
    ("turns", "round_id", "rounds", "CASCADE"),
    ("turns", "leading_player_id", "players", "NO ACTION"),
    ("turns", "winner_id", "players", "NO ACTION"),
    ("player_actions", "game_id", "games", "CASCADE"),
    ("player_actions", "player_id", "players", "NO ACTION"),
    ("active_connections", "player_id", "players", "NO ACTION"),
    ("active_connections", "room_id", "rooms", "NO ACTION"),
    ("player_sessions", "player_id", "players", "CASCADE"),
    ("analytics_events", "player_id", "players", "NO ACTION"),
    ("analytics_events", "game_id", "games", "NO ACTION"),
    ("analytics_events", "room_id", "rooms", "NO ACTION"),
}

# index name -> (table, patterns its definition must match)
INDEXES = {
    "idx_player_actions_game_id": ("player_actions", [r"\(game_id\)$"]),
    "idx_player_actions_player_id": ("player_actions", [r"\(player_id\)$"]),
    "idx_player_actions_timestamp": ("player_actions", [r'\("timestamp"\)$']),
    "idx_active_connections_player_id": ("active_connections", [r"\(player_id\)$"]),
    "idx_active_connections_room_id": ("active_connections", [r"\(room_id\)$"]),
    "idx_player_sessions_token_hash": ("player_sessions", [r"UNIQUE", r"\(token_hash\)$"]),
    "idx_player_sessions_expires_at": ("player_sessions", [r"\(expires_at\)$"]),
    "idx_analytics_events_timestamp": ("analytics_events", [r'\("timestamp"\)$']),
    "idx_analytics_events_player_id": ("analytics_events", [r"\(player_id\)$"]),
    "idx_game_players_player_games": ("game_players", [r"\(player_id, game_id\)",
                                                       r"WHERE \(is_active = true\)$"]),
    "idx_games_active_rooms": ("games", [r"\(room_id\)", r"WHERE \(ended_at IS NULL\)$"]),
    "idx_player_actions_recent": ("player_actions", [r'\(game_id, "timestamp" DESC\)$']),
    # Migration 0003: whole words without stemming (liapstore/textsearch.py).
    "idx_rooms_name_search": ("rooms", [r"USING gin",
                                        r"\(liapstore_name_words\(\(?name\)?(::text)?\)\)$"]),
    "idx_games_phase_data": ("games", [r"USING gin \(phase_data\)$"]),
    "idx_game_players_pieces": ("game_players", [r"USING gin \(pieces_in_hand\)$"]),
    "idx_player_leaderboard_wins": ("player_leaderboard", [r"\(wins_rank\)$"]),
    "idx_player_leaderboard_score": ("player_leaderboard", [r"\(score_rank\)$"]),
}


@pytest.fixture(scope="module")
def catalog(postgres_admin_url, postgres_template):
    """A read-only connection to one migrated database for the whole module."""
    from support.servers import create_database, drop_database
    name = f"liapstore_cat_{uuid.uuid4().hex[:12]}"
    url = create_database(postgres_admin_url, name, template=postgres_template)
    liapstore.connect(url).close()   # already migrated: a no-op, but proves it
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET TimeZone = 'UTC'")
            yield conn
    finally:
        drop_database(postgres_admin_url, name)


def q(conn, sql, *params):
    return conn.execute(sql, params).fetchall()


def test_every_table_exists(backend, catalog):
    tables = {r[0] for r in q(catalog, "SELECT table_name FROM information_schema.tables "
                                       "WHERE table_schema = 'public'")}
    assert set(COLUMNS) <= tables


@pytest.mark.parametrize("table", sorted(COLUMNS))
def test_columns_types_and_defaults(backend, catalog, table):
    got = {r[0]: r[1:] for r in q(catalog, """
        SELECT column_name, data_type, character_maximum_length, column_default, is_nullable
        FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s""", table)}
    assert set(got) >= set(COLUMNS[table]), f"missing columns {set(COLUMNS[table]) - set(got)}"
    for column, (kind, default, not_null) in COLUMNS[table].items():
        data_type, max_len, col_default, nullable = got[column]
        if isinstance(kind, tuple):
            assert (data_type, max_len) == kind, (table, column)
        else:
            assert data_type == kind, (table, column)
        if default is not None:
            assert col_default is not None and re.search(default, col_default), (
                table, column, col_default)
        if not_null:
            assert nullable == "NO", (table, column)


def _checks(conn, table):
    return {name: definition for name, definition in q(conn, """
        SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = %s::regclass AND contype = 'c'""", table)}


def test_check_constraints(backend, catalog):
    players = _checks(catalog, "players")
    assert "username_valid" in players
    assert "^[a-zA-Z0-9_-]{3,50}$" in players["username_valid"]
    rooms = _checks(catalog, "rooms")
    assert "status_valid" in rooms
    for status in ("waiting", "playing", "finished", "abandoned"):
        assert f"'{status}'" in rooms["status_valid"]
    games = _checks(catalog, "games")
    assert "phase_valid" in games
    for phase in ("NOT_STARTED", "PREPARATION", "DECLARATION", "TURN", "SCORING", "GAME_OVER"):
        assert f"'{phase}'" in games["phase_valid"]
    seats = _checks(catalog, "game_players")
    assert any(re.search(r'"?position"? >= 0\b', d) and re.search(r'"?position"? <= 3\b', d)
               for d in seats.values()), seats


def _keys(conn, table, kind):
    return {tuple(cols) for (cols,) in q(conn, """
        SELECT array_agg(a.attname ORDER BY k.ord) FROM pg_constraint c
        CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
        WHERE c.conrelid = %s::regclass AND c.contype = %s GROUP BY c.oid""", table, kind)}


def test_primary_keys_and_unique_constraints(backend, catalog):
    assert _keys(catalog, "players", "p") == {("id",)}
    assert {("username",), ("email",)} <= _keys(catalog, "players", "u")
    assert ("room_code",) in _keys(catalog, "rooms", "u")
    assert _keys(catalog, "game_players", "p") == {("game_id", "player_id")}
    assert ("game_id", "position") in _keys(catalog, "game_players", "u")
    assert ("game_id", "round_number") in _keys(catalog, "rounds", "u")
    assert ("round_id", "turn_number") in _keys(catalog, "turns", "u")
    assert ("token_hash",) in _keys(catalog, "player_sessions", "u")
    for table in ("rooms", "games", "rounds", "turns", "player_actions", "player_sessions",
                  "audit_log"):
        assert _keys(catalog, table, "p") == {("id",)}, table
    assert _keys(catalog, "active_connections", "p") == {("connection_id",)}
    # The action log: one row per (game, sequence number).
    defs = [d for (d,) in q(catalog, "SELECT indexdef FROM pg_indexes WHERE tablename = 'player_actions'")]
    assert any("UNIQUE" in d and "(game_id, sequence_number)" in d for d in defs), defs


def test_foreign_keys_and_delete_rules(backend, catalog):
    tables = sorted({t for t, *_ in FOREIGN_KEYS})
    got = set()
    for table, column, ref, rule in q(catalog, """
            SELECT tc.table_name, kcu.column_name, ccu.table_name, rc.delete_rule
            FROM information_schema.table_constraints tc
            JOIN information_schema.referential_constraints rc
              ON rc.constraint_schema = tc.constraint_schema AND rc.constraint_name = tc.constraint_name
            JOIN information_schema.key_column_usage kcu
              ON kcu.constraint_schema = tc.constraint_schema AND kcu.constraint_name = tc.constraint_name
             AND kcu.table_name = tc.table_name
            JOIN information_schema.constraint_column_usage ccu
              ON ccu.constraint_schema = rc.unique_constraint_schema
             AND ccu.constraint_name = rc.unique_constraint_name
            WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = 'public'
              AND tc.table_name = ANY(%s)""", tables):
        got.add((table, column, ref, rule))
    assert FOREIGN_KEYS <= got, FOREIGN_KEYS - got


def test_named_indexes(backend, catalog):
    got = {name: (table, definition) for name, table, definition in q(
        catalog, "SELECT indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'")}
    missing = set(INDEXES) - set(got)
    assert not missing, missing
    for name, (table, patterns) in INDEXES.items():
        assert got[name][0] == table, name
        for pattern in patterns:
            assert re.search(pattern, got[name][1]), (name, pattern, got[name][1])


def test_analytics_events_is_partitioned_by_month(backend, catalog):
    [(strategy, key)] = q(catalog, """
        SELECT p.partstrat, a.attname FROM pg_partitioned_table p
        JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
        WHERE p.partrelid = 'analytics_events'::regclass""")
    assert (strategy, key) == ("r", "timestamp")
    parts = {name: bound for name, bound in q(catalog, """
        SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'analytics_events'::regclass""")}
    assert "DEFAULT" in parts.values(), parts
    now = datetime.now(UTC)
    for ahead in range(12):
        y, m = divmod(now.month - 1 + ahead, 12)
        start = datetime(now.year + y, m + 1, 1, tzinfo=UTC)
        y2, m2 = divmod(m + 1, 12)
        end = datetime(now.year + y + y2, m2 + 1, 1, tzinfo=UTC)
        name = f"analytics_events_{start:%Y_%m}"
        assert name in parts, (name, sorted(parts))
        assert parts[name] == (f"FOR VALUES FROM ('{start:%Y-%m-%d} 00:00:00+00') "
                               f"TO ('{end:%Y-%m-%d} 00:00:00+00')"), parts[name]
        # And a row of that month really lands there, not in the default partition.
        with catalog.transaction(force_rollback=True):
            [(landed,)] = q(catalog, """
                INSERT INTO analytics_events (event_type, event_data, timestamp)
                VALUES ('probe', '{}', %s) RETURNING tableoid::regclass::text""",
                            start.replace(day=15, hour=12))
        assert landed == name


def test_leaderboard_is_a_materialized_view(backend, catalog):
    [(definition,)] = q(catalog, "SELECT definition FROM pg_matviews WHERE matviewname = 'player_leaderboard'")
    assert "games_played >= 10" in definition
    assert "rank()" in definition.lower()
    columns = [c for (c,) in q(catalog, """
        SELECT a.attname FROM pg_attribute a WHERE a.attrelid = 'player_leaderboard'::regclass
        AND a.attnum > 0 ORDER BY a.attnum""")]
    assert columns == ["id", "username", "display_name", "games_won", "games_played",
                       "highest_score", "win_rate", "wins_rank", "score_rank"]
    # REFRESH ... CONCURRENTLY needs a unique index on the view.
    assert any("UNIQUE" in d for (d,) in q(
        catalog, "SELECT indexdef FROM pg_indexes WHERE tablename = 'player_leaderboard'"))


def test_pgcrypto_and_current_user_id(backend, catalog):
    assert q(catalog, "SELECT 1 FROM pg_extension WHERE extname = 'pgcrypto'") == [(1,)]
    assert q(catalog, "SELECT pg_typeof(current_user_id())::text") == [("uuid",)]
    assert q(catalog, "SELECT current_user_id()") == [(None,)]
    someone = uuid.uuid4()
    with catalog.transaction(force_rollback=True):
        catalog.execute("SELECT set_config('app.user_id', %s, true)", (str(someone),))
        assert q(catalog, "SELECT current_user_id()") == [(someone,)]
    assert q(catalog, "SELECT current_user_id()") == [(None,)]


def test_row_level_security_on_players(backend, catalog):
    assert q(catalog, "SELECT relrowsecurity FROM pg_class WHERE oid = 'players'::regclass") == [(True,)]
    policies = {name: (cmd, qual, check) for name, cmd, qual, check in q(
        catalog, "SELECT policyname, cmd, qual, with_check FROM pg_policies "
                 "WHERE tablename = 'players'")}
    assert policies.pop("players_select_policy") == ("SELECT", "true", None)
    # Every write on the acting player's own row only (the server: any).
    assert policies == {"players_insert_policy": ("INSERT", None, "liapstore_may_touch(id)"),
                        "players_update_policy": ("UPDATE", "liapstore_may_touch(id)",
                                                  "liapstore_may_touch(id)"),
                        "players_delete_policy": ("DELETE", "liapstore_may_touch(id)", None)}


def test_row_level_security_on_what_players_own(backend, catalog):
    """Sessions, connections and friendships: every command; the audit trail: the server reads."""
    got = {table: (cmd, qual == check or check is None, "current_user_id()" in qual
                   or "liapstore_may_touch(player_id)" in qual)
           for table, cmd, qual, check in q(catalog, """
               SELECT tablename, cmd, qual, with_check FROM pg_policies
               WHERE tablename IN ('player_sessions', 'active_connections', 'friendships',
                                   'audit_log')""")}
    assert got == {"player_sessions": ("ALL", True, True), "active_connections": ("ALL", True, True),
                   "friendships": ("ALL", True, True), "audit_log": ("SELECT", True, True)}
    assert q(catalog, "SELECT count(*) FROM pg_class WHERE relrowsecurity AND relname IN "
                      "('player_sessions', 'active_connections', 'friendships', 'audit_log')") == [(4,)]


def test_triggers_on_players(backend, catalog):
    got = {}
    for name, event, timing, orientation in q(catalog, """
            SELECT trigger_name, event_manipulation, action_timing, action_orientation
            FROM information_schema.triggers WHERE event_object_table = 'players'"""):
        got.setdefault(name, set()).add((event, timing, orientation))
    assert got["audit_players"] == {("INSERT", "AFTER", "ROW"), ("UPDATE", "AFTER", "ROW"),
                                    ("DELETE", "AFTER", "ROW")}
    # 0006 dropped 0001's encrypt_player_email: the store encrypts per player.
    assert "encrypt_player_email" not in got
    functions = {name for (name,) in q(catalog, "SELECT proname FROM pg_proc WHERE proname IN "
                                                "('audit_trigger', 'encrypt_email', 'current_user_id')")}
    assert functions == {"audit_trigger", "current_user_id"}


def test_room_search_is_served_by_its_index(backend, catalog):
    with catalog.transaction(force_rollback=True):
        catalog.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r for (r,) in q(catalog, """
            EXPLAIN SELECT id FROM rooms
            WHERE liapstore_name_words(name) @> liapstore_name_words('friday night')"""))
    assert "idx_rooms_name_search" in plan, plan


def test_name_words_ignore_the_database_locale(backend, postgres_admin_url):
    """ICU lowercases and classifies letters even in a database whose
    LC_CTYPE is "C" (where lower() would touch ASCII only)."""
    from support.servers import database_url, drop_database
    name = f"liapstore_c_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                      "LC_COLLATE 'C' LC_CTYPE 'C'")
    url = database_url(postgres_admin_url, name)
    try:
        with liapstore.connect(url) as s:
            room = s.create_room("CAF", "CAFÉ МОСКВА—ΟΔΟΣ")
            for query in ("café", "москва", "οδος", "Café Москва"):
                assert [r.id for r in s.search_rooms(query)] == [room.id], query
    finally:
        drop_database(postgres_admin_url, name)


def test_search_case_folding_is_memorys(backend, new_postgres_url):
    """ICU's lowercase is Python's, including the two cases where SQLite's
    unicode61 differs (tests/sqlite/test_sqlite_database.py)."""
    names = {"TR": "İstanbul Gecesi", "GR": "ΟΔΟΣ", "NFD": "Cafe\u0301 Noir"}
    queries = ("İstanbul", "istanbul", "i stanbul", "ΟΔΟΣ", "οδος", "οδοσ", "cafe", "Cafe\u0301",
               "café", "noir")
    found = {}
    for url in (new_postgres_url(), "memory://"):
        with liapstore.connect(url) as s:
            for code, name in names.items():
                s.create_room(code, name)
            found[url] = {q: [r.room_code for r in s.search_rooms(q)] for q in queries}
    pg, memory = found.values()
    assert pg == memory == {"İstanbul": ["TR"], "istanbul": [], "i stanbul": ["TR"],
                            "ΟΔΟΣ": ["GR"], "οδος": ["GR"], "οδοσ": [],
                            # A combining accent separates words, as any mark does.
                            "cafe": ["NFD"], "Cafe\u0301": ["NFD"], "café": [], "noir": ["NFD"]}
