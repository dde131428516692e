"""What the migration adapters share: a room as read, and careful reading.

An adapter turns one live server's objects into ``RoomSnapshot``s and never
writes to them. Everything it reads goes through a ``Reader``, which names
the room and the attribute path in the ``InvalidInput`` it raises, so a
server of an unexpected shape fails with a message saying where, instead of
an ``AttributeError`` or ``StopIteration`` from deep inside.
"""
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

from ..errors import InvalidInput
from ..game import rules


@dataclass
class RoomSnapshot:
    """One room as the adapter read it, ready to be written.

    ``seats`` lists the four player names by seat when a game exists;
    ``members`` the names of the people in a room without a game. ``bots``
    holds the names (among those) that are bots. ``state`` is the game's
    rules-engine state, or None when no game was started.
    """

    code: str
    name: str
    host: Optional[str] = None
    is_public: bool = True
    members: list = field(default_factory=list)
    seats: list = field(default_factory=list)
    bots: set = field(default_factory=set)
    state: Optional[rules.GameState] = None
    phase: str = "waiting"          # the server's own name for where the room is


_MISSING = object()


def show(value):
    """A short repr of a live value, even one whose __repr__ fails."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


class Reader:
    """Reads a live object's attributes for one room, failing with its name."""

    def __init__(self, room):
        self.room = room  # None while reading the room manager itself

    def fail(self, path, problem):
        """Raise InvalidInput naming the room and the attribute path."""
        where = "" if self.room is None else f"room {show(self.room)}: "
        raise InvalidInput(f"{where}{path} {problem}")

    def attr(self, obj, name, path, default=_MISSING):
        """``obj.name``; a missing attribute fails unless a default is given."""
        try:
            return getattr(obj, name)
        except AttributeError:
            if default is not _MISSING:
                return default
            self.fail(path, "is missing")
        except Exception as e:  # A property of a live object blew up.
            self.fail(path, f"cannot be read: {type(e).__name__}: {e}")

    def integer(self, value, path, low=None):
        """``value`` as an int (not a bool), at least ``low`` if given."""
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"must be an integer, not {show(value)}")
        if low is not None and value < low:
            self.fail(path, f"must be at least {low}, not {value}")
        return value

    def name(self, value, path):
        """A player name: a non-empty string (a player object gives its name)."""
        value = getattr(value, "name", value)
        if not isinstance(value, str) or not value:
            self.fail(path, f"must be a player name, not {show(value)}")
        return value

    def items(self, value, path, kinds=(list, tuple, set, frozenset)):
        """``value`` as a list, if it is one of ``kinds``."""
        if not isinstance(value, kinds):
            self.fail(path, f"must be a {' or '.join(k.__name__ for k in kinds)}, "
                            f"not {type(value).__name__}")
        return list(value)

    def mapping(self, value, path):
        """``value`` if it is a dict."""
        if not isinstance(value, dict):
            self.fail(path, f"must be a dict, not {type(value).__name__}")
        return value

    def kind(self, piece, path):
        """The piece kind ("GENERAL_RED") of a kind string or a piece object."""
        kind = piece if isinstance(piece, str) else getattr(piece, "kind", None)
        if not isinstance(kind, str) or kind not in rules.POINTS:
            self.fail(path, f"is not a piece: {show(piece)}")
        return kind

    def kinds(self, pieces, path):
        """The kinds of a list of pieces, in order."""
        return [self.kind(p, f"{path}[{i}]") for i, p in enumerate(self.items(pieces, path))]

    def seat(self, names, name, path):
        """The seat of player ``name`` (a name or player object) among ``names``."""
        name = self.name(name, path)
        if name not in names:
            self.fail(path, f"names {show(name)}, who has no seat in this game")
        return names.index(name)

    def check(self, state, what="the game"):
        """Reject a state the rules could never have produced; return it."""
        pieces = [p for hand in state.hands for p in hand] + [p for _, ps in state.plays for p in ps]
        # A turn takes one piece from each hand per pile it hands out, so the
        # hands, the turn under way and the captured piles hold all 32 pieces.
        if state.dealt and state.phase != "GAME_OVER" and (
                Counter(pieces) - Counter(rules.DECK)
                or len(pieces) + 4 * sum(state.captured) != len(rules.DECK)):
            self.fail("players[].hand", "with the turn under way and the captured piles does "
                      "not add up to the 32-piece deck")
        try:
            rules.GameState.from_dict(state.to_dict())
            rules.expected(state)
        except (rules.RuleViolation, ValueError, TypeError, IndexError, StopIteration) as e:
            self.fail(what, f"is inconsistent: {e}")
        return state


def weak_order(state):
    """Seats in the order the rules engine asks about a redeal, for a dealt state."""
    first = state.redeal_starter
    if first is None:
        first = (next(s for s in range(4) if "GENERAL_RED" in state.hands[s])
                 if state.round == 1 else state.last_turn_winner)
    return [(first + i) % 4 for i in range(4)]


def zero_streak_before(counters, declarations):
    """The rules engine's zero streaks while a round runs, from a server's.

    Servers that count a 0 when it is declared are one ahead for each seat
    that has declared 0 this round. A seat that declared more than 0 has
    already lost its old streak there; the engine resets it at the round's
    end whatever it was, so 0 stands in for it.
    """
    return tuple(c - 1 if d == 0 else (0 if d is not None else c)
                 for c, d in zip(counters, declarations))
