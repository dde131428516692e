"""Tests for liapstore.game.rules: pieces, plays, scoring and the whole state machine."""

import json
import random
from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liapstore.game.bots import play_game
from liapstore.game.rules import (
    DECK,
    PHASES,
    PLAY_TYPES,
    POINTS,
    Expectation,
    GameState,
    RuleViolation,
    allowed_declarations,
    apply,
    base_score,
    expected,
    finish_round,
    is_weak,
    new_game,
    play_type,
    play_value,
    shuffle_deal,
    sort_hand,
    turn_winner,
)

# Seat s gets every fourth piece of the deck: nobody is weak and seat 0 holds GENERAL_RED.
STRONG_DEAL = [list(DECK[s::4]) for s in range(4)]
# Seat s gets the s-th block of eight: seat 0 has every strong piece, seats 1-3 are weak.
WEAK_DEAL = [list(DECK[s * 8:(s + 1) * 8]) for s in range(4)]


def rotate(hands, by):
    """Move hand s to seat (s + by) % 4."""
    return [hands[(s - by) % 4] for s in range(4)]


def deal(state, hands):
    return apply(state, {"type": "deal", "hands": hands}).state


def declare_all(state, piles_by_seat):
    """Declare piles_by_seat[seat] for every seat, in the order the game asks for."""
    for _ in range(4):
        seat = expected(state).seat
        state = apply(state, {"type": "declare", "seat": seat, "piles": piles_by_seat[seat]}).state
    return state


def turn_state(hands, turn_starter=0, **changes):
    """A state in the middle of a round, at the start of a turn."""
    base = replace(
        new_game(),
        phase="TURN",
        dealt=True,
        hands=tuple(sort_hand(h) for h in hands),
        starter=turn_starter,
        declarations=(2, 2, 2, 1),
        turn=1,
        turn_starter=turn_starter,
    )
    return replace(base, **changes)


def play(state, seat, pieces):
    return apply(state, {"type": "play", "seat": seat, "pieces": list(pieces)})


def play_turn(state, plays):
    """Apply (seat, pieces) plays in order and return the last outcome."""
    outcome = None
    for seat, pieces in plays:
        outcome = play(state, seat, pieces)
        state = outcome.state
    return outcome


def events_of(outcome, kind):
    return [e for e in outcome.events if e["type"] == kind]


# ---------------------------------------------------------------- pieces


def test_deck_has_32_pieces_with_the_right_counts():
    counts = Counter(DECK)
    assert len(DECK) == 32
    assert counts["GENERAL_RED"] == counts["GENERAL_BLACK"] == 1
    assert counts["SOLDIER_RED"] == counts["SOLDIER_BLACK"] == 5
    for kind in POINTS:
        if not kind.startswith(("GENERAL", "SOLDIER")):
            assert counts[kind] == 2, kind
    assert set(counts) == set(POINTS)


def test_points_table():
    assert POINTS["GENERAL_RED"] == 14
    assert POINTS["ELEPHANT_BLACK"] == 9
    assert POINTS["SOLDIER_BLACK"] == 1
    assert sorted(POINTS.values()) == list(range(1, 15))


def test_phases():
    assert PHASES == ("PREPARATION", "DECLARATION", "TURN", "GAME_OVER")


# ---------------------------------------------------------------- play types

VALID_PLAYS = [
    (["HORSE_BLACK"], "SINGLE"),
    (["HORSE_RED", "HORSE_RED"], "PAIR"),
    (["SOLDIER_BLACK"] * 3, "THREE_OF_A_KIND"),
    (["GENERAL_RED", "ADVISOR_RED", "ELEPHANT_RED"], "STRAIGHT"),
    (["CANNON_BLACK", "CHARIOT_BLACK", "HORSE_BLACK"], "STRAIGHT"),
    (["SOLDIER_RED"] * 4, "FOUR_OF_A_KIND"),
    (["CHARIOT_RED", "CHARIOT_RED", "HORSE_RED", "CANNON_RED"], "EXTENDED_STRAIGHT"),
    (["ADVISOR_BLACK", "GENERAL_BLACK", "ADVISOR_BLACK", "ELEPHANT_BLACK"], "EXTENDED_STRAIGHT"),
    (["HORSE_RED", "HORSE_RED", "CANNON_RED", "CANNON_RED", "CHARIOT_RED"], "EXTENDED_STRAIGHT_5"),
    (["GENERAL_RED", "ADVISOR_RED", "ADVISOR_RED", "ELEPHANT_RED", "ELEPHANT_RED"], "EXTENDED_STRAIGHT_5"),
    (["SOLDIER_BLACK"] * 5, "FIVE_OF_A_KIND"),
    (["CHARIOT_BLACK", "HORSE_BLACK", "CANNON_BLACK"] * 2, "DOUBLE_STRAIGHT"),
]

NEAR_MISSES = [
    [],
    ["NOT_A_PIECE"],
    ["HORSE_RED", "HORSE_BLACK"],  # pair of different colours
    ["HORSE_RED", "CHARIOT_RED"],  # pair of different names
    ["SOLDIER_RED", "SOLDIER_RED", "SOLDIER_BLACK"],  # three soldiers, mixed colours
    ["SOLDIER_RED", "SOLDIER_RED", "SOLDIER_BLACK", "SOLDIER_BLACK"],  # four, mixed colours
    ["SOLDIER_RED"] * 3 + ["SOLDIER_BLACK"] * 2,  # five, mixed colours
    ["SOLDIER_RED", "SOLDIER_RED", "CANNON_RED"],
    ["CHARIOT_RED", "HORSE_BLACK", "CANNON_RED"],  # straight with mixed colours
    ["GENERAL_RED", "ADVISOR_RED", "CHARIOT_RED"],  # names from both groups
    ["CHARIOT_RED", "CHARIOT_RED", "HORSE_RED"],  # a name repeated, one missing
    ["SOLDIER_RED"] * 3 + ["CANNON_RED"],
    ["CHARIOT_RED", "CHARIOT_RED", "HORSE_RED", "HORSE_RED"],  # 2-2, not 2-1-1
    ["CHARIOT_RED", "CHARIOT_RED", "HORSE_BLACK", "CANNON_RED"],  # extended, mixed colours
    ["ELEPHANT_RED", "ELEPHANT_RED", "CHARIOT_RED", "HORSE_RED"],  # extended across groups
    ["CHARIOT_RED", "CHARIOT_RED", "HORSE_RED", "HORSE_RED", "CANNON_BLACK"],  # 2-2-1 mixed colours
    ["CHARIOT_RED", "CHARIOT_RED", "HORSE_RED", "CANNON_RED", "SOLDIER_RED"],
    ["ADVISOR_RED", "ADVISOR_RED", "ELEPHANT_RED", "ELEPHANT_RED", "CHARIOT_RED"],
    ["SOLDIER_RED"] * 4 + ["HORSE_RED"],
    ["HORSE_RED"] * 3 + ["CHARIOT_RED", "CANNON_RED"],  # 3-1-1, not 2-2-1 (shape only)
    ["CHARIOT_RED", "HORSE_RED", "HORSE_RED", "HORSE_RED", "CANNON_RED", "CANNON_RED"],  # 1-3-2
    ["CHARIOT_RED", "CHARIOT_BLACK", "HORSE_RED", "HORSE_BLACK", "CANNON_RED", "CANNON_BLACK"],
    ["CHARIOT_RED", "CHARIOT_RED", "HORSE_RED", "HORSE_RED", "CANNON_RED", "SOLDIER_RED"],
    ["SOLDIER_RED"] * 5 + ["SOLDIER_BLACK"],  # six soldiers
    ["SOLDIER_BLACK"] * 5 + ["SOLDIER_RED"] * 2,  # seven pieces
]


@pytest.mark.parametrize("pieces, kind", VALID_PLAYS)
def test_play_types(pieces, kind):
    assert play_type(pieces) == kind
    assert play_type(tuple(reversed(pieces))) == kind


@pytest.mark.parametrize("pieces", NEAR_MISSES)
def test_near_misses_are_not_plays(pieces):
    assert play_type(pieces) is None


def test_play_type_rejects_non_lists():
    assert play_type("SOLDIER_RED") is None
    assert play_type(None) is None
    assert play_type([1]) is None


def test_every_play_type_is_covered():
    assert {kind for _, kind in VALID_PLAYS} == set(PLAY_TYPES)


def test_play_value_sums_points():
    assert play_value(["HORSE_RED", "HORSE_RED"]) == 12
    assert play_value(["CHARIOT_BLACK", "HORSE_BLACK", "CANNON_BLACK"] * 2) == 30
    assert play_value(["SOLDIER_BLACK"] * 5) == 5


def test_extended_straight_value_counts_top_piece_of_each_name():
    pieces = ["CHARIOT_BLACK", "CHARIOT_BLACK", "HORSE_BLACK", "CANNON_BLACK"]
    assert sum(POINTS[p] for p in pieces) == 22
    assert play_value(pieces) == 7 + 5 + 3
    five = ["GENERAL_RED", "ADVISOR_RED", "ADVISOR_RED", "ELEPHANT_RED", "ELEPHANT_RED"]
    assert play_value(five) == 14 + 12 + 10


def test_play_value_rejects_unknown_kinds():
    with pytest.raises(RuleViolation):
        play_value(["JOKER"])


piece_subsets = st.lists(st.integers(0, 31), unique=True, min_size=1, max_size=7).map(
    lambda idx: [DECK[i] for i in idx]
)


@settings(database=None, max_examples=200, deadline=None)
@given(piece_subsets, st.randoms(use_true_random=False))
def test_play_type_ignores_order_and_fits_its_size(pieces, rnd):
    shuffled = list(pieces)
    rnd.shuffle(shuffled)
    kind = play_type(pieces)
    assert play_type(shuffled) == kind
    sizes = {"SINGLE": 1, "PAIR": 2, "THREE_OF_A_KIND": 3, "STRAIGHT": 3, "FOUR_OF_A_KIND": 4,
             "EXTENDED_STRAIGHT": 4, "EXTENDED_STRAIGHT_5": 5, "FIVE_OF_A_KIND": 5, "DOUBLE_STRAIGHT": 6}
    if kind is not None:
        assert len(pieces) == sizes[kind]
        assert play_value(shuffled) == play_value(pieces) > 0


# ---------------------------------------------------------------- weak hands, scoring, dealing


def test_weak_hand():
    assert is_weak(WEAK_DEAL[1])  # ELEPHANT_BLACK (9) is the best piece
    assert not is_weak(WEAK_DEAL[1][:-1] + ["ELEPHANT_RED"])
    assert not is_weak(STRONG_DEAL[2])
    assert is_weak([])


@pytest.mark.parametrize(
    "declared, captured, score",
    [(0, 0, 3), (0, 1, -1), (0, 5, -5), (1, 1, 6), (8, 8, 13), (3, 3, 8),
     (3, 1, -2), (3, 5, -2), (2, 0, -2), (8, 0, -8)],
)
def test_base_score_table(declared, captured, score):
    assert base_score(declared, captured) == score


@settings(database=None)
@given(st.integers(0, 8), st.integers(0, 8))
def test_base_score_follows_the_table(declared, captured):
    score = base_score(declared, captured)
    if declared == captured:
        assert score == (3 if declared == 0 else declared + 5)
    elif declared == 0:
        assert score == -captured
    else:
        assert score == -abs(declared - captured)


def test_shuffle_deal_uses_the_deck_and_is_seeded():
    hands = shuffle_deal(random.Random(7))
    assert len(hands) == 4 and all(len(h) == 8 for h in hands)
    assert Counter(p for h in hands for p in h) == Counter(DECK)
    assert hands == shuffle_deal(random.Random(7))
    assert hands != shuffle_deal(random.Random(8))


# ---------------------------------------------------------------- new game and state


def test_new_game():
    state = new_game()
    assert (state.phase, state.round, state.multiplier, state.dealt) == ("PREPARATION", 1, 1, False)
    assert (state.winning_score, state.max_rounds) == (50, 20)
    assert state.scores == (0, 0, 0, 0) and state.winner is None
    assert expected(state) == Expectation("deal")


@pytest.mark.parametrize("settings_", [dict(winning_score=0), dict(max_rounds=-1),
                                       dict(winning_score="50"), dict(max_rounds=True),
                                       dict(winning_score=2.5)])
def test_new_game_rejects_bad_settings(settings_):
    with pytest.raises(RuleViolation):
        new_game(**settings_)


def test_state_round_trip_through_json():
    state = declare_all(deal(new_game(), STRONG_DEAL), {0: 1, 1: 2, 2: 3, 3: 3})
    state = play(state, 0, ["GENERAL_RED"]).state
    data = json.loads(json.dumps(state.to_dict()))
    assert GameState.from_dict(data) == state
    assert data["plays"] == [[0, ["GENERAL_RED"]]]


@pytest.mark.parametrize("mutate", [
    lambda d: d.pop("phase"),
    lambda d: d.update(extra=1),
    lambda d: d.update(phase="SCORING"),
    lambda d: d.update(hands=[[]]),
    lambda d: d.update(plays=[1]),
])
def test_from_dict_rejects_malformed_states(mutate):
    data = new_game().to_dict()
    mutate(data)
    with pytest.raises(ValueError):
        GameState.from_dict(data)


def test_states_are_frozen():
    with pytest.raises(Exception):
        new_game().round = 2


# ---------------------------------------------------------------- preparation and redeal


def test_deal_without_weak_hands_goes_to_declaration():
    state = deal(new_game(), STRONG_DEAL)
    assert state.phase == "DECLARATION" and state.dealt
    assert state.starter == 0  # holds GENERAL_RED
    assert state.hands[0] == sort_hand(STRONG_DEAL[0])
    assert expected(state).kind == "declare" and expected(state).seat == 0


def test_round_one_starter_is_general_red_holder():
    state = deal(new_game(), rotate(STRONG_DEAL, 2))
    assert "GENERAL_RED" in state.hands[2]
    assert state.starter == 2
    assert [expected(state).seat] == [2]


def test_weak_seats_decide_in_order_from_the_provisional_starter():
    state = deal(new_game(), WEAK_DEAL)
    assert state.redeal_pending == (1, 2, 3)
    assert expected(state) == Expectation("redeal", seat=1)
    state = deal(new_game(), rotate(WEAK_DEAL, 2))  # GENERAL_RED at seat 2, weak 3, 0, 1
    assert state.redeal_pending == (3, 0, 1)


def test_all_weak_seats_decline():
    state = deal(new_game(), WEAK_DEAL)
    for seat in (1, 2, 3):
        state = apply(state, {"type": "redeal", "seat": seat, "accept": False}).state
    assert state.phase == "DECLARATION"
    assert state.multiplier == 1 and state.starter == 0 and state.redeal_pending == ()


def test_accepted_redeal_raises_multiplier_and_sets_starter():
    state = deal(new_game(), WEAK_DEAL)
    state = apply(state, {"type": "redeal", "seat": 1, "accept": False}).state
    state = apply(state, {"type": "redeal", "seat": 2, "accept": True}).state
    # The first accept ends the decisions: seat 3 is not asked.
    assert expected(state) == Expectation("deal")
    assert state.multiplier == 2 and state.redeal_starter == 2 and not state.dealt
    # The next deal is weak again; decisions now start from the redeal starter.
    state = deal(state, rotate(WEAK_DEAL, 1))  # weak seats 2, 3, 0
    assert state.redeal_pending == (2, 3, 0)
    state = apply(state, {"type": "redeal", "seat": 2, "accept": False}).state
    state = apply(state, {"type": "redeal", "seat": 3, "accept": True}).state
    assert state.multiplier == 3 and state.redeal_starter == 2  # still the first accepter
    state = deal(state, STRONG_DEAL)
    assert state.phase == "DECLARATION"
    assert state.starter == 2  # not the GENERAL_RED holder
    assert expected(state).seat == 2


def test_an_accept_recorded_ahead_takes_effect_when_the_seats_before_it_decline():
    # A state moved in from a server that collects decisions at once: seat 3
    # accepted while seats 1 and 2, before it in order, still decide.
    state = replace(deal(new_game(), WEAK_DEAL), redeal_pending=(1, 2), redeal_accepted=3)
    after = apply(state, {"type": "redeal", "seat": 1, "accept": False}).state
    assert after.redeal_accepted == 3 and expected(after) == Expectation("redeal", seat=2)
    after = apply(after, {"type": "redeal", "seat": 2, "accept": False}).state
    assert expected(after) == Expectation("deal")
    assert (after.multiplier, after.redeal_starter, after.redeal_accepted) == (2, 3, None)
    # An earlier seat's accept comes first in order and wins.
    first = apply(state, {"type": "redeal", "seat": 1, "accept": True}).state
    assert (first.redeal_starter, first.redeal_accepted, first.multiplier) == (1, None, 2)


def test_states_without_redeal_accepted_still_load_and_compare_equal():
    state = deal(new_game(), WEAK_DEAL)
    data = state.to_dict()
    assert "redeal_accepted" not in data  # Stored snapshots stay as they were.
    assert GameState.from_dict(data) == state
    moved = replace(state, redeal_pending=(1,), redeal_accepted=2)
    assert GameState.from_dict(json.loads(json.dumps(moved.to_dict()))) == moved


def test_finish_round_scores_only_a_round_at_its_end():
    state = declare_all(deal(new_game(), STRONG_DEAL), {0: 1, 1: 2, 2: 3, 3: 3})
    with pytest.raises(RuleViolation):
        finish_round(state)
    ended = replace(state, hands=((),) * 4, captured=(1, 2, 3, 2), turn=5, turn_starter=2,
                    last_turn_winner=2)
    after, events = finish_round(ended)
    assert after.phase == "PREPARATION" and after.round == 2
    assert after.scores == (6, 7, 8, -1) and events[0]["type"] == "round_result"
    with pytest.raises(RuleViolation):
        finish_round(replace(ended, captured=(1, 2, 3, 1)))


def test_later_round_starter_is_last_turn_winner():
    state = replace(new_game(), round=2, last_turn_winner=3)
    state = deal(state, STRONG_DEAL)
    assert state.starter == 3
    state = deal(replace(new_game(), round=2, last_turn_winner=3), WEAK_DEAL)
    # Seat 3 would start, so the weak seats decide in the order 3, (0 is strong), 1, 2.
    assert state.redeal_pending == (3, 1, 2)


def test_redeal_order_in_later_rounds_starts_at_last_turn_winner():
    state = deal(replace(new_game(), round=2, last_turn_winner=2), WEAK_DEAL)
    assert state.redeal_pending == (2, 3, 1)


# ---------------------------------------------------------------- declaration


def test_declaration_order_follows_the_starter():
    state = deal(new_game(), rotate(STRONG_DEAL, 1))
    order = []
    for piles in (1, 1, 1, 1):
        seat = expected(state).seat
        order.append(seat)
        state = apply(state, {"type": "declare", "seat": seat, "piles": piles}).state
    assert order == [1, 2, 3, 0]
    assert state.phase == "TURN" and state.turn == 1 and state.turn_starter == 1
    assert state.declarations == (1, 1, 1, 1)


def test_last_declarer_cannot_make_eight():
    state = deal(new_game(), STRONG_DEAL)
    for seat, piles in ((0, 3), (1, 2), (2, 0)):
        assert allowed_declarations(state, seat) == tuple(range(9))
        state = apply(state, {"type": "declare", "seat": seat, "piles": piles}).state
    want = expected(state)
    assert want.seat == 3 and 3 not in want.allowed
    assert want.allowed == (0, 1, 2, 4, 5, 6, 7, 8)
    with pytest.raises(RuleViolation, match="seat 3 cannot declare 3: the total would be 8"):
        apply(state, {"type": "declare", "seat": 3, "piles": 3})


def test_no_limit_when_total_already_above_eight():
    state = deal(new_game(), STRONG_DEAL)
    for seat, piles in ((0, 4), (1, 4), (2, 1)):
        state = apply(state, {"type": "declare", "seat": seat, "piles": piles}).state
    assert expected(state).allowed == tuple(range(9))


def test_zero_streak_forces_at_least_one():
    state = deal(replace(new_game(), zero_streak=(2, 1, 0, 0)), STRONG_DEAL)
    assert expected(state).allowed == tuple(range(1, 9))
    with pytest.raises(RuleViolation, match="must declare at least 1"):
        apply(state, {"type": "declare", "seat": 0, "piles": 0})
    state = apply(state, {"type": "declare", "seat": 0, "piles": 1}).state
    assert 0 in expected(state).allowed  # seat 1 has declared 0 only once


def test_zero_streak_and_last_declarer_together_leave_choices():
    state = replace(deal(new_game(), STRONG_DEAL), zero_streak=(0, 0, 0, 5))
    for seat, piles in ((0, 0), (1, 0), (2, 1)):
        state = apply(state, {"type": "declare", "seat": seat, "piles": piles}).state
    assert expected(state).allowed == (1, 2, 3, 4, 5, 6, 8)


@settings(database=None, max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 8), min_size=3, max_size=3), st.integers(0, 3),
       st.lists(st.integers(0, 3), min_size=4, max_size=4))
def test_last_declarer_can_never_make_eight(first_three, starter, streak):
    state = deal(replace(new_game(), round=2, last_turn_winner=starter, zero_streak=tuple(streak)),
                 STRONG_DEAL)
    assert state.starter == starter
    for piles in first_three:
        want = expected(state)
        if piles not in want.allowed:
            piles = want.allowed[0]
        state = apply(state, {"type": "declare", "seat": want.seat, "piles": piles}).state
    want = expected(state)
    assert want.seat == (starter + 3) % 4
    total = sum(d for d in state.declarations if d is not None)
    assert want.allowed and all(total + n != 8 for n in want.allowed)
    if 0 <= 8 - total <= 8:
        with pytest.raises(RuleViolation, match="total would be 8"):
            apply(state, {"type": "declare", "seat": want.seat, "piles": 8 - total})


# ---------------------------------------------------------------- turns

# Hands for turn tests; a crafted state need not come from a real deal.
HANDS_FOR_TURNS = [
    ["SOLDIER_BLACK", "SOLDIER_BLACK", "HORSE_RED", "CHARIOT_BLACK",
     "CHARIOT_BLACK", "HORSE_BLACK", "CANNON_BLACK", "GENERAL_BLACK"],
    ["GENERAL_RED", "ADVISOR_BLACK", "CHARIOT_RED", "HORSE_RED",
     "CANNON_RED", "CANNON_RED", "SOLDIER_RED", "SOLDIER_RED"],
    ["ADVISOR_RED", "ADVISOR_BLACK", "SOLDIER_BLACK", "SOLDIER_BLACK",
     "SOLDIER_BLACK", "ELEPHANT_BLACK", "HORSE_BLACK", "CANNON_BLACK"],
    ["CANNON_BLACK", "CANNON_BLACK", "ELEPHANT_RED", "ELEPHANT_RED",
     "ADVISOR_RED", "SOLDIER_RED", "SOLDIER_RED", "SOLDIER_RED"],
]


def test_turn_winner_and_capture():
    state = turn_state([["HORSE_RED"] + ["SOLDIER_RED"] * 7, ["GENERAL_RED"] + ["SOLDIER_BLACK"] * 7,
                        ["CANNON_RED"] * 2 + ["SOLDIER_BLACK"] * 6, ["ADVISOR_RED"] + ["SOLDIER_RED"] * 7])
    outcome = play_turn(state, [(0, ["HORSE_RED"]), (1, ["GENERAL_RED"]), (2, ["CANNON_RED"]), (3, ["ADVISOR_RED"])])
    (event,) = outcome.events
    assert event == {"type": "turn_result", "round": 1, "turn": 1, "starter": 0,
                     "plays": [[0, ["HORSE_RED"]], [1, ["GENERAL_RED"]], [2, ["CANNON_RED"]], [3, ["ADVISOR_RED"]]],
                     "play_type": "SINGLE", "winner": 1, "piles": 1}
    after = outcome.state
    assert after.captured == (0, 1, 0, 0) and after.turn == 2 and after.turn_starter == 1
    assert after.last_turn_winner == 1 and after.plays == ()
    assert expected(after) == Expectation("play", seat=1, count=None)


def test_different_type_does_not_compete():
    plays = [(0, ("SOLDIER_BLACK", "SOLDIER_BLACK")),
             (1, ("GENERAL_RED", "ADVISOR_RED")),  # higher points, not a pair
             (2, ("ADVISOR_RED", "ADVISOR_BLACK")),  # same name, different colours
             (3, ("CANNON_BLACK", "CANNON_BLACK"))]
    assert turn_winner(plays) == 3
    plays = [(2, ("CHARIOT_BLACK", "HORSE_BLACK", "CANNON_BLACK")),
             (3, ("SOLDIER_RED",) * 3),  # a three of a kind is not a straight
             (0, ("GENERAL_RED", "GENERAL_BLACK", "ADVISOR_RED")),
             (1, ("SOLDIER_BLACK",) * 3)]
    assert turn_winner(plays) == 2
    # A valid play of another type does not compete, even one ranked and valued higher.
    plays = [(0, ("SOLDIER_BLACK",) * 3),
             (1, ("GENERAL_RED", "ADVISOR_RED", "ELEPHANT_RED")),
             (2, ("SOLDIER_RED",) * 3),
             (3, ("CHARIOT_RED", "HORSE_RED", "CANNON_RED"))]
    assert turn_winner(plays) == 2


def test_tie_keeps_the_earlier_play():
    assert turn_winner([(1, ("SOLDIER_RED",)), (2, ("SOLDIER_RED",)), (3, ("SOLDIER_BLACK",)), (0, ("SOLDIER_RED",))]) == 1
    assert turn_winner([(0, ("SOLDIER_BLACK",)), (1, ("HORSE_RED",)), (2, ("HORSE_RED",)), (3, ("CANNON_RED",))]) == 1


def test_extended_straight_compares_top_pieces_only():
    black = ("CHARIOT_BLACK", "CHARIOT_BLACK", "HORSE_BLACK", "CANNON_BLACK")  # total 22, value 15
    red = ("CHARIOT_RED", "HORSE_RED", "CANNON_RED", "CANNON_RED")  # total 22, value 18
    plays = [(0, black), (1, ("SOLDIER_RED",) * 4), (2, red), (3, ("SOLDIER_BLACK",) * 4)]
    assert turn_winner(plays) == 2


def test_a_full_turn_through_apply_with_a_multi_piece_lead():
    state = turn_state(HANDS_FOR_TURNS, turn_starter=2)
    outcome = play_turn(state, [
        (2, ["SOLDIER_BLACK"] * 3),
        (3, ["SOLDIER_RED"] * 3),  # a better three of a kind
        (0, ["GENERAL_BLACK", "CHARIOT_BLACK", "CHARIOT_BLACK"]),
        (1, ["GENERAL_RED", "SOLDIER_RED", "SOLDIER_RED"]),
    ])
    (event,) = outcome.events
    assert event["winner"] == 3 and event["piles"] == 3 and event["play_type"] == "THREE_OF_A_KIND"
    assert outcome.state.captured == (0, 0, 0, 3)
    assert outcome.state.hands[3] == sort_hand(["CANNON_BLACK", "CANNON_BLACK", "ELEPHANT_RED", "ELEPHANT_RED", "ADVISOR_RED"])
    assert expected(outcome.state) == Expectation("play", seat=3)


def test_follower_count_is_expected():
    state = play(turn_state(HANDS_FOR_TURNS), 0, ["CHARIOT_BLACK", "HORSE_BLACK", "CANNON_BLACK"]).state
    assert expected(state) == Expectation("play", seat=1, count=3)


def test_apply_never_mutates_its_inputs():
    state = turn_state(HANDS_FOR_TURNS)
    snapshot = state.to_dict()
    action = {"type": "play", "seat": 0, "pieces": ["SOLDIER_BLACK", "SOLDIER_BLACK"]}
    copy = json.loads(json.dumps(action))
    apply(state, action)
    assert state.to_dict() == snapshot and action == copy


# ---------------------------------------------------------------- round end and game end


def last_turn(declarations, captured, scores=(0, 0, 0, 0), **changes):
    """A state before the last turn: seat 0 leads GENERAL_RED, which wins the final pile."""
    hands = [["GENERAL_RED"], ["SOLDIER_BLACK"], ["SOLDIER_BLACK"], ["SOLDIER_BLACK"]]
    state = turn_state(hands, declarations=declarations, captured=captured, scores=scores, turn=8, **changes)
    return play_turn(state, [(0, ["GENERAL_RED"]), (1, ["SOLDIER_BLACK"]), (2, ["SOLDIER_BLACK"]), (3, ["SOLDIER_BLACK"])])


def test_round_is_scored_when_hands_are_empty():
    outcome = last_turn((2, 0, 5, 2), (1, 0, 5, 1), scores=(10, -4, 0, 0), multiplier=2, starter=3)
    turn, result = outcome.events
    assert turn["type"] == "turn_result" and turn["turn"] == 8 and turn["winner"] == 0
    # Base scores 7, 3, 10, -1, doubled by the multiplier.
    assert result == {"type": "round_result", "round": 1, "multiplier": 2, "starter": 3,
                      "declared": [2, 0, 5, 2], "captured": [2, 0, 5, 1],
                      "scores": [14, 6, 20, -2], "totals": [24, 2, 20, -2]}
    after = outcome.state
    assert after.phase == "PREPARATION" and after.round == 2 and after.multiplier == 1
    assert not after.dealt and after.declarations == (None,) * 4 and after.captured == (0,) * 4
    assert after.scores == (24, 2, 20, -2) and after.last_turn_winner == 0
    assert after.redeal_starter is None and after.starter is None and after.turn == 0
    assert after.zero_streak == (0, 1, 0, 0)
    assert expected(after) == Expectation("deal")


def test_zero_streak_counts_consecutive_zero_declarations():
    outcome = last_turn((0, 0, 4, 3), (1, 0, 4, 2), zero_streak=(1, 3, 2, 0))
    assert outcome.state.zero_streak == (2, 4, 0, 0)


def test_game_ends_when_a_single_leader_reaches_the_score():
    outcome = last_turn((1, 0, 4, 2), (0, 0, 4, 3), scores=(45, 47, 10, 0))
    result, over = events_of(outcome, "round_result")[0], events_of(outcome, "game_over")[0]
    assert result["totals"] == [51, 50, 19, -1]
    assert over == {"type": "game_over", "winner": 0, "totals": [51, 50, 19, -1], "rounds": 1}
    assert outcome.state.phase == "GAME_OVER" and outcome.state.winner == 0
    assert expected(outcome.state) == Expectation("none")


def test_highest_total_wins_when_several_pass_the_score():
    outcome = last_turn((1, 0, 4, 2), (0, 0, 4, 3), scores=(45, 55, 10, 0))
    assert outcome.state.winner == 1 and outcome.state.scores == (51, 58, 19, -1)


def test_exact_tie_at_the_top_plays_on():
    outcome = last_turn((1, 0, 4, 2), (0, 0, 4, 3), scores=(45, 48, 10, 0))
    assert outcome.state.scores == (51, 51, 19, -1)
    assert outcome.state.phase == "PREPARATION" and outcome.state.round == 2
    assert not events_of(outcome, "game_over")


def test_round_limit_highest_total_wins():
    outcome = last_turn((1, 0, 4, 2), (0, 0, 4, 3), round=20)
    assert outcome.state.phase == "GAME_OVER" and outcome.state.winner == 2
    assert events_of(outcome, "game_over")[0]["rounds"] == 20


def test_round_limit_tie_ends_without_winner():
    outcome = last_turn((1, 0, 4, 2), (0, 0, 4, 3), scores=(0, 6, 0, 0), round=3, max_rounds=3)
    assert outcome.state.scores == (6, 9, 9, -1)
    assert outcome.state.phase == "GAME_OVER" and outcome.state.winner is None
    assert events_of(outcome, "game_over")[0]["winner"] is None


def test_tie_above_the_score_at_the_round_limit_ends_the_game():
    outcome = last_turn((1, 0, 4, 2), (0, 0, 4, 3), scores=(45, 48, 10, 0), round=20)
    assert outcome.state.phase == "GAME_OVER" and outcome.state.winner is None


# ---------------------------------------------------------------- every RuleViolation path


def _declaring():
    return deal(new_game(), STRONG_DEAL)


def _redealing():
    return deal(new_game(), WEAK_DEAL)


def _turning():
    return turn_state(HANDS_FOR_TURNS)


def _following():
    return play(_turning(), 0, ["SOLDIER_BLACK", "SOLDIER_BLACK"]).state


def _over():
    return last_turn((1, 0, 4, 2), (0, 0, 4, 3), scores=(45, 47, 10, 0)).state


BAD_ACTIONS = [
    (new_game, "not a dict", "must be a dict"),
    (new_game, {"hands": STRONG_DEAL}, "unknown action type"),
    (new_game, {"type": "shuffle"}, "unknown action type"),
    (new_game, {"type": "deal", "hands": STRONG_DEAL, "extra": 1}, "exactly the keys"),
    (new_game, {"type": "deal"}, "exactly the keys"),
    (new_game, {"type": "deal", "hands": STRONG_DEAL[:3]}, "exactly 4 hands"),
    (new_game, {"type": "deal", "hands": "abcd"}, "exactly 4 hands"),
    (new_game, {"type": "deal", "hands": [h[:7] for h in STRONG_DEAL]}, "exactly 8 pieces"),
    (new_game, {"type": "deal", "hands": [["GENERAL_RED"] * 8] + STRONG_DEAL[1:]}, "32 pieces"),
    (new_game, {"type": "deal", "hands": [["JOKER"] + STRONG_DEAL[0][1:]] + STRONG_DEAL[1:]}, "not a piece kind"),
    (new_game, {"type": "deal", "hands": ["GENERAL_RED", 1, 2, 3]}, "list of piece kinds"),
    (new_game, {"type": "declare", "seat": 0, "piles": 1}, "expected a deal action"),
    (_declaring, {"type": "deal", "hands": STRONG_DEAL}, "expected a declare action from seat 0"),
    (_declaring, {"type": "declare", "seat": 1, "piles": 1}, "it is seat 0's turn"),
    (_declaring, {"type": "declare", "seat": 4, "piles": 1}, "seat must be"),
    (_declaring, {"type": "declare", "seat": "0", "piles": 1}, "seat must be"),
    (_declaring, {"type": "declare", "seat": False, "piles": 1}, "seat must be"),
    (_declaring, {"type": "declare", "seat": 0, "piles": 9}, "between 0 and 8"),
    (_declaring, {"type": "declare", "seat": 0, "piles": -1}, "between 0 and 8"),
    (_declaring, {"type": "declare", "seat": 0, "piles": True}, "must be an integer"),
    (_declaring, {"type": "declare", "seat": 0, "piles": 1.0}, "must be an integer"),
    (_declaring, {"type": "redeal", "seat": 0, "accept": True}, "expected a declare"),
    (_redealing, {"type": "redeal", "seat": 2, "accept": True}, "it is seat 1's turn"),
    (_redealing, {"type": "redeal", "seat": 1, "accept": "yes"}, "true or false"),
    (_redealing, {"type": "redeal", "seat": 1, "accept": 1}, "true or false"),
    (_redealing, {"type": "play", "seat": 1, "pieces": ["HORSE_RED"]}, "expected a redeal"),
    (_turning, {"type": "play", "seat": 1, "pieces": ["GENERAL_RED"]}, "it is seat 0's turn"),
    (_turning, {"type": "play", "seat": 0, "pieces": []}, "1 to 6 pieces"),
    (_turning, {"type": "play", "seat": 0, "pieces": HANDS_FOR_TURNS[0][:7]}, "1 to 6 pieces"),
    (_turning, {"type": "play", "seat": 0, "pieces": ["SOLDIER_BLACK", "HORSE_RED"]}, "not a valid play"),
    (_turning, {"type": "play", "seat": 0, "pieces": ["GENERAL_RED"]}, "does not hold"),
    (_turning, {"type": "play", "seat": 0, "pieces": ["HORSE_RED", "HORSE_RED"]}, "does not hold"),
    (_turning, {"type": "play", "seat": 0, "pieces": "SOLDIER_BLACK"}, "list of piece kinds"),
    (_turning, {"type": "play", "seat": 0, "pieces": ["soldier_black"]}, "not a piece kind"),
    (_following, {"type": "play", "seat": 1, "pieces": ["GENERAL_RED"]}, "exactly 2 pieces"),
    (_following, {"type": "play", "seat": 1, "pieces": ["GENERAL_RED", "GENERAL_BLACK"]}, "does not hold"),
    (_following, {"type": "play", "seat": 0, "pieces": ["GENERAL_BLACK", "HORSE_RED"]}, "it is seat 1's turn"),
    (_over, {"type": "deal", "hands": STRONG_DEAL}, "game is over"),
]


@pytest.mark.parametrize("make_state, action, message", BAD_ACTIONS)
def test_rule_violations(make_state, action, message):
    state = make_state()
    with pytest.raises(RuleViolation, match=message):
        apply(state, action)


def test_follower_may_play_any_pieces():
    state = _following()
    # Not a pair, but a follower may play any two pieces it holds.
    state = play(state, 1, ["GENERAL_RED", "SOLDIER_RED"]).state
    assert expected(state).seat == 2


def test_rule_violation_is_a_value_error():
    assert issubclass(RuleViolation, ValueError)


# ---------------------------------------------------------------- whole games (property tests)


def _check_game(seed, winning_score, max_rounds, bots=("smart", "random", "smart", "random")):
    totals = [0, 0, 0, 0]
    rounds = []
    over = None
    for step, before, action, outcome in play_game(seed, winning_score, max_rounds, bots):
        for event in outcome.events:
            json.dumps(event)  # every event is JSON-compatible
            if event["type"] == "round_result":
                rounds.append(event)
            if event["type"] == "game_over":
                over = event
        state = outcome.state
    assert over is not None and state.phase == "GAME_OVER"
    for event in rounds:
        # A round hands out exactly 8 piles and scores follow the table.
        assert sum(event["captured"]) == 8
        assert sum(event["declared"]) != 8
        assert event["scores"] == [base_score(d, c) * event["multiplier"]
                                   for d, c in zip(event["declared"], event["captured"])]
        totals = [t + s for t, s in zip(totals, event["scores"])]
        assert event["totals"] == totals
    assert over["totals"] == totals == list(state.scores)
    assert over["rounds"] == len(rounds) == state.round <= max_rounds
    top = max(totals)
    leaders = [s for s in range(4) if totals[s] == top]
    if state.round < max_rounds:
        # Ended by the score limit: a single leader at or above it.
        assert top >= winning_score and leaders == [state.winner]
    else:
        assert state.winner == (leaders[0] if len(leaders) == 1 else None)
    # Nobody reached the score with a single lead before the last round.
    for event in rounds[:-1]:
        t = event["totals"]
        assert not (max(t) >= winning_score and t.count(max(t)) == 1)
    return state


@settings(database=None, max_examples=60, deadline=None)
@given(st.integers(0, 10**9), st.sampled_from([1, 10, 50, 1000]), st.integers(1, 20))
def test_games_always_end_by_score_or_round_limit(seed, winning_score, max_rounds):
    _check_game(seed, winning_score, max_rounds)


@settings(database=None, max_examples=20, deadline=None)
@given(st.integers(0, 10**9))
def test_random_bots_games_end(seed):
    _check_game(seed, 30, 10, bots=("random",) * 4)


@settings(database=None, max_examples=25, deadline=None)
@given(st.integers(0, 10**9), st.data())
def test_to_dict_from_dict_round_trip(seed, data):
    states = [before for _, before, _, _ in play_game(seed, 20, 3)]
    for state in data.draw(st.lists(st.sampled_from(states), min_size=1, max_size=10)):
        encoded = json.dumps(state.to_dict())
        assert GameState.from_dict(json.loads(encoded)) == state
