"""PostgreSQL: an old database is upgraded in place without losing data."""
import json
import uuid

import psycopg
import pytest
from playhouse.migrations import Runner

import liapstore
from liapstore.game import rules
from liapstore.schema import migrations
from liapstore.schema.fields import utc_text
from liapstore.testing.support import SHORT, record, script

pytestmark = pytest.mark.backends("postgres")

LATEST = len(migrations.names())


@pytest.fixture
def empty_postgres_url(backend, postgres_admin_url):
    from support.servers import create_database, drop_database
    name = f"liapstore_empty_{uuid.uuid4().hex[:12]}"
    url = create_database(postgres_admin_url, name)
    yield url
    drop_database(postgres_admin_url, name)


def test_connect_migrates_an_empty_database(empty_postgres_url):
    with liapstore.connect(empty_postgres_url, migrate=False) as s:
        assert s.schema_version() == (0, len(migrations.names()))
    with liapstore.connect(empty_postgres_url) as s:
        latest = len(migrations.names())
        assert s.schema_version() == (latest, latest)
        assert s.migrate() == []
    # A second process finds it up to date.
    with liapstore.connect(empty_postgres_url) as s:
        assert s.migrate() == []


def test_upgrade_in_place_from_the_first_migration(empty_postgres_url):
    with liapstore.connect(empty_postgres_url, migrate=False) as old:
        with old.db.atomic():
            assert Runner(old.db, migrations.DIRECTORY).up(target="0001_initial") == ["0001_initial"]
        assert old.schema_version() == (1, LATEST)

    players = [uuid.uuid4() for _ in range(4)]
    room, game = uuid.uuid4(), uuid.uuid4()
    state = rules.new_game(**SHORT).to_dict()
    with psycopg.connect(empty_postgres_url, autocommit=True) as conn:
        columns = {c for (c,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'games'")}
        assert "version" not in columns
        for i, pid in enumerate(players):
            conn.execute("INSERT INTO players (id, username, display_name) VALUES (%s, %s, %s)",
                         (pid, f"old_{i}", f"Old {i}"))
        conn.execute("INSERT INTO rooms (id, room_code, name, created_by, status, current_game_id) "
                     "VALUES (%s, 'OLD', 'Old room', %s, 'playing', %s)", (room, players[0], game))
        conn.execute("INSERT INTO games (id, room_id, winning_score, max_rounds, current_round, "
                     "current_phase, phase_data) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                     (game, room, SHORT["winning_score"], SHORT["max_rounds"], state["round"],
                      state["phase"], json.dumps(state)))
        for pos, pid in enumerate(players):
            conn.execute("INSERT INTO game_players (game_id, player_id, position) VALUES (%s, %s, %s)",
                         (game, pid, pos))

    with liapstore.connect(empty_postgres_url) as s:
        assert s.schema_version() == (LATEST, LATEST)
        assert s.status()["schema_version"] == LATEST
        assert [p.username for p in s.list_players()] == [f"old_{i}" for i in range(4)]
        g = s.get_game(game)
        assert g.version == 0 and g.room_id == room and not g.finished
        assert s.get_room(room).current_game_id == game
        assert [x.player_id for x in s.get_seats(game)] == players
        # The upgraded game can be recorded like any other.
        sc = script(5)
        done = record(s, game, sc.steps)
        assert done.version == len(sc.steps) and done.finished
        assert s.verify_game(game) == []
        assert s.get_room(room).status == "finished"
        # And the new unique (game, sequence_number) index is there.
        with pytest.raises(liapstore.Conflict):
            s.record_action(game, 1, {"type": "deal", "hands": list(reversed(sc.actions[0]["hands"]))})


def test_upgrade_from_0002_replaces_the_search_index_and_the_audit_function(empty_postgres_url):
    with liapstore.connect(empty_postgres_url, migrate=False) as old:
        with old.db.atomic():
            assert Runner(old.db, migrations.DIRECTORY).up(target="0002_game_versions") == [
                "0001_initial", "0002_game_versions"]
        assert old.schema_version() == (2, LATEST)
        # Rows written under 0002 (its audit function, its English index).
        alice = old.create_player("alice")
        friday = old.create_room("FRI", "Friday Night Games", created_by=alice.id)
        [entry] = old.list_audit_log().items

    with liapstore.connect(empty_postgres_url) as s:
        assert s.schema_version() == (LATEST, LATEST)
        assert s.search_rooms("the game") == []
        assert s.search_rooms("game") == []
        assert [r.id for r in s.search_rooms("friday GAMES")] == [friday.id]
        cafe = s.create_room("CAF", "Café Crème")
        assert [r.id for r in s.search_rooms("CAFÉ")] == [cafe.id]
        with s.acting_as(alice.id):
            s.update_player(alice.id, display_name="Alice")
        old_entry, new_entry = s.list_audit_log(table_name="players").items
        assert old_entry == entry
        assert new_entry.changed_data["created_at"] == utc_text(s.get_player(alice.id).created_at)
        assert s.migrate() == []
    with psycopg.connect(empty_postgres_url, autocommit=True) as conn:
        [(definition,)] = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_rooms_name_search'").fetchall()
        assert "liapstore_name_words((name)::text)" in definition and "english" not in definition
