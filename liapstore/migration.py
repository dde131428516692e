"""Move a live in-memory server's rooms and running games into a store.

DATABASE_SCHEMA.md describes the reference server's ``RoomManager`` and a
``DataMigrator`` that copies it into the database. This is that migrator,
reading the structure by duck typing, so any object shaped like it works
(``examples/room_manager.py`` has a plain-Python stand-in):

- ``room_manager.rooms``: room code -> room with ``name``, ``creator_id``
  (a player name or None), ``is_public``
- ``room_manager.room_players``: room code -> set of player names
- ``room_manager.game_state_machines``: room code -> state machine with
  ``current_state.phase.value`` (a phase name, or ``current_state.phase`` as
  a string) and ``game`` holding ``round_number``, ``winning_score``,
  ``max_rounds``, ``redeal_multiplier``, ``round_starter`` (a seat) and
  ``players``: four objects with ``name``, ``is_bot``, ``score``, ``hand``
  (piece kinds such as "GENERAL_RED", or objects with a ``kind``),
  ``declared`` (None before declaring), ``captured_piles`` and optionally
  ``zero_declares_in_a_row``; during a turn also ``turn_starter`` and
  ``current_turn_plays`` ([(seat, [kinds])...] in play order).

Each room moves in one transaction, so a failure leaves no half-moved room.
Running it twice is safe: rooms whose code is already stored are skipped.
"""
import re
from collections import Counter
from dataclasses import dataclass, field

from .errors import InvalidInput, NotFound
from .game import rules

# The reference server's transient phases carry no state of their own
# (RULES.md), so they map to the phase they sit in.
_PHASES = {"ROUND_START": "PREPARATION", "TURN_RESULTS": "TURN"}


@dataclass
class MigrationReport:
    rooms: list = field(default_factory=list)      # room codes moved
    games: list = field(default_factory=list)      # game ids created
    skipped: list = field(default_factory=list)    # (room code, why)


class DataMigrator:
    """Copies an in-memory RoomManager into ``store``."""

    def __init__(self, store):
        self.store = store

    def migrate_active_games(self, room_manager):
        """Move every room (and its running game, if any); return a MigrationReport."""
        report = MigrationReport()
        for code, room in room_manager.rooms.items():
            try:
                self.store.get_room_by_code(code)
                report.skipped.append((code, "already in the store"))
                continue
            except NotFound:
                pass
            machine = room_manager.game_state_machines.get(code)
            with self.store.transaction():
                stored = self.store.create_room(
                    code, room.name, is_public=room.is_public,
                    created_by=self._player(room.creator_id).id if room.creator_id else None)
                for name in sorted(room_manager.room_players.get(code, ())):
                    self._player(name)
                if machine is not None:
                    game = self.migrate_game_state(machine, stored)
                    report.games.append(game.id)
            report.rooms.append(code)
        return report

    def migrate_game_state(self, machine, room):
        """Store one running game of ``room`` from its state machine; return the Game."""
        game = machine.game
        players = [self._player(p.name) for p in game.players]
        state = legacy_state(machine)
        return self.store.import_game(room.id, [p.id for p in players], state,
                                      bots=[i for i, p in enumerate(game.players) if p.is_bot])

    def _player(self, name):
        """The stored player for a legacy name, created on first sight.

        Legacy names may hold spaces or other characters usernames may not;
        the username is the name with those replaced by '_', and the display
        name keeps the original.
        """
        username = re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:50].ljust(3, "_")
        return self.store.get_or_create_player(username, name[:100])


def legacy_state(machine):
    """The rules engine's GameState for a legacy state machine."""
    game = machine.game
    phase = getattr(machine.current_state.phase, "value", machine.current_state.phase)
    phase = _PHASES.get(phase, phase)
    players = game.players
    hands = tuple(rules.sort_hand(_kind(p) for p in pl.hand) for pl in players)
    declared = tuple(pl.declared for pl in players)
    plays = tuple((seat, tuple(_kind(p) for p in pieces))
                  for seat, pieces in getattr(game, "current_turn_plays", ()) or ())
    starter = getattr(game, "round_starter", None)
    pending = ()
    if phase == "PREPARATION" and any(hands):
        # Weak hands still to answer the redeal question, in seat order from
        # the starter (the order the rules engine asks them in).
        first = starter or 0
        pending = tuple(s % 4 for s in range(first, first + 4) if rules.is_weak(hands[s % 4]))
        pending = tuple(getattr(game, "pending_redeal_seats", pending))
        phase = phase if pending else "DECLARATION"
    state = rules.GameState(
        winning_score=game.winning_score, max_rounds=game.max_rounds, phase=phase,
        round=game.round_number, multiplier=getattr(game, "redeal_multiplier", 1),
        dealt=any(hands), hands=hands, starter=starter, redeal_pending=pending,
        declarations=declared,
        zero_streak=tuple(getattr(pl, "zero_declares_in_a_row", 0) for pl in players),
        turn=getattr(game, "turn_number", 1 if phase == "TURN" else 0),
        turn_starter=getattr(game, "turn_starter", None) if phase == "TURN" else None,
        plays=plays, captured=tuple(pl.captured_piles for pl in players),
        scores=tuple(pl.score for pl in players),
        last_turn_winner=getattr(game, "last_turn_winner", None))
    _check_consistent(state)
    return state


def _kind(piece):
    if isinstance(piece, str):
        return piece
    return getattr(piece, "kind", None) or piece.to_dict()["kind"]


def _check_consistent(state):
    """Reject a legacy state the rules could never have produced."""
    if state.phase not in ("PREPARATION", "DECLARATION", "TURN"):
        raise InvalidInput(f"cannot migrate a game in phase {state.phase!r}")
    pieces = [p for hand in state.hands for p in hand] + [p for _, ps in state.plays for p in ps]
    if any(p not in rules.POINTS for p in pieces):
        raise InvalidInput("a hand holds an unknown piece kind")
    # A turn takes one piece from each hand per pile it hands out, so hands,
    # the turn under way and the captured piles account for all 32 pieces.
    if state.dealt and (Counter(pieces) - Counter(rules.DECK)
                        or len(pieces) + 4 * sum(state.captured) != len(rules.DECK)):
        raise InvalidInput("the hands, the turn under way and the captured piles "
                           "do not add up to the 32-piece deck")
    try:
        rules.expected(state)
    except (rules.RuleViolation, ValueError, TypeError, IndexError) as e:
        raise InvalidInput(f"the legacy game state is inconsistent: {e}") from None
