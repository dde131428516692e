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
from contract.contract_support import SHORT, record, script

pytestmark = pytest.mark.backends("sqlite")


def test_upgrade_in_place_from_the_first_migration(backend, tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with liapstore.connect(url, migrate=False) as old:
        assert old.schema_version() == (0, len(migrations.names()))
        with old.db.atomic():
            assert Runner(old.db, migrations.DIRECTORY).up(target="0001_initial") == ["0001_initial"]
        assert old.schema_version() == (1, len(migrations.names()))

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
        assert s.schema_version() == (len(migrations.names()),) * 2
        assert s.status()["schema_version"] == len(migrations.names())
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
    latest = len(migrations.names())
    assert all(o[0].strip() == str((latest, latest)) for o in outs)
    with liapstore.connect(url) as s:
        assert s.migrate() == []
