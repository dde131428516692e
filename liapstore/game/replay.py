"""Replay a stored game through the rules engine and say where it disagrees.

Pure: it takes the stored log and the stored results as plain values (any
objects with the record attributes will do) and imports nothing from the
store. A disagreement between what the rules derive from the log and what is
stored means the stored data was corrupted, or written by something other
than liapstore.
"""
from dataclasses import dataclass, field
from typing import Optional

from . import rules


@dataclass(frozen=True)
class Problem:
    """One disagreement: where (``sequence`` of the action, if any) and what."""
    sequence: Optional[int]
    where: str
    message: str

    def __str__(self):
        at = f"action #{self.sequence}, " if self.sequence is not None else ""
        return f"{at}{self.where}: {self.message}"


@dataclass(frozen=True)
class ReplayStep:
    sequence: int
    action: dict
    state: rules.GameState
    events: tuple


@dataclass
class Stored:
    """What the database holds, in seat terms (seat 0-3 instead of player ids)."""
    turns: dict           # (round, turn) -> {"starter", "winner", "piles", "plays"}
    rounds: dict          # round -> round_data of a finished round (or {} while playing)
    final: Optional[dict]  # {"winner", "totals"} once the game is over
    snapshot: dict        # games.phase_data
    version: int
    seats: list           # per position: {"score", "pieces_in_hand", "declared_piles", "captured_piles"}

    @classmethod
    def from_records(cls, game, seats, rounds, turns, players):
        seat_of = {p: i for i, p in enumerate(players)}
        round_of = {r.id: r.round_number for r in rounds}
        stored_turns = {
            (round_of.get(t.round_id), t.turn_number): {
                "starter": seat_of.get(t.leading_player_id), "winner": seat_of.get(t.winner_id),
                "piles": t.pile_count,
                "plays": [[p.get("seat"), list(p.get("pieces", []))] for p in t.plays]}
            for t in turns}
        final = None
        if game.final_scores is not None:
            final = {"winner": seat_of.get(game.winner_id), "totals": game.final_scores.get("totals")}
        return cls(stored_turns, {r.round_number: r.round_data for r in rounds}, final,
                   game.phase_data, game.version,
                   [{"score": s.score, "pieces_in_hand": list(s.pieces_in_hand),
                     "declared_piles": s.declared_piles, "captured_piles": s.captured_piles}
                    for s in seats])


@dataclass
class Replay:
    steps: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    state: Optional[rules.GameState] = None

    @property
    def ok(self):
        return not self.problems


def replay(settings, actions, stored):
    """Derive every state from ``actions`` [(sequence, action)] and compare with ``stored``."""
    result = Replay(state=rules.new_game(settings["winning_score"], settings["max_rounds"]))
    problems = result.problems
    derived_turns, derived_rounds, final = {}, {}, None
    for expected_seq, (seq, action) in enumerate(actions, start=1):
        if seq != expected_seq:
            problems.append(Problem(seq, "action log", f"expected sequence number {expected_seq}"))
            break
        if seq == 1 and action.get("type") == "import":
            # A game moved in from elsewhere starts from the state it had then.
            result.state = rules.GameState.from_dict(action["state"])
            result.steps.append(ReplayStep(seq, action, result.state, ()))
            if result.state.phase == "GAME_OVER":
                # It arrived finished: its result is the one stored with it.
                final = (seq, {"winner": result.state.winner, "totals": list(result.state.scores)})
            continue
        try:
            outcome = rules.apply(result.state, action)
        except rules.RuleViolation as e:
            problems.append(Problem(seq, "action log", f"illegal action {action}: {e}"))
            break
        result.state = outcome.state
        result.steps.append(ReplayStep(seq, action, outcome.state, outcome.events))
        for event in outcome.events:
            if event["type"] == "turn_result":
                derived_turns[(event["round"], event["turn"])] = (seq, event)
            elif event["type"] == "round_result":
                derived_rounds[event["round"]] = (seq, event)
            elif event["type"] == "game_over":
                final = (seq, event)
    _compare_turns(derived_turns, stored, problems)
    _compare_rounds(derived_rounds, stored, problems)
    _compare_end(final, stored, problems)
    _compare_snapshot(result.state, len(result.steps), stored, problems)
    return result


def _compare_turns(derived, stored, problems):
    for key, (seq, event) in derived.items():
        where = f"round {key[0]} turn {key[1]}"
        got = stored.turns.get(key)
        if got is None:
            problems.append(Problem(seq, where, "turn result missing from the turns table"))
            continue
        want = {"starter": event["starter"], "winner": event["winner"], "piles": event["piles"],
                "plays": [[s, list(p)] for s, p in event["plays"]]}
        for name, value in want.items():
            if got[name] != value:
                problems.append(Problem(seq, where, f"stored {name} {got[name]!r}, rules say {value!r}"))
    for key in sorted(set(stored.turns) - set(derived), key=str):
        problems.append(Problem(None, f"round {key[0]} turn {key[1]}",
                                "stored turn that the action log never played"))


def _compare_rounds(derived, stored, problems):
    for number, (seq, event) in derived.items():
        got = stored.rounds.get(number) or {}
        for name in ("multiplier", "declared", "captured", "scores", "totals"):
            if got.get(name) != event[name]:
                problems.append(Problem(seq, f"round {number}",
                                        f"stored {name} {got.get(name)!r}, rules say {event[name]!r}"))


def _compare_end(final, stored, problems):
    if final is None:
        if stored.final is not None:
            problems.append(Problem(None, "game result", "stored as finished, but the log never ends it"))
        return
    seq, event = final
    if stored.final is None:
        problems.append(Problem(seq, "game result", "the log ends the game but no result is stored"))
        return
    for name in ("winner", "totals"):
        if stored.final[name] != event[name]:
            problems.append(Problem(seq, "game result",
                                    f"stored {name} {stored.final[name]!r}, rules say {event[name]!r}"))


def _compare_snapshot(state, version, stored, problems):
    if stored.version != version:
        problems.append(Problem(None, "games.version", f"stored {stored.version}, log has {version} actions"))
    if stored.snapshot != state.to_dict():
        diff = sorted(k for k, x in state.to_dict().items() if stored.snapshot.get(k) != x)
        problems.append(Problem(None, "games.phase_data", f"differs from the replayed state in {diff}"))
    for pos, seat in enumerate(stored.seats):
        want = {"score": state.scores[pos], "pieces_in_hand": list(state.hands[pos]),
                "declared_piles": state.declarations[pos], "captured_piles": state.captured[pos]}
        for name, value in want.items():
            if seat[name] != value:
                problems.append(Problem(None, f"seat {pos}", f"stored {name} {seat[name]!r}, rules say {value!r}"))


def describe(step):
    """One readable line for a replayed action, plus lines for what it settled."""
    a, s = step.action, step.state
    if a["type"] == "import":
        line = f"imported in round {s.round}, phase {s.phase}, totals {list(s.scores)}"
    elif a["type"] == "deal":
        line = f"round {s.round}: deal (multiplier {s.multiplier})"
    elif a["type"] == "redeal":
        line = f"seat {a['seat']} {'accepts' if a['accept'] else 'declines'} a redeal"
    elif a["type"] == "declare":
        line = f"seat {a['seat']} declares {a['piles']}"
    else:
        line = f"seat {a['seat']} plays {' '.join(a['pieces'])}"
    lines = [f"#{step.sequence:<5} {line}"]
    for e in step.events:
        if e["type"] == "turn_result":
            lines.append(f"       turn {e['turn']}: seat {e['winner']} wins {e['piles']} "
                         f"pile(s) with {e['play_type']}")
        elif e["type"] == "round_result":
            lines.append(f"       round {e['round']} scored x{e['multiplier']}: {e['scores']} "
                         f"-> totals {e['totals']}")
        elif e["type"] == "game_over":
            who = "a tie" if e["winner"] is None else f"seat {e['winner']} wins"
            lines.append(f"       game over after {e['rounds']} rounds: {who}, totals {e['totals']}")
    return lines
