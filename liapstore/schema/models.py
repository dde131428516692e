"""The peewee models: one class per table of DATABASE_SCHEMA.md.

The models are deliberately unbound (``database = None``): a process may hold
several stores at once (tests, copying a deployment between backends), so
every query is executed against its store's database explicitly with
``query.execute(database)``.

The tables themselves are created by the hand-written SQL in ``sql/`` (run by
the migrations), because PostgreSQL gets partitions, a materialized view, GIN
indexes, triggers and policies that peewee's ``create_tables`` cannot express.
The models must agree with that SQL; ``tests/sql/test_schema_drift.py`` checks
it with ``playhouse.schema_diff``. The memory backend reads keys, uniqueness,
foreign keys and defaults from these models, so all three backends share one
description of the constraints.
"""
from peewee import (BigAutoField, BigIntegerField, BlobField, BooleanField, CharField,
                    DoubleField, ForeignKeyField, IntegerField, Model, TextField)

from .fields import InetField, JsonField, TimestampField, UuidField


class BaseModel(Model):
    # A key store holds keys, not data: backups write it to a separate key
    # file (liapstore/ops/snapshot.py), never into the data snapshot.
    key_store = False

    class Meta:
        database = None
        legacy_table_names = False


def _ref(model, column, null=True, on_delete=None):
    # lazy_load=False keeps the raw id in the field: the store never wants
    # peewee to fetch a related row behind its back.
    return ForeignKeyField(model, column_name=column, null=null, on_delete=on_delete,
                           lazy_load=False)


class Player(BaseModel):
    id = UuidField(primary_key=True)
    username = CharField(max_length=50, unique=True)
    display_name = CharField(max_length=100)
    # Since 0006 an address is stored only encrypted (email_encrypted, under
    # the player's key in player_keys) with its blind index; ``email`` holds
    # only addresses written before 0006 and not yet encrypted ("pending").
    email = CharField(max_length=255, null=True, unique=True)
    created_at = TimestampField()
    last_seen = TimestampField()
    is_active = BooleanField(default=True)
    games_played = IntegerField(default=0)
    games_won = IntegerField(default=0)
    total_score = IntegerField(default=0)
    highest_score = IntegerField(default=0)
    settings = JsonField(default=dict)
    email_encrypted = BlobField(null=True)
    email_blind_index = CharField(max_length=64, null=True, unique=True)

    class Meta:
        table_name = "players"


class Room(BaseModel):
    id = UuidField(primary_key=True)
    room_code = CharField(max_length=20, unique=True)
    name = CharField(max_length=100)
    created_by = _ref(Player, "created_by")
    created_at = TimestampField()
    is_public = BooleanField(default=True)
    max_players = IntegerField(default=4)
    game_settings = JsonField(default=dict)
    status = CharField(max_length=20, default="waiting")
    current_game_id = UuidField(null=True)

    class Meta:
        table_name = "rooms"


class Game(BaseModel):
    id = UuidField(primary_key=True)
    room_id = _ref(Room, "room_id", on_delete="CASCADE")
    started_at = TimestampField()
    ended_at = TimestampField(null=True)
    winning_score = IntegerField(default=50)
    max_rounds = IntegerField(default=20)
    initial_multiplier = IntegerField(default=1)
    current_round = IntegerField(default=0)
    current_phase = CharField(max_length=20, default="NOT_STARTED")
    phase_data = JsonField(default=dict)
    winner_id = _ref(Player, "winner_id")
    final_scores = JsonField(null=True)
    version = IntegerField(default=0)

    class Meta:
        table_name = "games"


class GamePlayer(BaseModel):
    game_id = _ref(Game, "game_id", null=False, on_delete="CASCADE")
    player_id = _ref(Player, "player_id", null=False)
    position = IntegerField()
    score = IntegerField(default=0)
    is_active = BooleanField(default=True)
    is_bot = BooleanField(default=False)
    pieces_in_hand = JsonField(default=list)
    declared_piles = IntegerField(null=True)
    captured_piles = IntegerField(default=0)

    class Meta:
        table_name = "game_players"
        primary_key = False
        # The composite key is spelled as a unique index so that peewee and
        # the memory backend both see it; the SQL declares it PRIMARY KEY.
        indexes = ((("game_id", "player_id"), True), (("game_id", "position"), True))


class Round(BaseModel):
    id = UuidField(primary_key=True)
    game_id = _ref(Game, "game_id", on_delete="CASCADE")
    round_number = IntegerField()
    started_at = TimestampField()
    ended_at = TimestampField(null=True)
    multiplier = IntegerField(default=1)
    had_redeal = BooleanField(default=False)
    round_data = JsonField()

    class Meta:
        table_name = "rounds"
        indexes = ((("game_id", "round_number"), True),)


class Turn(BaseModel):
    id = UuidField(primary_key=True)
    round_id = _ref(Round, "round_id", on_delete="CASCADE")
    turn_number = IntegerField()
    timestamp = TimestampField()
    leading_player_id = _ref(Player, "leading_player_id")
    required_piece_count = IntegerField(null=True)
    plays = JsonField()
    winner_id = _ref(Player, "winner_id")
    pile_count = IntegerField(null=True)

    class Meta:
        table_name = "turns"
        indexes = ((("round_id", "turn_number"), True),)


class PlayerAction(BaseModel):
    id = BigAutoField()
    game_id = _ref(Game, "game_id", on_delete="CASCADE")
    player_id = _ref(Player, "player_id")
    action_type = CharField(max_length=50)
    action_data = JsonField()
    timestamp = TimestampField()
    sequence_number = IntegerField()

    class Meta:
        table_name = "player_actions"
        indexes = ((("game_id", "sequence_number"), True),)


class ActiveConnection(BaseModel):
    connection_id = UuidField(primary_key=True)
    player_id = _ref(Player, "player_id")
    room_id = _ref(Room, "room_id")
    connected_at = TimestampField()
    last_heartbeat = TimestampField()
    ip_address = InetField(null=True)
    user_agent = TextField(null=True)

    class Meta:
        table_name = "active_connections"


class PlayerSession(BaseModel):
    id = UuidField(primary_key=True)
    player_id = _ref(Player, "player_id", on_delete="CASCADE")
    token_hash = CharField(max_length=64, unique=True)
    created_at = TimestampField()
    expires_at = TimestampField()
    ip_address = InetField(null=True)
    user_agent = TextField(null=True)
    # Sliding expiry (0006): a use moves expires_at to now + idle_seconds,
    # never past absolute_expires_at. NULL: a session from before 0006.
    idle_seconds = DoubleField(null=True)
    absolute_expires_at = TimestampField(null=True)

    class Meta:
        table_name = "player_sessions"


class AnalyticsEvent(BaseModel):
    id = BigAutoField()
    event_type = CharField(max_length=50)
    player_id = _ref(Player, "player_id")
    game_id = _ref(Game, "game_id")
    room_id = _ref(Room, "room_id")
    event_data = JsonField()
    timestamp = TimestampField()

    class Meta:
        table_name = "analytics_events"


class AuditLog(BaseModel):
    id = BigAutoField()
    table_name = CharField(max_length=50)
    operation = CharField(max_length=10)
    user_id = UuidField(null=True)
    changed_data = JsonField(null=True)
    timestamp = TimestampField()
    ip_address = InetField(null=True)

    class Meta:
        table_name = "audit_log"
        indexes = ((("user_id", "id"), False),)


class Friendship(BaseModel):
    player_id = _ref(Player, "player_id", null=False, on_delete="CASCADE")
    friend_id = _ref(Player, "friend_id", null=False, on_delete="CASCADE")
    status = CharField(max_length=20)
    created_at = TimestampField()
    updated_at = TimestampField()

    class Meta:
        table_name = "friendships"
        primary_key = False
        # The SQL's composite PRIMARY KEY, spelled as a unique index (see GamePlayer).
        indexes = ((("player_id", "friend_id"), True),)


class PlayerAchievement(BaseModel):
    player_id = _ref(Player, "player_id", null=False, on_delete="CASCADE")
    achievement = CharField(max_length=50)
    progress = IntegerField(default=0)
    game_id = _ref(Game, "game_id", on_delete="SET NULL")
    awarded_at = TimestampField(null=True)

    class Meta:
        table_name = "player_achievements"
        primary_key = False
        indexes = ((("player_id", "achievement"), True),)


def key_columns(model):
    """The columns of ``model``'s primary key, as the SQL declares it.

    A composite key is spelled as the model's first unique index (see
    GamePlayer); the memory backend and the schema-drift test both read keys
    through this one function.
    """
    meta = model._meta
    if meta.primary_key:
        return (meta.primary_key.column_name,)
    columns, unique = meta.indexes[0]
    assert unique, f"{meta.table_name}: a model without a primary key names it as a unique index"
    return tuple(columns)


# -- players' progress (migration 0005_progress; see liapstore/ranking.py) ------------

class Season(BaseModel):
    name = CharField(max_length=40, primary_key=True)
    starts_at = TimestampField()
    ends_at = TimestampField()
    created_at = TimestampField()

    class Meta:
        table_name = "seasons"


class PlayerStats(BaseModel):
    """A player's statistics in one period ('all', a week, a month, a season)."""
    period = CharField(max_length=60)
    player_id = _ref(Player, "player_id", null=False, on_delete="CASCADE")
    username = CharField(max_length=50)
    games_played = IntegerField(default=0)
    games_won = IntegerField(default=0)
    total_score = IntegerField(default=0)
    highest_score = IntegerField(default=0)
    win_rate = DoubleField(default=0.0)

    class Meta:
        table_name = "player_stats"
        primary_key = False
        indexes = ((("period", "player_id"), True),)


class LeaderboardValue(BaseModel):
    """How many ranked players hold one value of a board in a period."""
    period = CharField(max_length=60)
    board = CharField(max_length=10)
    bucket = IntegerField()
    value = DoubleField()
    players = IntegerField(default=0)

    class Meta:
        table_name = "leaderboard_values"
        primary_key = False
        indexes = ((("period", "board", "bucket", "value"), True),)


class LeaderboardBucket(BaseModel):
    """How many ranked players hold a value in one bucket of a board in a period."""
    period = CharField(max_length=60)
    board = CharField(max_length=10)
    bucket = IntegerField()
    players = IntegerField(default=0)

    class Meta:
        table_name = "leaderboard_buckets"
        primary_key = False
        indexes = ((("period", "board", "bucket"), True),)


# -- the key store (migration 0006; see liapstore/keys.py) ------------------------------

class PlayerKey(BaseModel):
    """A player's random data key, wrapped under the master key of ``key_version``.

    A key store, not data: backups keep it apart from the data snapshot, and
    erasing the player deletes the row, which leaves every copy of their
    encrypted address unreadable."""
    player_id = ForeignKeyField(Player, column_name="player_id", primary_key=True,
                                on_delete="CASCADE", lazy_load=False)
    wrapped_key = BlobField()
    key_version = IntegerField()
    created_at = TimestampField()
    key_store = True

    class Meta:
        table_name = "player_keys"
# -- erasure and archiving (migration 0008_erasure_archive; liapstore/playerdata.py,
#    liapstore/archive.py) ------------------------------------------------------------

class ErasedPlayer(BaseModel):
    """A player whose personal data was erased; the row in ``players`` stays as
    an anonymous placeholder so the games they sat in keep their seats."""
    player_id = ForeignKeyField(Player, column_name="player_id", primary_key=True,
                                on_delete="CASCADE", lazy_load=False)
    erased_at = TimestampField()

    class Meta:
        table_name = "erased_players"


class ArchivedGame(BaseModel):
    """Where a finished game's action log and turns went: one compressed,
    checksummed object in an object store (``archive_url`` + ``object_key``)."""
    game_id = ForeignKeyField(Game, column_name="game_id", primary_key=True, on_delete="CASCADE",
                              lazy_load=False)
    archive_url = TextField()
    object_key = TextField()
    sha256 = CharField(max_length=64)
    stored_bytes = BigIntegerField()
    raw_bytes = BigIntegerField()
    actions = IntegerField()
    turns = IntegerField()
    archived_at = TimestampField()

    class Meta:
        table_name = "archived_games"


class ArchivedEvents(BaseModel):
    """One object of archived analytics events: the ids ``first_id`` to
    ``last_id`` of one UTC ``month`` ('2026-08')."""
    first_id = BigIntegerField(primary_key=True)
    last_id = BigIntegerField()
    month = CharField(max_length=7)
    events = IntegerField()
    archive_url = TextField()
    object_key = TextField()
    sha256 = CharField(max_length=64)
    stored_bytes = BigIntegerField()
    raw_bytes = BigIntegerField()
    archived_at = TimestampField()

    class Meta:
        table_name = "archived_events"


# In dependency order: a table's references come before it.
MODELS = (Player, Room, Game, GamePlayer, Round, Turn, PlayerAction, ActiveConnection,
          PlayerSession, AnalyticsEvent, AuditLog, Friendship, PlayerAchievement, Season,
          PlayerStats, LeaderboardValue, LeaderboardBucket, PlayerKey, ErasedPlayer, ArchivedGame,
          ArchivedEvents)
BY_TABLE = {m._meta.table_name: m for m in MODELS}
