"""Seeded players for Liap Tui, and a driver that plays whole games.

Every choice here is a pure function of the state and a random.Random that
the caller passes in. next_action() builds that generator from (seed, step)
alone, so a game that is stopped, stored and resumed from its state and step
count continues exactly as if it had never stopped.
"""

from __future__ import annotations

import random
from collections import Counter
from itertools import combinations
from typing import Iterator

from .rules import (
    MAX_DECLARE,
    MAX_PLAY,
    PLAY_TYPES,
    POINTS,
    GameState,
    Outcome,
    RuleViolation,
    apply,
    expected,
    new_game,
    play_type,
    play_value,
    shuffle_deal,
)

DEFAULT_BOTS = ("smart", "random", "smart", "random")


def valid_plays(hand, size=None) -> list[tuple[str, ...]]:
    """List every distinct valid play in hand, of one size or of 1-6 pieces.

    Hands are kept sorted, so the combinations come out in a fixed order and
    duplicates (from repeated kinds) are easy to drop.
    """
    sizes = range(1, min(MAX_PLAY, len(hand)) + 1) if size is None else (size,)
    seen = set()
    plays = []
    for n in sizes:
        for combo in combinations(hand, n):
            if combo not in seen:
                seen.add(combo)
                if play_type(combo) is not None:
                    plays.append(combo)
    return plays


def _strength(play) -> tuple:
    """Sort key: play type first, then value, then size (bigger captures more)."""
    return (PLAY_TYPES.index(play_type(play)), play_value(play), len(play))


def _pieces_to_beat(state: GameState) -> tuple[str, int]:
    """Return the lead type of the turn under way and the best value of that type so far."""
    lead = state.plays[0][1]
    kind = play_type(lead)
    best = max(play_value(p) for _, p in state.plays if play_type(p) == kind)
    return kind, best


class RandomBot:
    """Plays any legal action, chosen uniformly where that is cheap to do."""

    def choose(self, state: GameState, seat: int, rng: random.Random) -> dict:
        """Return a legal action for seat, which must be the seat the game waits for."""
        want = _expect_seat(state, seat)
        hand = state.hands[seat]
        if want.kind == "redeal":
            return {"type": "redeal", "seat": seat, "accept": rng.random() < 0.5}
        if want.kind == "declare":
            return {"type": "declare", "seat": seat, "piles": rng.choice(want.allowed)}
        if want.count is None:
            pieces = rng.choice(valid_plays(hand))
        else:
            pieces = tuple(rng.sample(hand, want.count))
        return {"type": "play", "seat": seat, "pieces": list(pieces)}


class SmartBot:
    """A modest player: counts its strong pieces, leads hard, and saves pieces it cannot win with."""

    def choose(self, state: GameState, seat: int, rng: random.Random) -> dict:
        """Return a legal action for seat, which must be the seat the game waits for."""
        want = _expect_seat(state, seat)
        hand = state.hands[seat]
        if want.kind == "redeal":
            return {"type": "redeal", "seat": seat, "accept": self._very_weak(hand)}
        if want.kind == "declare":
            guess = self._estimate_piles(hand)
            # Nearest allowed value; on a tie the smaller one, which is safer.
            piles = min(want.allowed, key=lambda n: (abs(n - guess), n))
            return {"type": "declare", "seat": seat, "piles": piles}
        if want.count is None:
            pieces = max(valid_plays(hand), key=_strength)
        else:
            pieces = self._follow(state, hand, want.count)
        return {"type": "play", "seat": seat, "pieces": list(pieces)}

    @staticmethod
    def _very_weak(hand) -> bool:
        # Accept a redeal only when nothing beats a black chariot and no
        # combination of three or more pieces is available.
        if max(POINTS[kind] for kind in hand) > 7:
            return False
        return not any(len(p) >= 3 for p in valid_plays(hand))

    @staticmethod
    def _estimate_piles(hand) -> int:
        """Guess the piles this hand wins: big combinations plus strong singles."""
        left = Counter(hand)
        piles = 0
        # Greedily reserve the strongest disjoint combinations of 3+ pieces.
        for play in sorted(valid_plays(hand), key=_strength, reverse=True):
            if len(play) >= 3 and not Counter(play) - left:
                left -= Counter(play)
                piles += len(play)
        # Generals and advisors usually win a single turn.
        piles += sum(n for kind, n in left.items() if POINTS[kind] >= 11)
        return min(piles, MAX_DECLARE)

    @staticmethod
    def _follow(state: GameState, hand, count: int) -> tuple[str, ...]:
        kind, best = _pieces_to_beat(state)
        winning = [p for p in valid_plays(hand, count) if play_type(p) == kind and play_value(p) > best]
        if winning:
            return max(winning, key=play_value)
        # Cannot win: give away the weakest pieces (the hand is sorted strongest first).
        return tuple(hand[-count:])


BOTS = {"random": RandomBot, "smart": SmartBot}


def _expect_seat(state: GameState, seat: int):
    want = expected(state)
    if want.seat != seat:
        raise RuleViolation(
            f"seat {seat} has nothing to choose now: the game expects {want.kind} from seat {want.seat}"
        )
    return want


def _bot(spec):
    """Turn a bot name ("smart", "random") or an object with choose() into a bot."""
    if isinstance(spec, str):
        if spec not in BOTS:
            raise ValueError(f"unknown bot {spec!r}; choose from {sorted(BOTS)}")
        return BOTS[spec]()
    if not hasattr(spec, "choose"):
        raise ValueError(f"a bot needs a choose(state, seat, rng) method: {spec!r}")
    return spec


def next_action(state: GameState, seed, step: int, bots=DEFAULT_BOTS) -> dict:
    """Return the action the table makes next; a pure function of (seed, step, state).

    A deal is shuffled with the step's generator; any other action comes from
    the bot sitting in the seat the game waits for.
    """
    if len(bots) != 4:
        raise ValueError("bots must name exactly 4 players")
    rng = random.Random(f"{seed}:{step}")
    want = expected(state)
    if want.kind == "none":
        raise RuleViolation("the game is over: there is no next action")
    if want.kind == "deal":
        return {"type": "deal", "hands": [list(hand) for hand in shuffle_deal(rng)]}
    return _bot(bots[want.seat]).choose(state, want.seat, rng)


def play_game(
    seed, winning_score: int = 50, max_rounds: int = 20, bots=DEFAULT_BOTS
) -> Iterator[tuple[int, GameState, dict, Outcome]]:
    """Play a whole game from new_game, yielding (step, state_before, action, outcome).

    Steps count from 1. The generator stops once the game is over.
    """
    state = new_game(winning_score, max_rounds)
    step = 1
    while expected(state).kind != "none":
        action = next_action(state, seed, step, bots)
        outcome = apply(state, action)
        yield step, state, action, outcome
        state = outcome.state
        step += 1
