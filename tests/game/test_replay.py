"""The replayer on its own: a scripted game, what a correct store would hold
for it (built here from the rules' events, the test's oracle), and each way
the stored values can disagree. No store is involved, so these run in
milliseconds; tests/support/corruption.py covers the same ground through
real databases."""
import copy

import pytest

from liapstore.game import bots, rules
from liapstore.game.replay import Problem, Stored, describe, replay


def script(seed, winning_score=10, max_rounds=3):
    return list(bots.play_game(seed, winning_score=winning_score, max_rounds=max_rounds))


def _seed(predicate, **settings):
    return next(s for s in range(500) if predicate(script(s, **settings)))


def events(steps, kind):
    return [e for *_, o in steps for e in o.events if e["type"] == kind]


def stored_for(steps, imported=None):
    """What a correct store holds after ``steps``: the oracle. ``imported``:
    the state a game was imported in, before ``steps``."""
    state = steps[-1][3].state if steps else imported or rules.new_game(10, 3)
    turns, rounds, columns, final = {}, {}, {}, None
    if imported is not None and (imported.dealt or imported.multiplier > 1):
        columns[imported.round] = {"multiplier": imported.multiplier,
                                   "had_redeal": imported.multiplier > 1, "ended": False}
        rounds[imported.round] = {}
    for _, before, action, outcome in steps:
        if action["type"] == "deal":
            columns.setdefault(before.round, {"multiplier": 1, "had_redeal": False, "ended": False})
            columns[before.round]["multiplier"] = outcome.state.multiplier
            columns[before.round]["had_redeal"] = outcome.state.multiplier > 1
            rounds.setdefault(before.round, {})
        for e in outcome.events:
            if e["type"] == "turn_result":
                turns[(e["round"], e["turn"])] = {
                    "starter": e["starter"], "winner": e["winner"], "piles": e["piles"],
                    "required": e["piles"], "plays": [[s, list(p)] for s, p in e["plays"]],
                    "players": [s for s, _ in e["plays"]]}
            elif e["type"] == "round_result":
                rounds[e["round"]] = {k: x for k, x in e.items() if k != "type"}
                columns[e["round"]]["ended"] = True
            elif e["type"] == "game_over":
                final = {"winner": e["winner"], "totals": e["totals"], "rounds": e["rounds"],
                         "by_seat": e["totals"]}
    seats = [{"score": state.scores[i], "pieces_in_hand": list(state.hands[i]),
              "declared_piles": state.declarations[i], "captured_piles": state.captured[i]}
             for i in range(4)]
    game = {"current_round": state.round, "current_phase": state.phase,
            "ended": state.phase == "GAME_OVER"}
    return Stored(turns, rounds, final, state.to_dict(), len(steps) + (imported is not None),
                  seats, columns, game)


def run(steps, stored, settings=None):
    return replay(settings or {"winning_score": 10, "max_rounds": 3},
                  [(step, action) for step, _, action, _ in steps], stored)


# A finished game of three rounds with a winner and a redeal in a later round.
SEED = _seed(lambda sc: events(sc, "game_over")[0]["rounds"] == 3
             and events(sc, "game_over")[0]["winner"] is not None
             and any(e["multiplier"] > 1 and e["round"] >= 2 for e in events(sc, "round_result")))


@pytest.fixture
def game():
    steps = script(SEED)
    return steps, stored_for(steps)


def test_a_faithful_store_replays_clean(game):
    steps, stored = game
    result = run(steps, stored)
    assert result.ok and result.problems == []
    assert result.state == steps[-1][3].state
    assert [s.sequence for s in result.steps] == list(range(1, len(steps) + 1))
    assert [s.state for s in result.steps] == [o.state for *_, o in steps]
    assert [s.events for s in result.steps] == [o.events for *_, o in steps]


def test_a_game_under_way_replays_clean():
    steps = script(SEED)
    for cut in (0, 1, 5, len(steps) // 2, len(steps) - 1):
        part = steps[:cut]
        assert run(part, stored_for(part)).problems == [], cut


def only(result):
    assert len(result.problems) == 1, [str(p) for p in result.problems]
    return result.problems[0]


def test_problem_text():
    assert str(Problem(7, "round 2", "stored x")) == "action #7, round 2: stored x"
    assert str(Problem(None, "games.version", "stored 3")) == "games.version: stored 3"


def test_a_gap_in_the_log(game):
    steps, stored = game
    actions = [(1, steps[0][2]), (3, steps[2][2])]
    result = replay({"winning_score": 10, "max_rounds": 3}, actions, stored_for(steps[:1]))
    first = result.problems[0]
    assert (first.sequence, first.where, first.message) == (3, "action log", "expected sequence number 2")
    assert len(result.steps) == 1


def test_an_illegal_action_in_the_log(game):
    steps, stored = game
    bad = {"type": "deal", "hands": steps[0][2]["hands"][:3]}
    result = replay({"winning_score": 10, "max_rounds": 3}, [(1, bad)], stored_for([]))
    first = result.problems[0]
    assert (first.sequence, first.where) == (1, "action log")
    assert first.message == f"illegal action {bad}: a deal must give exactly 4 hands"
    assert result.steps == []


@pytest.mark.parametrize("at", ["PREPARATION", "DECLARATION", "TURN"])
def test_an_imported_game_starts_from_its_state(game, at):
    steps, _ = game
    # In a later round with a redeal: PREPARATION with the hands dealt and a
    # redeal decision pending.
    number = next(e["round"] for e in events(steps, "round_result") if e["multiplier"] > 1 and e["round"] >= 2)
    cut = next(i for i, (_, before, _, _) in enumerate(steps)
               if before.round == number and before.phase == at and (at != "PREPARATION" or before.dealt))
    state = steps[cut][1]
    rest = steps[cut:]
    actions = [(1, {"type": "import", "state": state.to_dict()})] + \
        [(i + 2, a) for i, (_, _, a, _) in enumerate(rest)]
    result = replay({"winning_score": 10, "max_rounds": 3}, actions, stored_for(rest, imported=state))
    assert result.problems == [], [str(p) for p in result.problems]
    assert result.steps[0].state == state and result.steps[0].events == ()
    assert result.state == steps[-1][3].state
    assert describe(result.steps[0]) == [
        f"#1     imported in round {number}, phase {at}, totals {list(state.scores)}"]


# -- each stored fact, changed ---------------------------------------------------------------


def _turn(stored, round_number=2, index=2):
    # index 2: a turn number other than the round number, so that the two
    # cannot be confused in what verify reports.
    return sorted(k for k in stored.turns if k[0] == round_number)[index]


def _turn_seq(steps, key):
    return next(step for step, _, _, o in steps for e in o.events
                if e["type"] == "turn_result" and (e["round"], e["turn"]) == key)


def _round_seq(steps, number):
    return next(step for step, _, _, o in steps for e in o.events
                if e["type"] == "round_result" and e["round"] == number)


@pytest.mark.parametrize("name, change", [
    ("starter", lambda t: (t["starter"] + 1) % 4),
    ("winner", lambda t: (t["winner"] + 1) % 4),
    ("piles", lambda t: t["piles"] + 1),
    ("required", lambda t: t["required"] + 1),
    ("plays", lambda t: t["plays"][::-1]),
    ("players", lambda t: [(s + 1) % 4 for s in t["players"]]),
])
def test_a_changed_turn(game, name, change):
    steps, stored = game
    key = _turn(stored)
    good = stored.turns[key][name]
    stored.turns[key][name] = bad = change(stored.turns[key])
    p = only(run(steps, stored))
    assert (p.sequence, p.where) == (_turn_seq(steps, key), f"round {key[0]} turn {key[1]}")
    assert p.message == f"stored {name} {bad!r}, rules say {good!r}"


def test_missing_turns(game):
    steps, stored = game
    keys = [_turn(stored), _turn(stored, 3, 0)]
    for key in keys:
        del stored.turns[key]
    assert [(p.sequence, p.where, p.message) for p in run(steps, stored).problems] == [
        (_turn_seq(steps, key), f"round {key[0]} turn {key[1]}", "turn result missing from the turns table")
        for key in keys]


def test_a_missing_last_round(game):
    steps, stored = game
    del stored.rounds[3]
    del stored.round_columns[3]
    event = events(steps, "round_result")[-1]
    assert [(p.sequence, p.where, p.message) for p in run(steps, stored).problems] == [
        (_round_seq(steps, 3), "round 3", f"stored {n} None, rules say {event[n]!r}")
        for n in ("multiplier", "declared", "captured", "scores", "totals")]


def test_extra_turns(game):
    steps, stored = game
    last = max(k for k in stored.turns if k[0] == 2)
    stored.turns[(2, last[1] + 1)] = dict(stored.turns[last])
    stored.turns[(None, 1)] = dict(stored.turns[last])
    problems = run(steps, stored).problems
    assert [(p.sequence, p.where, p.message) for p in problems] == [
        (None, "round 2 turn %d" % (last[1] + 1), "stored turn that the action log never played"),
        (None, "round None turn 1", "stored turn that the action log never played")]


@pytest.mark.parametrize("name", ["multiplier", "declared", "captured", "scores", "totals"])
def test_a_changed_round(game, name):
    steps, stored = game
    good = stored.rounds[2][name]
    bad = good + 1 if name == "multiplier" else [x + 1 for x in good]
    stored.rounds[2] = dict(stored.rounds[2], **{name: bad})
    p = only(run(steps, stored))
    assert (p.sequence, p.where) == (_round_seq(steps, 2), "round 2")
    assert p.message == f"stored {name} {bad!r}, rules say {good!r}"


@pytest.mark.parametrize("corrupt", [None, [1, 2], "x"])
def test_a_missing_or_mangled_round(game, corrupt):
    steps, stored = game
    stored.rounds[2] = corrupt
    problems = run(steps, stored).problems
    names = ("multiplier", "declared", "captured", "scores", "totals")
    event = next(e for e in events(steps, "round_result") if e["round"] == 2)
    assert [(p.where, p.message) for p in problems] == [
        ("round 2", f"stored {n} None, rules say {event[n]!r}") for n in names]


@pytest.mark.parametrize("name, bad", [("multiplier", 9), ("had_redeal", None), ("ended", False)])
def test_changed_round_columns(game, name, bad):
    steps, stored = game
    redealt = next(r for r, c in sorted(stored.round_columns.items()) if c["multiplier"] > 1)
    number = redealt if name != "ended" else 1
    good = stored.round_columns[number][name]
    stored.round_columns[number][name] = bad
    p = only(run(steps, stored))
    assert (p.sequence, p.where) == (_round_seq(steps, number), f"round {number}")
    assert p.message == f"stored rounds.{name} {bad!r}, rules say {good!r}"


def test_redeal_flag_of_a_round_without_redeal(game):
    steps, stored = game
    plain = next(r for r, c in sorted(stored.round_columns.items()) if c["multiplier"] == 1)
    stored.round_columns[plain]["had_redeal"] = True
    p = only(run(steps, stored))
    assert p.message == "stored rounds.had_redeal True, rules say False"


def test_round_columns_are_optional():
    # A Stored built without the columns (an older caller) is still checked on the rest.
    steps = script(SEED)
    stored = stored_for(steps)
    stored.round_columns = {}
    stored.game_columns = {}
    assert run(steps, stored).problems == []


def test_rounds_the_log_never_finished(game):
    steps, stored = game
    stored.rounds[4] = {}
    stored.rounds[0] = {}
    problems = run(steps, stored).problems
    assert [(p.sequence, p.where, p.message) for p in problems] == [
        (None, "round 0", "stored round that the action log never finished"),
        (None, "round 4", "stored round that the action log never finished")]


def _under_way():
    """A game in the turns of round 2 (dealt), with its stored values."""
    steps = script(SEED)
    cut = next(i for i, (_, before, _, _) in enumerate(steps) if before.round == 2 and before.phase == "TURN")
    part = steps[:cut]
    return part, stored_for(part)


def test_the_round_under_way():
    steps, stored = _under_way()
    assert stored.rounds[2] == {} and stored.round_columns[2]["ended"] is False
    assert run(steps, stored).problems == []

    stored.rounds[2] = {"scores": [1, 2, 3, 4]}
    p = only(run(steps, stored))
    assert (p.sequence, p.where, p.message) == (None, "round 2", "results stored for a round still under way")

    steps, stored = _under_way()
    multiplier = stored.round_columns[2]["multiplier"]
    stored.round_columns[2]["multiplier"] = multiplier + 1
    stored.round_columns[2]["ended"] = True
    assert [(p.sequence, p.where, p.message) for p in run(steps, stored).problems] == [
        (None, "round 2", f"stored rounds.multiplier {multiplier + 1}, rules say {multiplier}"),
        (None, "round 2", "stored rounds.ended True, rules say False")]

    steps, stored = _under_way()
    del stored.rounds[2]
    del stored.round_columns[2]
    p = only(run(steps, stored))
    assert (p.sequence, p.where, p.message) == (
        None, "round 2", "the round under way has no row in the rounds table")


def test_a_round_not_yet_dealt_needs_no_row():
    steps = script(SEED)
    # Right after round 1 ends: round 2 is not dealt, so it has no row yet.
    cut = next(i for i, (_, before, _, _) in enumerate(steps) if before.round == 2)
    part = steps[:cut]
    stored = stored_for(part)
    assert 2 not in stored.rounds
    assert run(part, stored).problems == []
    # A row for it, with no results, is not wrong either (an accepted redeal
    # leaves one behind until the next deal).
    stored.rounds[2] = {}
    stored.round_columns[2] = {"multiplier": 7, "had_redeal": True, "ended": False}
    assert run(part, stored).problems == []


@pytest.mark.parametrize("name", ["winner", "totals", "rounds", "by_seat"])
def test_a_changed_result(game, name):
    steps, stored = game
    good = stored.final[name]
    bad = {"winner": None, "totals": [0, 0, 0, 0], "rounds": 5, "by_seat": [1, 1, 1, 1]}[name]
    stored.final[name] = bad
    p = only(run(steps, stored))
    assert (p.sequence, p.where) == (len(steps), "game result")
    assert p.message == f"stored {name} {bad!r}, rules say {good!r}"


def test_results_are_optional_fields(game):
    steps, stored = game
    stored.final = {"winner": stored.final["winner"], "totals": stored.final["totals"]}
    assert run(steps, stored).problems == []


def test_a_missing_result_and_a_result_too_many(game):
    steps, stored = game
    stored.final = None
    p = only(run(steps, stored))
    assert (p.sequence, p.where, p.message) == (
        len(steps), "game result", "the log ends the game but no result is stored")
    part, stored = _under_way()
    stored.final = {"winner": 0, "totals": [1, 2, 3, 4]}
    p = only(run(part, stored))
    assert (p.sequence, p.where, p.message) == (
        None, "game result", "stored as finished, but the log never ends it")


def test_a_finished_game_not_marked_ended(game):
    steps, stored = game
    stored.game_columns["ended"] = False
    p = only(run(steps, stored))
    assert (p.sequence, p.where, p.message) == (
        len(steps), "game result", "the log ends the game but games.ended_at is not set")


def test_an_abandoned_game_is_not_a_problem():
    steps, stored = _under_way()
    stored.game_columns["ended"] = True
    assert run(steps, stored).problems == []


@pytest.mark.parametrize("delta", [1, -1])
def test_a_wrong_version(game, delta):
    steps, stored = game
    stored.version += delta
    p = only(run(steps, stored))
    assert (p.sequence, p.where, p.message) == (
        None, "games.version", f"stored {len(steps) + delta}, log has {len(steps)} actions")


@pytest.mark.parametrize("snapshot", ["not a dict", {}])
def test_a_wrong_snapshot(game, snapshot):
    steps, stored = game
    stored.snapshot = snapshot
    p = only(run(steps, stored))
    keys = sorted(k for k, x in steps[-1][3].state.to_dict().items() if x is not None)
    assert (p.where, p.message) == ("games.phase_data", f"differs from the replayed state in {keys}")


def test_a_snapshot_differing_in_one_field(game):
    steps, stored = game
    stored.snapshot = dict(stored.snapshot, round=1)
    p = only(run(steps, stored))
    assert p.message == "differs from the replayed state in ['round']"


@pytest.mark.parametrize("name, bad", [("current_round", 1), ("current_phase", "TURN")])
def test_changed_game_columns(game, name, bad):
    steps, stored = game
    good = stored.game_columns[name]
    stored.game_columns[name] = bad
    p = only(run(steps, stored))
    assert (p.sequence, p.where, p.message) == (None, "games", f"stored {name} {bad!r}, rules say {good!r}")


@pytest.mark.parametrize("name", ["score", "pieces_in_hand", "declared_piles", "captured_piles"])
def test_a_changed_seat(name):
    steps, stored = _under_way()
    good = stored.seats[3][name]
    stored.seats[3][name] = bad = ["X"] if name == "pieces_in_hand" else 99
    p = only(run(steps, stored))
    assert (p.sequence, p.where, p.message) == (None, "seat 3", f"stored {name} {bad!r}, rules say {good!r}")


# -- the transcript ---------------------------------------------------------------------------


def test_describe_every_kind_of_step():
    steps = script(SEED)
    result = run(steps, stored_for(steps))
    lines = [line for step in result.steps for line in describe(step)]
    assert lines[0] == "#1     round 1: deal (multiplier 1)"
    by_kind = {}
    for step in result.steps:
        by_kind.setdefault(step.action["type"], step)
        for e in step.events:
            by_kind.setdefault(e["type"], step)
    a = by_kind["declare"].action
    assert describe(by_kind["declare"]) == [
        f"#{by_kind['declare'].sequence:<5} seat {a['seat']} declares {a['piles']}"]
    plays = [s for s in result.steps if s.action["type"] == "play"]
    assert any(len(s.action["pieces"]) > 1 for s in plays)
    for s in plays:
        a = s.action
        assert describe(s)[0] == f"#{s.sequence:<5} seat {a['seat']} plays {' '.join(a['pieces'])}"
    redeals = [s for s in result.steps if s.action["type"] == "redeal"]
    for s in redeals:
        verb = "accepts" if s.action["accept"] else "declines"
        assert describe(s) == [f"#{s.sequence:<5} seat {s.action['seat']} {verb} a redeal"]
    assert {s.action["accept"] for s in redeals} == {True, False}
    redealt = next(s for s in result.steps if s.action["type"] == "deal" and s.state.multiplier > 1)
    assert describe(redealt) == [f"#{redealt.sequence:<5} round {redealt.state.round}: "
                                 f"deal (multiplier {redealt.state.multiplier})"]
    turn = by_kind["turn_result"]
    e = turn.events[0]
    assert describe(turn)[1] == (f"       turn {e['turn']}: seat {e['winner']} wins {e['piles']} "
                                 f"pile(s) with {e['play_type']}")
    last = result.steps[-1]
    turn_e, round_e, over = last.events
    assert describe(last)[1:] == [
        f"       turn {turn_e['turn']}: seat {turn_e['winner']} wins {turn_e['piles']} pile(s) "
        f"with {turn_e['play_type']}",
        f"       round {round_e['round']} scored x{round_e['multiplier']}: {round_e['scores']} "
        f"-> totals {round_e['totals']}",
        f"       game over after {over['rounds']} rounds: seat {over['winner']} wins, totals {over['totals']}"]


def test_describe_a_tie():
    seed = _seed(lambda sc: events(sc, "game_over")[0]["winner"] is None, winning_score=1, max_rounds=1)
    steps = script(seed, winning_score=1, max_rounds=1)
    result = run(steps, stored_for(steps), {"winning_score": 1, "max_rounds": 1})
    over = steps[-1][3].events[-1]
    assert describe(result.steps[-1])[-1] == \
        f"       game over after 1 rounds: a tie, totals {over['totals']}"


# -- from the store's records ---------------------------------------------------------------


def records_for(stored, players):
    """Records shaped like the store's (any objects with those attributes do)."""
    from datetime import datetime, timezone
    from types import SimpleNamespace as NS
    from uuid import uuid4
    now = datetime.now(timezone.utc)
    round_ids = {n: uuid4() for n in stored.rounds}
    final = None
    if stored.final is not None:
        final = {"totals": stored.final["totals"], "rounds": stored.final["rounds"],
                 "by_player": {str(p): t for p, t in zip(players, stored.final["totals"])}}
    winner = None if stored.final is None or stored.final["winner"] is None else players[stored.final["winner"]]
    game = NS(final_scores=final, winner_id=winner, phase_data=stored.snapshot, version=stored.version,
              current_round=stored.game_columns["current_round"],
              current_phase=stored.game_columns["current_phase"],
              ended_at=now if stored.game_columns["ended"] else None)
    seats = [NS(**s) for s in stored.seats]
    rounds = [NS(id=round_ids[n], round_number=n, round_data=data,
                 multiplier=stored.round_columns[n]["multiplier"],
                 had_redeal=stored.round_columns[n]["had_redeal"],
                 ended_at=now if stored.round_columns[n]["ended"] else None)
              for n, data in stored.rounds.items()]
    turns = [NS(round_id=round_ids[r], turn_number=t, leading_player_id=players[x["starter"]],
                winner_id=players[x["winner"]], pile_count=x["piles"], required_piece_count=x["required"],
                plays=[{"seat": s, "player_id": str(players[s]), "pieces": p} for s, p in x["plays"]])
             for (r, t), x in stored.turns.items()]
    return game, seats, rounds, turns


def test_from_records_reads_every_stored_fact(game):
    from uuid import uuid4
    steps, stored = game
    players = [uuid4() for _ in range(4)]
    assert Stored.from_records(*records_for(stored, players), players) == stored
    part, under_way = _under_way()
    assert Stored.from_records(*records_for(under_way, players), players) == under_way


@pytest.mark.parametrize("plays", ["garbage", [1, 2], None, [{"seat": 0}, "x"]])
def test_mangled_plays_are_reported(game, plays):
    from uuid import uuid4
    steps, stored = game
    players = [uuid4() for _ in range(4)]
    g, seats, rounds, turns = records_for(stored, players)
    turns[3].plays = plays
    problems = run(steps, Stored.from_records(g, seats, rounds, turns, players)).problems
    assert {p.message.split(" ")[1] for p in problems} == {"plays", "players"}
    assert all(p.message.startswith(f"stored {p.message.split(' ')[1]} {plays!r}, rules say ")
               for p in problems)


@pytest.mark.parametrize("final_scores", [[1, 2], "x", {"totals": [0, 0, 0, 0], "by_player": [1]}])
def test_mangled_results_are_reported(game, final_scores):
    from uuid import uuid4
    steps, stored = game
    players = [uuid4() for _ in range(4)]
    g, seats, rounds, turns = records_for(stored, players)
    g.final_scores = final_scores
    problems = run(steps, Stored.from_records(g, seats, rounds, turns, players)).problems
    assert {p.where for p in problems} == {"game result"}
    assert {p.message.split(" ")[1] for p in problems} == {"totals", "rounds", "by_seat"}
    assert any(p.message.startswith("stored by_seat [None, None, None, None]") for p in problems)
