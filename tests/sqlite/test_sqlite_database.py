"""SQLite: connection settings, what the file really holds (read and written
with the sqlite3 module), the FTS5 index, and URL handling."""
import hashlib
import json
import sqlite3
import threading
import uuid

import pytest

import liapstore
from liapstore import InvalidInput, StorageUnavailable
from liapstore.schema import models
from liapstore.schema.fields import utc_text
from liapstore.testing.support import (assert_detects, corruption_cases, make_players,
                                       play_recorded, rows, start)

pytestmark = pytest.mark.backends("sqlite")


def path_of(url):
    return url[len("sqlite:///"):]


def raw(url, foreign_keys=True):
    conn = sqlite3.connect(path_of(url), isolation_level=None)
    if foreign_keys:
        conn.execute("PRAGMA foreign_keys = ON")
    return conn


def pragma(store, name):
    return store.db.execute_sql(f"PRAGMA {name}").fetchone()[0]


def test_default_pragmas(store, store_url):
    assert pragma(store, "journal_mode") == "wal"
    assert pragma(store, "foreign_keys") == 1
    assert pragma(store, "busy_timeout") == 5000
    assert pragma(store, "synchronous") == 2   # FULL
    # WAL is a property of the file: another connection sees it too.
    conn = raw(store_url)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_pragmas_apply_to_every_thread(store):
    seen = {}

    def look():
        seen["fk"] = pragma(store, "foreign_keys")
        seen["sync"] = pragma(store, "synchronous")
        seen["busy"] = pragma(store, "busy_timeout")

    t = threading.Thread(target=look)
    t.start()
    t.join()
    assert seen == {"fk": 1, "sync": 2, "busy": 5000}


def test_options_in_the_url(backend, tmp_path):
    with liapstore.connect(f"sqlite:///{tmp_path / 'o.db'}?synchronous=normal&busy_timeout=250") as s:
        assert pragma(s, "synchronous") == 1
        assert pragma(s, "busy_timeout") == 250
        assert pragma(s, "foreign_keys") == 1
    with liapstore.connect(f"sqlite:///{tmp_path / 'k.db'}", synchronous="EXTRA") as s:
        assert pragma(s, "synchronous") == 3


def test_bad_urls_and_options(backend, tmp_path):
    missing_dir = tmp_path / "does" / "not" / "exist" / "x.db"
    with pytest.raises(StorageUnavailable) as info:
        liapstore.connect(f"sqlite:///{missing_dir}")
    assert "exist" in str(info.value)
    assert not missing_dir.parent.exists()
    for url, kwargs in ((f"sqlite:///{tmp_path / 'a.db'}?cache_size=5", {}),
                        (f"sqlite:///{tmp_path / 'b.db'}?synchronous=sometimes", {}),
                        (f"sqlite:///{tmp_path / 'c.db'}", {"pool": 3}),
                        ("sqlite:///:memory:", {}),
                        ("sqlite://", {})):
        with pytest.raises(InvalidInput):
            liapstore.connect(url, **kwargs)
    assert not (tmp_path / "a.db").exists()


def test_the_database_enforces_checks_and_keys(store, store_url):
    table = start(store)
    extra = make_players(store, 1, prefix="extra")[0]
    gid = models.Game.id.db_value(table.game.id)
    pid = models.Player.id.db_value(extra.id)
    now = utc_text(table.game.started_at)
    conn = raw(store_url)
    try:
        def fails(sql, *params):
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(sql, params)

        for bad in ("ab", "bad name", "x" * 51, "semi;colon", "trailing\n", "émile", "a\x00bc"):
            fails("INSERT INTO players (id, username, display_name, created_at, last_seen) "
                  "VALUES (?, ?, 'x', ?, ?)", uuid.uuid4().hex, bad, now, now)
        fails("UPDATE rooms SET status = 'closed' WHERE id = ?", models.Room.id.db_value(table.room.id))
        fails("UPDATE games SET current_phase = 'LOBBY' WHERE id = ?", gid)
        fails("UPDATE players SET settings = 'not json' WHERE id = ?", pid)
        fails("INSERT INTO game_players (game_id, player_id, position) VALUES (?, ?, 4)", gid, pid)
        fails("INSERT INTO game_players (game_id, player_id, position) VALUES (?, ?, 2)", gid, pid)
        fails("INSERT INTO rooms (id, room_code, name, created_by, created_at) VALUES (?, 'FK', 'x', ?, ?)",
              uuid.uuid4().hex, models.Player.id.db_value(uuid.uuid4()), now)
        fails("INSERT INTO player_actions (game_id, action_type, action_data, timestamp, sequence_number) "
              "VALUES (?, 'deal', '{}', ?, 1), (?, 'deal', '{}', ?, 1)", gid, now, gid, now)
    finally:
        conn.close()
    # The store's own connection enforces foreign keys too.
    with pytest.raises(Exception) as info:
        store.db.execute_sql("INSERT INTO rooms (id, room_code, name, created_by, created_at) "
                             "VALUES (?, 'FK2', 'x', ?, ?)",
                             (uuid.uuid4().hex, models.Player.id.db_value(uuid.uuid4()), now))
    assert "FOREIGN KEY" in str(info.value)


def test_fts5_index_on_room_names(store, store_url):
    conn = raw(store_url)
    try:
        [(sql,)] = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'rooms_name_search'").fetchall()
        assert "fts5" in sql.lower()
        r = store.create_room("FTS", "Friday Night Games")
        match = "SELECT count(*) FROM rooms_name_search WHERE rooms_name_search MATCH ?"
        assert conn.execute(match, ("friday",)).fetchone()[0] == 1
        store.update_room(r.id, name="Monday Blues")
        assert conn.execute(match, ("friday",)).fetchone()[0] == 0
        assert conn.execute(match, ("monday",)).fetchone()[0] == 1
        # A room written behind the store's back is found too: the triggers keep the index.
        conn.execute("INSERT INTO rooms (id, room_code, name, created_at) VALUES (?, 'RAW', ?, ?)",
                     (models.Room.id.db_value(uuid.uuid4()), "Raw Poker Night", utc_text(r.created_at)))
    finally:
        conn.close()
    assert [x.room_code for x in store.search_rooms("poker")] == ["RAW"]


def test_session_tokens_are_never_stored(store, store_url):
    p = store.create_player("alice")
    made = [store.create_session(p.id, user_agent="ua") for _ in range(3)]
    conn = raw(store_url)
    try:
        cur = conn.execute("SELECT * FROM player_sessions")
        names = [d[0] for d in cur.description]
        stored = [dict(zip(names, r)) for r in cur.fetchall()]
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    assert len(stored) == 3
    hashes = {r["token_hash"] for r in stored}
    for _, token in made:
        assert hashlib.sha256(token.encode()).hexdigest() in hashes
        assert token not in dump
    for suffix in ("", "-wal"):
        try:
            with open(path_of(store_url) + suffix, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        for _, token in made:
            assert token.encode() not in data


def _raw_value(table, column, value):
    field = models.BY_TABLE[table]._meta.columns[column]
    return json.dumps(value) if isinstance(value, (dict, list)) else field.db_value(value)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_corrupted_results_are_detected(store, store_url, which):
    game, cases = corruption_cases(store)
    table, row_id, column, bad, good, where, word = cases[which]
    key = _raw_value(table, "id", row_id)
    conn = raw(store_url)
    try:
        n = conn.execute(f'UPDATE {table} SET "{column}" = ? WHERE id = ?',
                         (_raw_value(table, column, bad), key)).rowcount
        assert n == 1
        assert_detects(store, game.id, where, word)
        conn.execute(f'UPDATE {table} SET "{column}" = ? WHERE id = ?',
                     (_raw_value(table, column, good), key))
    finally:
        conn.close()
    assert store.verify_game(game.id) == []


def test_deleting_a_room_cascades(store, store_url):
    table, sc, game = play_recorded(store, 3)
    conn = raw(store_url)
    try:
        # The game's lifecycle events reference it without ON DELETE (history
        # is not deleted behind anyone's back): they go first.
        conn.execute("DELETE FROM analytics_events WHERE room_id = ? OR game_id = ?",
                      (_raw_value("rooms", "id", table.room.id), _raw_value("games", "id", game.id)))
        conn.execute("DELETE FROM rooms WHERE id = ?", (_raw_value("rooms", "id", table.room.id),))
    finally:
        conn.close()
    counts = rows(store)
    for t in ("games", "game_players", "rounds", "turns", "player_actions"):
        assert counts[t] == 0, t


def test_search_case_folding_where_sqlite_differs(store):
    """The two documented differences of FTS5's unicode61 folding
    (liapstore/schema/README.md, "Differences that remain"); every other
    case is the same as on PostgreSQL and memory (tests/contract)."""
    turkish = store.create_room("TR", "İstanbul Gecesi")
    greek = store.create_room("GR", "ΟΔΟΣ")
    # A decomposed accent ("e" + U+0301): unicode61 keeps it inside the word.
    decomposed = store.create_room("NFD", "Cafe\u0301 Noir")
    found = {q: [r.id for r in store.search_rooms(q)]
             for q in ("İstanbul", "istanbul", "i stanbul", "ΟΔΟΣ", "οδος", "οδοσ",
                       "cafe", "Cafe\u0301", "café", "noir")}
    assert found == {"İstanbul": [turkish.id], "istanbul": [], "i stanbul": [],
                     "ΟΔΟΣ": [greek.id], "οδος": [greek.id], "οδοσ": [greek.id],
                     "cafe": [], "Cafe\u0301": [], "café": [], "noir": [decomposed.id]}
