"""SQLite: an old database file is upgraded in place without losing data."""
import json
import sqlite3
import subprocess
import sys
import uuid
from datetime import datetime, timezone

import pytest
from playhouse.migrations import Runner

import liapstore
from liapstore.game import rules
from liapstore.schema import migrations, models
from liapstore.schema.fields import utc_text
from liapstore.testing.support import SHORT, record, script

pytestmark = pytest.mark.backends("sqlite")

LATEST = len(migrations.names())


def test_upgrade_in_place_from_the_first_migration(backend, tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with liapstore.connect(url, migrate=False) as old:
        assert old.schema_version() == (0, LATEST)
        with old.db.atomic():
            assert Runner(old.db, migrations.DIRECTORY).up(target="0001_initial") == ["0001_initial"]
        assert old.schema_version() == (1, LATEST)

    players = [uuid.uuid4() for _ in range(4)]
    room, game = uuid.uuid4(), uuid.uuid4()
    now = utc_text(datetime.now(timezone.utc))
    state = rules.new_game(**SHORT).to_dict()
    u = models.Player.id.db_value
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        columns = {r[1] for r in conn.execute("PRAGMA table_info(games)")}
        assert "version" not in columns
        for i, pid in enumerate(players):
            conn.execute("INSERT INTO players (id, username, display_name, created_at, last_seen) "
                         "VALUES (?, ?, ?, ?, ?)", (u(pid), f"old_{i}", f"Old {i}", now, now))
        conn.execute("INSERT INTO rooms (id, room_code, name, created_by, created_at, status, "
                     "current_game_id) VALUES (?, 'OLD', 'Old room', ?, ?, 'playing', ?)",
                     (u(room), u(players[0]), now, u(game)))
        conn.execute("INSERT INTO games (id, room_id, started_at, winning_score, max_rounds, "
                     "current_round, current_phase, phase_data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (u(game), u(room), now, SHORT["winning_score"], SHORT["max_rounds"],
                      state["round"], state["phase"], json.dumps(state)))
        for pos, pid in enumerate(players):
            conn.execute("INSERT INTO game_players (game_id, player_id, position) VALUES (?, ?, ?)",
                         (u(game), u(pid), pos))
    finally:
        conn.close()

    with liapstore.connect(url) as s:
        assert s.schema_version() == (LATEST, LATEST)
        assert s.status()["schema_version"] == LATEST
        assert [p.username for p in s.list_players()] == [f"old_{i}" for i in range(4)]
        g = s.get_game(game)
        assert g.version == 0 and g.room_id == room and not g.finished
        assert [x.player_id for x in s.get_seats(game)] == players
        sc = script(5)
        done = record(s, game, sc.steps)
        assert done.version == len(sc.steps) and done.finished
        assert s.verify_game(game) == []
        with pytest.raises(liapstore.Conflict):
            s.record_action(game, 1, {"type": "deal", "hands": list(reversed(sc.actions[0]["hands"]))})
        assert s.migrate() == []


def test_processes_migrating_one_new_file_at_once(backend, tmp_path):
    url = f"sqlite:///{tmp_path / 'race.db'}"
    code = "import liapstore, sys; s = liapstore.connect(sys.argv[1]); print(s.schema_version()); s.close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    assert all(o[0].strip() == f"({LATEST}, {LATEST})" for o in outs)
    with liapstore.connect(url) as s:
        assert s.migrate() == []


def test_upgrade_from_0002_rebuilds_the_search_index_and_the_audit_triggers(backend, tmp_path):
    path = tmp_path / "v2.db"
    url = f"sqlite:///{path}"
    with liapstore.connect(url, migrate=False) as old:
        with old.db.atomic():
            assert Runner(old.db, migrations.DIRECTORY).up(target="0002_game_versions") == [
                "0001_initial", "0002_game_versions"]
        assert old.schema_version() == (2, LATEST)
        # Rows written under the 0002 schema: its FTS5 index (diacritics
        # removed) and its audit triggers.
        alice = old.create_player("alice")
        friday = old.create_room("FRI", "Friday Night Games", created_by=alice.id)
        cafe = old.create_room("CAF", "Café Crème")
        assert [r.id for r in old.search_rooms("cafe")] == [cafe.id]
        old.create_player("bob")
        entry, dropped = old.list_audit_log().items
        assert entry.changed_data["is_active"] == 1 and "created_at" not in entry.changed_data
        # The newest audit row gone: its id must still never be handed out again.
        old.db.execute_sql("DELETE FROM audit_log WHERE id = ?", (dropped.id,))

    with liapstore.connect(url) as s:
        assert s.schema_version() == (LATEST, LATEST)
        # The rooms written before the upgrade are in the rebuilt index,
        # under the new rule.
        assert s.search_rooms("cafe") == []
        assert [r.id for r in s.search_rooms("CAFÉ crème")] == [cafe.id]
        assert [r.id for r in s.search_rooms("friday games")] == [friday.id]
        assert s.search_rooms("game") == []
        later = s.create_room("NEW", "Friday Poker")
        assert [r.id for r in s.search_rooms("friday")] == [friday.id, later.id]
        s.update_room(friday.id, name="Monday Games")
        assert [r.id for r in s.search_rooms("friday")] == [later.id]
        # New audit rows have the whole payload; the old row is left as written.
        with s.acting_as(alice.id):
            s.update_player(alice.id, display_name="Alice")
        old_entry, new_entry = s.list_audit_log(table_name="players").items
        assert old_entry == entry
        assert new_entry.id > dropped.id
        assert new_entry.changed_data["is_active"] is True
        assert new_entry.changed_data["created_at"] == utc_text(s.get_player(alice.id).created_at)
        assert s.migrate() == []
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.execute("INSERT INTO rooms_name_search (rooms_name_search) VALUES ('integrity-check')")
    finally:
        conn.close()
