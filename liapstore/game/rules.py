"""The rules of Liap Tui as pure functions over an immutable GameState.

Everything here follows /work/shared/RULES.md. The module does no I/O and
imports nothing from the rest of liapstore, so the simulator, the replayer
and the integrity checks can all share it.

A game moves forward only through ``apply(state, action)``, which returns a
new state plus the results it derived (turn, round and game results). An
illegal or malformed action raises ``RuleViolation`` and changes nothing.

Rule decisions (RULES.md is silent on these, so they are fixed here):

* Redeal order. After each deal the weak seats decide one at a time, in
  seat order starting from the seat that would start the round if nobody
  accepts (the first accepter of this round if any, else in round 1 the
  holder of GENERAL_RED, else the winner of the previous round's last
  turn). The first accept ends the decisions: the next action must be a new
  deal, the multiplier grows by 1 and, if nobody accepted earlier in this
  round, the accepting seat becomes the round starter. When every weak seat
  declines, or no seat is weak, the declaration phase begins. A state may
  also hold ``redeal_accepted``: an accept already made by a seat later in
  that order (servers that collect the decisions at once have these); it
  takes effect when the seats still pending before it all decline.
* Round starter: the first seat to accept a redeal this round, else in
  round 1 the holder of GENERAL_RED (after the final deal), else the winner
  of the last turn of the previous round.
* Declarations go starter, starter+1, ... (mod 4). Allowed values are 0..8,
  except that the last declarer may not make the total exactly 8, and a seat
  that declared 0 in each of the two previous rounds must declare at least 1.
  At least seven values are always left, so a seat is never stuck.
* Turns: the turn starter plays 1-6 pieces forming a valid play; the others,
  in seat order from the starter, play exactly as many pieces (any pieces).
  Only plays of the starter's type compete, the higher play_value wins and a
  tie keeps the earlier play. The winner captures piles equal to the piece
  count and starts the next turn.
* The round is scored inside the same apply() call that empties the hands:
  base_score x multiplier is added to the totals and the zero streaks are
  updated. The game then ends when a single seat has the highest total and
  that total is >= winning_score. An exact tie at the top plays on, except
  that the game always ends after round max_rounds: the single highest total
  wins there, and a tie at the top ends the game with winner None.
* FOUR_OF_A_KIND and FIVE_OF_A_KIND must be soldiers of one colour, like
  THREE_OF_A_KIND. RULES.md names the colour only for three, but it states
  the reference server's rules, and that server requires one colour for all
  of them ("of a kind": the same piece kind).
* ``turn`` is 0 outside the TURN phase, since no turn is under way then.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, fields, replace
from typing import Any, NamedTuple, Optional

SEATS = 4
HAND_SIZE = 8
MAX_PLAY = 6
MAX_DECLARE = 8  # Also the number of piles a round hands out.

# Kind -> points, strongest first. The order also fixes how hands are sorted.
POINTS: dict[str, int] = {
    "GENERAL_RED": 14,
    "GENERAL_BLACK": 13,
    "ADVISOR_RED": 12,
    "ADVISOR_BLACK": 11,
    "ELEPHANT_RED": 10,
    "ELEPHANT_BLACK": 9,
    "CHARIOT_RED": 8,
    "CHARIOT_BLACK": 7,
    "HORSE_RED": 6,
    "HORSE_BLACK": 5,
    "CANNON_RED": 4,
    "CANNON_BLACK": 3,
    "SOLDIER_RED": 2,
    "SOLDIER_BLACK": 1,
}

# GENERAL has one piece per colour, SOLDIER five, every other name two.
_COPIES = {"GENERAL": 1, "SOLDIER": 5}
DECK: tuple[str, ...] = tuple(
    kind for kind in POINTS for _ in range(_COPIES.get(kind.split("_")[0], 2))
)

PHASES = ("PREPARATION", "DECLARATION", "TURN", "GAME_OVER")

# Weakest to strongest, as RULES.md lists them.
PLAY_TYPES = (
    "SINGLE",
    "PAIR",
    "THREE_OF_A_KIND",
    "STRAIGHT",
    "FOUR_OF_A_KIND",
    "EXTENDED_STRAIGHT",
    "EXTENDED_STRAIGHT_5",
    "FIVE_OF_A_KIND",
    "DOUBLE_STRAIGHT",
)

STRAIGHT_GROUPS = (
    frozenset({"GENERAL", "ADVISOR", "ELEPHANT"}),
    frozenset({"CHARIOT", "HORSE", "CANNON"}),
)

ACTION_KEYS = {
    "deal": {"type", "hands"},
    "redeal": {"type", "seat", "accept"},
    "declare": {"type", "seat", "piles"},
    "play": {"type", "seat", "pieces"},
}


class RuleViolation(ValueError):
    """An action that the rules forbid, or that is not a well-formed action."""


# ---------------------------------------------------------------- pieces


def _name(kind: str) -> str:
    return kind.split("_")[0]


def _colour(kind: str) -> str:
    return kind.split("_")[1]


def _is_kind(value: Any) -> bool:
    return isinstance(value, str) and value in POINTS


def _check_kinds(pieces: Any) -> tuple[str, ...]:
    """Return pieces as a tuple, or raise RuleViolation naming a bad entry."""
    if isinstance(pieces, (str, bytes)) or not isinstance(pieces, (list, tuple)):
        raise RuleViolation(f"pieces must be a list of piece kinds, not {pieces!r}")
    for piece in pieces:
        if not _is_kind(piece):
            raise RuleViolation(f"{piece!r} is not a piece kind")
    return tuple(pieces)


def sort_hand(pieces) -> tuple[str, ...]:
    """Return pieces strongest first; every kind has its own point value."""
    return tuple(sorted(pieces, key=lambda kind: -POINTS[kind]))


def play_type(pieces) -> Optional[str]:
    """Name the play type that pieces form, or None if they form no valid play."""
    if isinstance(pieces, (str, bytes)) or not isinstance(pieces, (list, tuple)):
        return None
    if not pieces or not all(_is_kind(p) for p in pieces):
        return None
    count = len(pieces)
    names = Counter(_name(p) for p in pieces)
    one_colour = len({_colour(p) for p in pieces}) == 1
    shape = sorted(names.values(), reverse=True)
    soldiers = set(names) == {"SOLDIER"}
    # A straight-like play uses exactly the three names of one group.
    grouped = one_colour and frozenset(names) in STRAIGHT_GROUPS

    if count == 1:
        return "SINGLE"
    if count == 2:
        return "PAIR" if pieces[0] == pieces[1] else None
    if count == 3:
        if soldiers and one_colour:
            return "THREE_OF_A_KIND"
        return "STRAIGHT" if grouped else None
    if count == 4:
        if soldiers and one_colour:
            return "FOUR_OF_A_KIND"
        return "EXTENDED_STRAIGHT" if grouped and shape == [2, 1, 1] else None
    if count == 5:
        if soldiers and one_colour:
            return "FIVE_OF_A_KIND"
        return "EXTENDED_STRAIGHT_5" if grouped and shape == [2, 2, 1] else None
    if count == 6 and one_colour and set(names) == {"CHARIOT", "HORSE", "CANNON"}:
        return "DOUBLE_STRAIGHT" if shape == [2, 2, 2] else None
    return None


def play_value(pieces) -> int:
    """Return the strength of a play among plays of its type.

    The value is the total of the pieces' points, except for EXTENDED_STRAIGHT
    and EXTENDED_STRAIGHT_5, where only the top piece of each of the three
    names counts: that is the sum of the distinct kinds played.
    """
    pieces = _check_kinds(pieces)
    if play_type(pieces) in ("EXTENDED_STRAIGHT", "EXTENDED_STRAIGHT_5"):
        return sum(POINTS[kind] for kind in set(pieces))
    return sum(POINTS[kind] for kind in pieces)


def is_weak(hand) -> bool:
    """Tell whether a hand is weak: no piece in it is worth more than 9."""
    return all(POINTS[kind] <= 9 for kind in _check_kinds(hand))


def base_score(declared: int, captured: int) -> int:
    """Score one seat's round before the multiplier, per the RULES.md table."""
    if declared == 0:
        return 3 if captured == 0 else -captured
    if captured == declared:
        return declared + 5
    return -abs(declared - captured)


def shuffle_deal(rng: random.Random) -> tuple[tuple[str, ...], ...]:
    """Shuffle the 32 pieces with rng and deal 8 to each seat (hands sorted)."""
    pieces = list(DECK)
    rng.shuffle(pieces)
    return tuple(
        sort_hand(pieces[seat * HAND_SIZE:(seat + 1) * HAND_SIZE])
        for seat in range(SEATS)
    )


# ---------------------------------------------------------------- state


@dataclass(frozen=True)
class GameState:
    """Everything needed to continue a game; see the module docstring."""

    winning_score: int = 50
    max_rounds: int = 20
    phase: str = "PREPARATION"
    round: int = 1
    multiplier: int = 1
    dealt: bool = False
    hands: tuple = ((), (), (), ())
    redeal_pending: tuple = ()
    redeal_starter: Optional[int] = None
    starter: Optional[int] = None
    declarations: tuple = (None, None, None, None)
    zero_streak: tuple = (0, 0, 0, 0)
    turn: int = 0
    turn_starter: Optional[int] = None
    plays: tuple = ()
    captured: tuple = (0, 0, 0, 0)
    scores: tuple = (0, 0, 0, 0)
    last_turn_winner: Optional[int] = None
    winner: Optional[int] = None
    # A seat that already accepted a redeal while seats before it in the
    # deciding order (redeal_pending) still decide; only a game moved in from
    # a server that collects the decisions at once has one. See _redeal.
    redeal_accepted: Optional[int] = None

    def to_dict(self) -> dict:
        """Return the state as a dict of JSON-compatible values only.

        Optional keys (_OPTIONAL) are left out at their default, so states
        stored before they existed compare equal to the states they replay to.
        """
        data = {f.name: getattr(self, f.name) for f in fields(self)
                if not (f.name in _OPTIONAL and getattr(self, f.name) is None)}
        data["hands"] = [list(hand) for hand in self.hands]
        data["plays"] = [[seat, list(pieces)] for seat, pieces in self.plays]
        for key in ("redeal_pending", "declarations", "zero_streak", "captured", "scores"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "GameState":
        """Rebuild a state written by to_dict; raise ValueError if it is malformed."""
        if not isinstance(data, dict):
            raise ValueError("a game state must be a dict")
        names = {f.name for f in fields(cls)}
        if not names - _OPTIONAL <= set(data) <= names:
            missing, extra = sorted(names - _OPTIONAL - set(data)), sorted(set(data) - names)
            raise ValueError(f"bad game state keys: missing {missing}, unexpected {extra}")
        try:
            values = dict(data)
            values["hands"] = tuple(tuple(hand) for hand in data["hands"])
            values["plays"] = tuple((seat, tuple(pieces)) for seat, pieces in data["plays"])
            for key in ("redeal_pending", "declarations", "zero_streak", "captured", "scores"):
                values[key] = tuple(data[key])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"malformed game state: {exc}") from None
        if values["phase"] not in PHASES:
            raise ValueError(f"unknown phase {values['phase']!r}")
        if len(values["hands"]) != SEATS:
            raise ValueError("a game state needs exactly 4 hands")
        return cls(**values)


# GameState keys that to_dict leaves out (and from_dict accepts missing)
# while they hold None.
_OPTIONAL = frozenset({"redeal_accepted"})

_INT32 = 2 ** 31 - 1  # Scores, piles, rounds and multipliers are stored in INTEGER columns.


def check_state(state: GameState) -> GameState:
    """Return ``state`` if the engine can carry on from it; raise ValueError if not.

    For a state that did not come from ``apply`` (a game imported from
    elsewhere): each field must have its type and range, and each phase what
    ``expected`` and ``apply`` read in it, so that every later action gives
    an Outcome or a RuleViolation, never another error. It does not check
    that the state is reachable by play.
    """
    def seat(value, label, optional=True):
        if (value is None and optional) or (_is_int(value) and 0 <= value < SEATS):
            return
        raise ValueError(f"{label} must be a seat 0-3{' or None' if optional else ''}, not {value!r}")

    def number(value, label, low=0, high=_INT32):
        if not (_is_int(value) and low <= value <= high):
            raise ValueError(f"{label} must be an integer from {low} to {high}, not {value!r}")

    def four(values, label):
        if not isinstance(values, tuple) or len(values) != SEATS:
            raise ValueError(f"{label} must hold one value per seat")

    number(state.winning_score, "winning_score", 1)
    number(state.max_rounds, "max_rounds", 1)
    number(state.round, "round", 1, state.max_rounds)
    number(state.multiplier, "multiplier", 1)
    number(state.turn, "turn")
    if state.phase not in PHASES:
        raise ValueError(f"unknown phase {state.phase!r}")
    if not isinstance(state.dealt, bool):
        raise ValueError(f"dealt must be true or false, not {state.dealt!r}")
    four(state.hands, "hands")
    for hand in state.hands:
        _check_kinds(hand)
    for label in ("redeal_starter", "redeal_accepted", "starter", "turn_starter",
                  "last_turn_winner", "winner"):
        seat(getattr(state, label), label)
    if not isinstance(state.redeal_pending, tuple):
        raise ValueError("redeal_pending must be a list of seats")
    for pending in state.redeal_pending:
        seat(pending, "redeal_pending[]", optional=False)
    for label, low, high in (("zero_streak", 0, _INT32), ("captured", 0, MAX_DECLARE),
                             ("scores", -_INT32, _INT32)):
        four(getattr(state, label), label)
        for value in getattr(state, label):
            number(value, f"{label}[]", low, high)
    four(state.declarations, "declarations")
    for value in state.declarations:
        if value is not None:
            number(value, "declarations[]", 0, MAX_DECLARE)
    if not isinstance(state.plays, tuple) or len(state.plays) >= SEATS:
        raise ValueError("plays must list at most 3 plays of the turn under way")
    for i, play in enumerate(state.plays):
        if not (isinstance(play, tuple) and len(play) == 2):
            raise ValueError(f"a play must be (seat, pieces), not {play!r}")
        seat(play[0], "plays[][0]", optional=False)
        _check_kinds(play[1])
    # What each phase reads.
    if state.phase in ("PREPARATION", "DECLARATION") and state.redeal_starter is None \
            and state.round > 1 and state.last_turn_winner is None:
        raise ValueError("after round 1 the last turn's winner starts the round; it is missing")
    if state.phase == "PREPARATION" and state.dealt:
        if not state.redeal_pending:
            raise ValueError("a dealt hand in PREPARATION waits for a redeal decision; none is pending")
        if state.round == 1 and state.redeal_starter is None and \
                not any("GENERAL_RED" in hand for hand in state.hands):
            raise ValueError("in round 1 the holder of GENERAL_RED starts; nobody holds it")
    if state.phase == "DECLARATION":
        seat(state.starter, "starter", optional=False)
        if None not in state.declarations:
            raise ValueError("every seat has declared, yet the phase is DECLARATION")
    if state.phase == "TURN":
        seat(state.turn_starter, "turn_starter", optional=False)
        if None in state.declarations:
            raise ValueError("a seat has not declared, yet the phase is TURN")
        for i, (who, _) in enumerate(state.plays):
            if who != (state.turn_starter + i) % SEATS:
                raise ValueError("the plays of a turn go in seat order from its starter")
    return state


class Outcome(NamedTuple):
    """The result of apply(): the new state and the results it derived."""

    state: GameState
    events: tuple


@dataclass(frozen=True)
class Expectation:
    """What the game waits for next.

    kind is "deal", "redeal", "declare", "play" or "none" (game over); seat is
    None for deal and none; allowed lists the legal pile counts for a
    declaration; count is the piece count a follower must play (None for the
    turn starter, who chooses 1-6).
    """

    kind: str
    seat: Optional[int] = None
    allowed: Optional[tuple] = None
    count: Optional[int] = None


def _is_int(value: Any) -> bool:
    # bool is a subclass of int, but True is not a seat or a pile count.
    return isinstance(value, int) and not isinstance(value, bool)


def new_game(winning_score: int = 50, max_rounds: int = 20) -> GameState:
    """Start a game: round 1, PREPARATION, nothing dealt yet."""
    for label, value in (("winning_score", winning_score), ("max_rounds", max_rounds)):
        if not _is_int(value) or value < 1:
            raise RuleViolation(f"{label} must be a positive integer, not {value!r}")
    return GameState(winning_score=winning_score, max_rounds=max_rounds)


def _seat_order(first: int) -> tuple[int, ...]:
    return tuple((first + i) % SEATS for i in range(SEATS))


def _provisional_starter(state: GameState) -> int:
    """The seat that starts the round if nobody (else) accepts a redeal."""
    if state.redeal_starter is not None:
        return state.redeal_starter
    if state.round == 1:
        return next(s for s in range(SEATS) if "GENERAL_RED" in state.hands[s])
    if state.last_turn_winner is None:
        raise ValueError("inconsistent state: no last turn winner after round 1")
    return state.last_turn_winner


def allowed_declarations(state: GameState, seat: int) -> tuple[int, ...]:
    """Return the pile counts seat may declare, given the declarations made so far."""
    allowed = range(MAX_DECLARE + 1)
    others = [d for s, d in enumerate(state.declarations) if s != seat and d is not None]
    if len(others) == SEATS - 1:
        # The last declarer may not make the total exactly 8.
        allowed = [n for n in allowed if sum(others) + n != MAX_DECLARE]
    if state.zero_streak[seat] >= 2:
        allowed = [n for n in allowed if n >= 1]
    return tuple(allowed)


def expected(state: GameState) -> Expectation:
    """Say which action the game waits for next, and from which seat."""
    if state.phase == "GAME_OVER":
        return Expectation("none")
    if state.phase == "PREPARATION":
        if not state.dealt:
            return Expectation("deal")
        return Expectation("redeal", seat=state.redeal_pending[0])
    if state.phase == "DECLARATION":
        seat = next(s for s in _seat_order(state.starter) if state.declarations[s] is None)
        return Expectation("declare", seat=seat, allowed=allowed_declarations(state, seat))
    seat = (state.turn_starter + len(state.plays)) % SEATS
    count = len(state.plays[0][1]) if state.plays else None
    return Expectation("play", seat=seat, count=count)


# ---------------------------------------------------------------- actions


def _check_shape(action: Any) -> str:
    """Check an action's keys and return its type; the values are checked later."""
    if not isinstance(action, dict):
        raise RuleViolation(f"an action must be a dict, not {type(action).__name__}")
    kind = action.get("type")
    # Only a str can name a type: a list would not even be hashable.
    if not isinstance(kind, str) or kind not in ACTION_KEYS:
        raise RuleViolation(f"unknown action type {kind!r}")
    if set(action) != ACTION_KEYS[kind]:
        want = ", ".join(sorted(ACTION_KEYS[kind]))
        raise RuleViolation(f"a {kind} action has exactly the keys {want}")
    if "seat" in action and not (_is_int(action["seat"]) and 0 <= action["seat"] < SEATS):
        raise RuleViolation(f"seat must be 0, 1, 2 or 3, not {action['seat']!r}")
    return kind


def apply(state: GameState, action: dict) -> Outcome:
    """Apply one action and return the new state and derived events.

    Raises RuleViolation for a malformed action or one the rules forbid now;
    the given state is never changed (it is immutable).
    """
    kind = _check_shape(action)
    want = expected(state)
    if want.kind == "none":
        raise RuleViolation("the game is over: no more actions are accepted")
    if kind != want.kind:
        who = "" if want.seat is None else f" from seat {want.seat}"
        raise RuleViolation(f"expected a {want.kind} action{who}, not a {kind} action")
    if want.seat is not None and action["seat"] != want.seat:
        raise RuleViolation(
            f"seat {action['seat']} cannot {kind} now: it is seat {want.seat}'s turn"
        )
    handler = {"deal": _deal, "redeal": _redeal, "declare": _declare, "play": _play}[kind]
    return handler(state, action, want)


def _deal(state: GameState, action: dict, want: Expectation) -> Outcome:
    hands = action["hands"]
    if not isinstance(hands, (list, tuple)) or len(hands) != SEATS:
        raise RuleViolation("a deal must give exactly 4 hands")
    hands = tuple(_check_kinds(hand) for hand in hands)
    if any(len(hand) != HAND_SIZE for hand in hands):
        raise RuleViolation("each hand must hold exactly 8 pieces")
    dealt = Counter(kind for hand in hands for kind in hand)
    if dealt != Counter(DECK):
        extra = sorted((dealt - Counter(DECK)).elements())
        short = sorted((Counter(DECK) - dealt).elements())
        raise RuleViolation(f"a deal must use the 32 pieces: extra {extra}, missing {short}")
    state = replace(state, dealt=True, hands=tuple(sort_hand(hand) for hand in hands))
    # Weak seats decide in order from the provisional starter.
    first = _provisional_starter(state)
    pending = tuple(s for s in _seat_order(first) if is_weak(state.hands[s]))
    if pending:
        return Outcome(replace(state, redeal_pending=pending), ())
    return Outcome(_begin_declaration(state), ())


def _begin_declaration(state: GameState) -> GameState:
    return replace(
        state,
        phase="DECLARATION",
        redeal_pending=(),
        starter=_provisional_starter(state),
        declarations=(None,) * SEATS,
    )


def _redeal(state: GameState, action: dict, want: Expectation) -> Outcome:
    accept, seat = action["accept"], action["seat"]
    if not isinstance(accept, bool):
        raise RuleViolation(f"accept must be true or false, not {accept!r}")
    rest = state.redeal_pending[1:]
    if not accept and not rest and state.redeal_accepted is not None:
        # Everyone before an accept already recorded declined: that accept
        # is the first one in order, and it takes effect now.
        accept, seat = True, state.redeal_accepted
    if accept:
        # The first accept ends the decisions; a fresh deal must follow.
        starter = seat if state.redeal_starter is None else state.redeal_starter
        return Outcome(
            replace(
                state,
                multiplier=state.multiplier + 1,
                redeal_starter=starter,
                dealt=False,
                hands=((),) * SEATS,
                redeal_pending=(),
                redeal_accepted=None,
            ),
            (),
        )
    if rest:
        return Outcome(replace(state, redeal_pending=rest), ())
    return Outcome(_begin_declaration(state), ())


def _declare(state: GameState, action: dict, want: Expectation) -> Outcome:
    seat, piles = action["seat"], action["piles"]
    if not _is_int(piles):
        raise RuleViolation(f"piles must be an integer, not {piles!r}")
    if piles not in want.allowed:
        reasons = []
        if not 0 <= piles <= MAX_DECLARE:
            reasons.append("a declaration must be between 0 and 8")
        if piles == 0 and state.zero_streak[seat] >= 2:
            reasons.append("it declared 0 in each of the two previous rounds, so it must declare at least 1")
        others = [d for d in state.declarations if d is not None]
        if len(others) == SEATS - 1 and sum(others) + piles == MAX_DECLARE:
            reasons.append("the total would be 8")
        raise RuleViolation(f"seat {seat} cannot declare {piles}: {' and '.join(reasons)}")
    declarations = tuple(piles if s == seat else d for s, d in enumerate(state.declarations))
    state = replace(state, declarations=declarations)
    if None not in declarations:
        state = replace(state, phase="TURN", turn=1, turn_starter=state.starter, plays=())
    return Outcome(state, ())


def _play(state: GameState, action: dict, want: Expectation) -> Outcome:
    seat = action["seat"]
    pieces = _check_kinds(action["pieces"])
    if want.count is None:
        if not 1 <= len(pieces) <= MAX_PLAY:
            raise RuleViolation(f"seat {seat} must start the turn with 1 to 6 pieces, not {len(pieces)}")
        if play_type(pieces) is None:
            raise RuleViolation(f"seat {seat} cannot start with {list(pieces)}: not a valid play")
    elif len(pieces) != want.count:
        raise RuleViolation(f"seat {seat} must play exactly {want.count} pieces, not {len(pieces)}")
    missing = Counter(pieces) - Counter(state.hands[seat])
    if missing:
        raise RuleViolation(f"seat {seat} does not hold {sorted(missing.elements())}")
    left = Counter(state.hands[seat]) - Counter(pieces)
    hands = tuple(sort_hand(left.elements()) if s == seat else h for s, h in enumerate(state.hands))
    state = replace(state, hands=hands, plays=state.plays + ((seat, pieces),))
    if len(state.plays) < SEATS:
        return Outcome(state, ())
    return _finish_turn(state)


def turn_winner(plays) -> int:
    """Return the seat that wins a complete turn given (seat, pieces) in play order.

    Only plays of the starter's type compete; a strictly higher value is needed
    to take the lead, so a tie keeps the earlier play.
    """
    lead_type = play_type(plays[0][1])
    winner, best = plays[0][0], play_value(plays[0][1])
    for seat, pieces in plays[1:]:
        if play_type(pieces) == lead_type and play_value(pieces) > best:
            winner, best = seat, play_value(pieces)
    return winner


def _finish_turn(state: GameState) -> Outcome:
    winner = turn_winner(state.plays)
    piles = len(state.plays[0][1])
    event = {
        "type": "turn_result",
        "round": state.round,
        "turn": state.turn,
        "starter": state.turn_starter,
        "plays": [[seat, list(pieces)] for seat, pieces in state.plays],
        "play_type": play_type(state.plays[0][1]),
        "winner": winner,
        "piles": piles,
    }
    captured = tuple(c + piles if s == winner else c for s, c in enumerate(state.captured))
    state = replace(state, captured=captured, last_turn_winner=winner, plays=())
    if any(state.hands):
        return Outcome(replace(state, turn=state.turn + 1, turn_starter=winner), (event,))
    after, more = _finish_round(state)
    return Outcome(after, (event,) + more)


def _finish_round(state: GameState) -> tuple[GameState, tuple]:
    """Score the round whose hands are empty, then end the game or start the next round."""
    round_scores = [
        base_score(d, c) * state.multiplier for d, c in zip(state.declarations, state.captured)
    ]
    totals = tuple(t + r for t, r in zip(state.scores, round_scores))
    streak = tuple(z + 1 if d == 0 else 0 for z, d in zip(state.zero_streak, state.declarations))
    events = [
        {
            "type": "round_result",
            "round": state.round,
            "multiplier": state.multiplier,
            "starter": state.starter,
            "declared": list(state.declarations),
            "captured": list(state.captured),
            "scores": round_scores,
            "totals": list(totals),
        }
    ]
    state = replace(state, scores=totals, zero_streak=streak, turn=0, turn_starter=None)
    top = max(totals)
    leaders = [s for s in range(SEATS) if totals[s] == top]
    if (top >= state.winning_score and len(leaders) == 1) or state.round >= state.max_rounds:
        # A tie at the top only plays on while rounds remain.
        winner = leaders[0] if len(leaders) == 1 else None
        events.append({"type": "game_over", "winner": winner, "totals": list(totals), "rounds": state.round})
        return replace(state, phase="GAME_OVER", winner=winner), tuple(events)
    following = replace(
        state,
        phase="PREPARATION",
        round=state.round + 1,
        multiplier=1,
        dealt=False,
        hands=((),) * SEATS,
        redeal_pending=(),
        redeal_starter=None,
        starter=None,
        declarations=(None,) * SEATS,
        captured=(0,) * SEATS,
    )
    return following, tuple(events)


def finish_round(state: GameState) -> Outcome:
    """Score a round whose last turn is over (TURN phase, hands empty, no plays).

    apply() does this itself when the last play empties the hands; this is
    for a state taken from elsewhere at that very moment (a server showing
    the round's scores). Raises RuleViolation for any other state.
    """
    if state.phase != "TURN" or any(state.hands) or state.plays:
        raise RuleViolation("only a round whose hands are empty can be scored")
    if sum(state.captured) != MAX_DECLARE or None in state.declarations:
        raise RuleViolation("a finished round hands out 8 piles to declared seats")
    after, events = _finish_round(state)
    return Outcome(after, events)
