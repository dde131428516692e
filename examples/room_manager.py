"""A plain-Python stand-in for the reference server's in-memory RoomManager.

DATABASE_SCHEMA.md shows the server keeping everything in dicts:

    rooms: Dict[str, Room]                       room code -> room
    room_players: Dict[str, Set[str]]            room code -> player names
    player_rooms: Dict[str, str]                 player name -> room code
    game_state_machines: Dict[str, GameStateMachine]

These classes have the attributes liapstore.migration.DataMigrator reads, so
examples and tests can build a "live server" without the real one.
"""
import random
from dataclasses import dataclass, field
from enum import Enum
from typing import Optional

from liapstore.game import bots, rules


class GamePhase(Enum):
    PREPARATION = "PREPARATION"
    DECLARATION = "DECLARATION"
    TURN = "TURN"
    SCORING = "SCORING"
    GAME_OVER = "GAME_OVER"


@dataclass
class Room:
    name: str
    creator_id: Optional[str]
    is_public: bool = True
    game_started: bool = False


@dataclass
class LegacyPlayer:
    name: str
    is_bot: bool = False
    score: int = 0
    hand: list = field(default_factory=list)
    declared: Optional[int] = None
    captured_piles: int = 0
    zero_declares_in_a_row: int = 0


@dataclass
class LegacyGame:
    players: list
    round_number: int = 1
    winning_score: int = 50
    max_rounds: int = 20
    redeal_multiplier: int = 1
    round_starter: Optional[int] = None
    turn_number: int = 0
    turn_starter: Optional[int] = None
    current_turn_plays: list = field(default_factory=list)
    last_turn_winner: Optional[int] = None
    redeal_starter: Optional[int] = None
    pending_redeal_seats: list = field(default_factory=list)


@dataclass
class CurrentState:
    phase: GamePhase


@dataclass
class GameStateMachine:
    game: LegacyGame
    current_state: CurrentState


class RoomManager:
    def __init__(self):
        self.rooms = {}
        self.room_players = {}
        self.player_rooms = {}
        self.game_state_machines = {}

    def add_room(self, code, name, creator, players=()):
        self.rooms[code] = Room(name, creator)
        self.room_players[code] = set(players)
        for p in players:
            self.player_rooms[p] = code


def running_game(names, seed, actions):
    """A GameStateMachine for a game the bots have played ``actions`` moves into.

    Stands in for a game the live server has in memory at migration time.
    """
    state = rules.new_game(winning_score=50, max_rounds=20)
    for step in range(1, actions + 1):
        if state.phase == "GAME_OVER":
            break
        state = rules.apply(state, bots.next_action(state, seed, step)).state
    players = [LegacyPlayer(name, is_bot=name.startswith("Bot"), score=state.scores[i],
                            hand=list(state.hands[i]), declared=state.declarations[i],
                            captured_piles=state.captured[i],
                            zero_declares_in_a_row=state.zero_streak[i])
               for i, name in enumerate(names)]
    game = LegacyGame(players, round_number=state.round, redeal_multiplier=state.multiplier,
                      round_starter=state.starter, turn_number=state.turn,
                      turn_starter=state.turn_starter,
                      current_turn_plays=[(s, list(p)) for s, p in state.plays],
                      last_turn_winner=state.last_turn_winner, redeal_starter=state.redeal_starter,
                      pending_redeal_seats=list(state.redeal_pending))
    return GameStateMachine(game, CurrentState(GamePhase(state.phase))), state


def sample_server(seed=1):
    """A RoomManager with one waiting room and two rooms with games under way."""
    rng = random.Random(seed)
    manager = RoomManager()
    manager.add_room("LOBBY1", "Waiting for players", "Alice", ["Alice"])
    for code, names in (("ROOM42", ["Alice Chen", "Bot 1", "Bob", "Bot 2"]),
                        ("ROOM77", ["Carol", "Dave", "Bot 3", "Bot 4"])):
        manager.add_room(code, f"Table {code[-2:]}", names[0], names)
        machine, _ = running_game(names, seed=f"{seed}:{code}", actions=rng.randint(5, 60))
        manager.game_state_machines[code] = machine
        manager.rooms[code].game_started = True
    return manager
