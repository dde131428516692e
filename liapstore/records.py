"""The records liapstore hands to callers: frozen dataclasses, never ORM rows.

Every backend returns the same records with the same Python types: ids are
``uuid.UUID``, times are timezone-aware UTC ``datetime`` objects, JSON columns
are plain ``dict``/``list`` values (copies: changing one never changes the
store). Fields follow the columns of DATABASE_SCHEMA.md.
"""
import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, Optional, TypeVar
from uuid import UUID


def from_row(cls, row):
    """Build record ``cls`` from a row dict, ignoring columns it does not show."""
    names = _FIELD_NAMES.get(cls)
    if names is None:  # dataclasses.fields() is slow enough to show per recorded action
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return cls(**{name: row[name] for name in names if name in row})


_FIELD_NAMES = {}


@dataclass(frozen=True)
class Player:
    id: UUID
    username: str
    display_name: str
    email: Optional[str]
    created_at: datetime
    last_seen: datetime
    is_active: bool
    games_played: int
    games_won: int
    total_score: int
    highest_score: int
    settings: dict


@dataclass(frozen=True)
class Room:
    id: UUID
    room_code: str
    name: str
    created_by: Optional[UUID]
    created_at: datetime
    is_public: bool
    max_players: int
    game_settings: dict
    status: str
    current_game_id: Optional[UUID]


@dataclass(frozen=True)
class Game:
    """A game's row: settings, snapshot of where it stands, and its result.

    ``version`` counts the actions recorded so far; a write must name the
    version it was computed from (optimistic concurrency).
    """
    id: UUID
    room_id: UUID
    started_at: datetime
    ended_at: Optional[datetime]
    winning_score: int
    max_rounds: int
    initial_multiplier: int
    current_round: int
    current_phase: str
    phase_data: dict
    winner_id: Optional[UUID]
    final_scores: Optional[dict]
    version: int

    @property
    def finished(self):
        return self.ended_at is not None


@dataclass(frozen=True)
class Seat:
    """One player's place in a game (a ``game_players`` row)."""
    game_id: UUID
    player_id: UUID
    position: int
    score: int
    is_active: bool
    is_bot: bool
    pieces_in_hand: list
    declared_piles: Optional[int]
    captured_piles: int


@dataclass(frozen=True)
class Round:
    id: UUID
    game_id: UUID
    round_number: int
    started_at: datetime
    ended_at: Optional[datetime]
    multiplier: int
    had_redeal: bool
    round_data: dict


@dataclass(frozen=True)
class Turn:
    id: UUID
    round_id: UUID
    turn_number: int
    timestamp: datetime
    leading_player_id: Optional[UUID]
    required_piece_count: Optional[int]
    plays: list
    winner_id: Optional[UUID]
    pile_count: Optional[int]


@dataclass(frozen=True)
class Action:
    """One entry of a game's action log, numbered 1, 2, 3... without gaps."""
    id: int
    game_id: UUID
    player_id: Optional[UUID]
    action_type: str
    action_data: dict
    timestamp: datetime
    sequence_number: int


@dataclass(frozen=True)
class Session:
    """A login session. The token itself is never stored, only its hash."""
    id: UUID
    player_id: UUID
    created_at: datetime
    expires_at: datetime
    ip_address: Optional[str]
    user_agent: Optional[str]
    #: The latest ``expires_at`` can slide to (None: opened before schema 0006).
    absolute_expires_at: Optional[datetime] = None


@dataclass(frozen=True)
class Connection:
    connection_id: UUID
    player_id: Optional[UUID]
    room_id: Optional[UUID]
    connected_at: datetime
    last_heartbeat: datetime
    ip_address: Optional[str]
    user_agent: Optional[str]


@dataclass(frozen=True)
class AnalyticsEvent:
    id: int
    event_type: str
    player_id: Optional[UUID]
    game_id: Optional[UUID]
    room_id: Optional[UUID]
    event_data: dict
    timestamp: datetime


@dataclass(frozen=True)
class AuditEntry:
    id: int
    table_name: str
    operation: str
    user_id: Optional[UUID]
    changed_data: Optional[dict]
    timestamp: datetime
    ip_address: Optional[str]


@dataclass(frozen=True)
class LeaderboardEntry:
    """One ranked player on a board (``by``) in a period (``season``).

    ``rank`` follows SQL ``RANK()``: ties share a rank, the next one skips.
    The statistics are the player's in that period.
    """
    id: UUID
    username: str
    display_name: str
    rank: int
    by: str
    season: str
    games_played: int
    games_won: int
    total_score: int
    highest_score: int
    win_rate: float


@dataclass(frozen=True)
class Season:
    """A named season: games ending in [starts_at, ends_at) count in it."""
    name: str
    starts_at: datetime
    ends_at: datetime
    created_at: datetime


@dataclass(frozen=True)
class MatchSeat:
    position: int
    player_id: UUID
    username: str
    display_name: str
    is_bot: bool
    score: int


@dataclass(frozen=True)
class Match:
    """One entry of a match history: a game that has ended.

    ``result`` is the viewing player's (``won``, ``lost``, ``tie``, or
    ``abandoned``), None in a room's history; ``final_scores`` the totals
    by seat position (None for an abandoned game).
    """
    game_id: UUID
    room_id: UUID
    room_code: str
    started_at: datetime
    ended_at: datetime
    rounds_played: int
    winner_id: Optional[UUID]
    final_scores: Optional[tuple]
    seats: tuple
    result: Optional[str] = None
    position: Optional[int] = None


@dataclass(frozen=True)
class StatsDrift:
    """A stored statistic that disagrees with the one recomputed from the games.

    ``table`` is ``players``, ``player_stats``, ``leaderboard_values`` or
    ``leaderboard_buckets``; ``key`` identifies the row.
    """
    table: str
    key: tuple
    column: str
    stored: Any
    expected: Any

    def __str__(self):
        return (f"{self.table} {'/'.join(str(k) for k in self.key)}: {self.column} is "
                f"{self.stored!r}, the games say {self.expected!r}")


@dataclass(frozen=True)
class EventCount:
    day: date
    event_type: str
    count: int


@dataclass(frozen=True)
class GameDay:
    """Games finished on one day (UTC), with their average length."""
    day: date
    games: int
    average_seconds: float
    average_rounds: float


@dataclass(frozen=True)
class Friendship:
    """A row between two players: a ``pending`` request from ``player_id`` to
    ``friend_id``, one side of an ``accepted`` friendship, or a block by
    ``player_id`` of ``friend_id``."""
    player_id: UUID
    friend_id: UUID
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AchievementAward:
    """One achievement a player holds: which (its catalogue ``code``, see
    ``liapstore.achievements.CATALOGUE``), when, and the game that earned it
    (None once that game is deleted)."""
    player_id: UUID
    achievement: str
    game_id: Optional[UUID]
    awarded_at: datetime
    progress: int


@dataclass(frozen=True)
class SavedGame:
    """Everything a restarted server needs to continue a game.

    ``state`` is the rules engine's ``liapstore.game.rules.GameState`` after
    the last recorded action; record the next action with sequence number
    ``game.version + 1``.
    """
    game: Game
    seats: tuple
    state: Any

    def player_at(self, position):
        return self.seats[position].player_id


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing. Pass ``next_cursor`` as ``after=`` for the next
    page; it is None on the last page."""
    items: tuple
    next_cursor: Optional[str]

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


__all__ = [name for name, value in list(globals().items())
           if isinstance(value, type) and dataclasses.is_dataclass(value)] + ["Page"]
