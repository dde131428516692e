"""The peewee models agree with the hand-written SQL of both dialects, after
migrating a fresh database: columns (playhouse.schema_diff), and primary
keys, nullability, defaults, uniqueness, foreign keys with their ON DELETE
rule and VARCHAR lengths, read from the catalogs (PRAGMA table_info / index_list /
foreign_key_list on SQLite, pg_catalog on PostgreSQL).

The memory backend takes keys, uniqueness, references and defaults from the
models, so a difference here is a difference between backends.
"""
import sqlite3

import pytest
from peewee import BooleanField, CharField, ForeignKeyField, IntegerField
from playhouse.schema_diff import diff_models

from liapstore.schema.constraints import MAX_LENGTHS
from liapstore.schema.models import BY_TABLE, MODELS, GamePlayer, Player, Room
from schema_shape import drift

pytestmark = pytest.mark.backends("sqlite", "postgres")

# Differences that cannot be removed, each with its reason.
KNOWN = {
    "postgres": [
        # A partitioned table's primary key must include the partition key
        # (schema/README.md, correction 2). Ids still come from one sequence,
        # so they are unique, as the models (and memory, and SQLite) say.
        "analytics_events: primary key ('id',) in the models, ('id', 'timestamp') in the database",
    ],
    "sqlite": [],
}


def test_models_match_the_migrated_schema(store):
    diff = diff_models(store.db, MODELS)
    assert diff.create_tables == []
    assert diff.add_columns == [], [f"{f.model._meta.table_name}.{f.column_name}" for f in diff.add_columns]
    assert diff.drop_columns == []


def test_every_model_column_is_in_the_database(store):
    for model in MODELS:
        columns = {c.name for c in store.db.get_columns(model._meta.table_name)}
        assert columns == {f.column_name for f in model._meta.sorted_fields}, model._meta.table_name


def test_keys_nullability_defaults_uniqueness_and_references_match_the_models(store):
    assert drift(store.db, store.dialect, MODELS) == KNOWN[store.dialect]


# -- the comparison notices what it is meant to notice ------------------------------


def _altered_models():
    """Copies of some models, each changed the way a careless edit would."""
    class AlteredPlayer(Player):
        email = CharField(max_length=255, null=False)          # was nullable and unique
        display_name = CharField(max_length=120)               # was 100
        is_active = BooleanField(default=False)                # was True
        games_played = IntegerField(default="0")               # a string, not 0

        class Meta:
            table_name = "players"

    class AlteredRoom(Room):
        max_players = IntegerField(default=5)                  # was 4
        # backref="+": no reverse accessor is added to the real Player model.
        created_by = ForeignKeyField(Player, column_name="created_by", null=True,
                                     on_delete="SET NULL", backref="+", lazy_load=False)

        class Meta:
            table_name = "rooms"

    class AlteredGamePlayer(GamePlayer):
        class Meta:
            table_name = "game_players"
            primary_key = False
            # The key and the unique seat swapped; a new unique score.
            indexes = ((("game_id", "position"), True), (("game_id", "player_id"), True),
                       (("game_id", "score"), True))

    return {"players": AlteredPlayer, "rooms": AlteredRoom, "game_players": AlteredGamePlayer}


def test_an_altered_model_is_noticed(store):
    altered = _altered_models()
    models = [altered.get(m._meta.table_name, m) for m in MODELS]
    assert sorted(drift(store.db, store.dialect, models)) == sorted(KNOWN[store.dialect] + [
        "players.email: NOT NULL in the models, nullable in the database",
        "players.display_name: VARCHAR(120) in the models, VARCHAR(100) in the database",
        "players.is_active: default False in the models, True in the database",
        "players.games_played: default '0' in the models, 0 in the database",
        "players: unique ('email',) in the database, not in the models",
        "rooms.max_players: default 5 in the models, 4 in the database",
        "rooms: foreign key ('created_by', 'players', 'id', 'SET NULL') in the models, not in the database",
        "rooms: foreign key ('created_by', 'players', 'id', 'NO ACTION') in the database, not in the models",
        "game_players: primary key ('game_id', 'position') in the models, ('game_id', 'player_id') in the database",
        "game_players: unique ('game_id', 'player_id') in the models, not in the database",
        "game_players: unique ('game_id', 'score') in the models, not in the database",
        "game_players: unique ('game_id', 'position') in the database, not in the models",
    ])


ALTERED_DATABASE_DRIFT = [
    "rooms.max_players: default 4 in the models, 6 in the database",
    "rooms: unique ('<partial or expression>', 'idx_rooms_unique_open_name') in the database, not in the models",
    "rooms: unique ('name',) in the database, not in the models",
    "player_actions: unique ('game_id', 'sequence_number') in the models, not in the database",
    "player_sessions.token_hash: NOT NULL in the models, nullable in the database",
    "player_sessions: foreign key ('player_id', 'players', 'id', 'CASCADE') in the models, not in the database",
    "player_sessions: foreign key ('player_id', 'players', 'id', 'SET NULL') in the database, not in the models",
]


def test_an_altered_database_is_noticed(store):
    common = ["DROP INDEX idx_player_actions_game_sequence",
              "CREATE UNIQUE INDEX idx_rooms_unique_name ON rooms (name)",
              "CREATE UNIQUE INDEX idx_rooms_unique_open_name ON rooms (name) WHERE status = 'waiting'"]
    if store.dialect == "postgres":
        statements = common + [
            "ALTER TABLE rooms ALTER COLUMN max_players SET DEFAULT 6",
            "ALTER TABLE player_sessions ALTER COLUMN token_hash DROP NOT NULL",
            "ALTER TABLE player_sessions DROP CONSTRAINT player_sessions_player_id_fkey",
            "ALTER TABLE player_sessions ADD FOREIGN KEY (player_id) REFERENCES players (id) "
            "ON DELETE SET NULL"]
        with store.db.atomic():
            for sql in statements:
                store.db.execute_sql(sql)
    else:
        # SQLite cannot alter a column or a foreign key in place; editing the
        # stored CREATE TABLE text is what a rebuilt table would amount to.
        store.close()
        conn = sqlite3.connect(store.path, isolation_level=None)
        try:
            for sql in common:
                conn.execute(sql)
            conn.execute("PRAGMA writable_schema = ON")
            for table, old, new in (
                    ("rooms", "max_players INTEGER NOT NULL DEFAULT 4", "max_players INTEGER NOT NULL DEFAULT 6"),
                    ("player_sessions", "token_hash VARCHAR(64) NOT NULL", "token_hash VARCHAR(64)"),
                    ("player_sessions", "ON DELETE CASCADE", "ON DELETE SET NULL")):
                changed = conn.execute("UPDATE sqlite_master SET sql = replace(sql, ?, ?) "
                                       "WHERE type = 'table' AND name = ? AND instr(sql, ?)",
                                       (old, new, table, old)).rowcount
                assert changed == 1, (table, old)
            conn.execute("PRAGMA writable_schema = OFF")
        finally:
            conn.close()
    assert sorted(drift(store.db, store.dialect, MODELS)) == sorted(
        KNOWN[store.dialect] + ALTERED_DATABASE_DRIFT)



def test_python_length_limits_are_the_columns_lengths():
    """constraints.MAX_LENGTHS (what validation enforces, and all SQLite
    enforces) agrees with the models' VARCHAR lengths, which the drift test
    holds to the SQL."""
    columns = {"display_name": "players.display_name", "email": "players.email",
               "room_code": "rooms.room_code", "room_name": "rooms.name",
               "action_type": "player_actions.action_type",
               "event_type": "analytics_events.event_type"}
    # user_agent is TEXT in the schema; the limit is the library's own.
    assert set(MAX_LENGTHS) == set(columns) | {"user_agent"}
    for name, where in columns.items():
        table, column = where.split(".")
        assert BY_TABLE[table]._meta.columns[column].max_length == MAX_LENGTHS[name], name
