"""Tests for liapstore.game.bots: legal choices, sensible play and exact determinism."""

import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liapstore.game.bots import RandomBot, SmartBot, next_action, play_game, valid_plays
from liapstore.game.rules import (
    DECK,
    GameState,
    RuleViolation,
    apply,
    expected,
    new_game,
    play_type,
    sort_hand,
)

STRONG_DEAL = [list(DECK[s::4]) for s in range(4)]


def turn_state(hands, turn_starter=0, plays=()):
    return replace(
        new_game(),
        phase="TURN",
        dealt=True,
        hands=tuple(sort_hand(h) for h in hands),
        starter=turn_starter,
        declarations=(2, 2, 2, 1),
        turn=1,
        turn_starter=turn_starter,
        plays=plays,
    )


FILLER = ["SOLDIER_BLACK"] * 8


# ---------------------------------------------------------------- valid_plays


def test_valid_plays_lists_each_distinct_play_once():
    hand = sort_hand(["SOLDIER_RED"] * 3 + ["CHARIOT_RED", "HORSE_RED", "CANNON_RED"])
    plays = valid_plays(hand)
    assert len(plays) == len(set(plays))
    assert all(play_type(p) for p in plays)
    kinds = {play_type(p) for p in plays}
    assert kinds == {"SINGLE", "PAIR", "THREE_OF_A_KIND", "STRAIGHT"}
    assert valid_plays(hand, 3) == [p for p in plays if len(p) == 3]


# ---------------------------------------------------------------- SmartBot


def test_smart_bot_leads_its_strongest_play():
    hand = ["CHARIOT_RED", "CHARIOT_RED", "HORSE_RED", "HORSE_RED", "CANNON_RED", "CANNON_RED",
            "GENERAL_RED", "SOLDIER_BLACK"]
    state = turn_state([hand, FILLER, FILLER, FILLER])
    action = SmartBot().choose(state, 0, random.Random(0))
    assert play_type(action["pieces"]) == "DOUBLE_STRAIGHT"


def test_smart_bot_follows_with_a_winning_play_of_the_same_type():
    lead = (0, ("HORSE_BLACK", "HORSE_BLACK"))
    hand = ["ELEPHANT_RED", "ELEPHANT_RED", "CANNON_RED", "CANNON_RED", "GENERAL_RED",
            "SOLDIER_RED", "SOLDIER_BLACK"]
    state = turn_state([FILLER[:7], hand + ["SOLDIER_BLACK"], FILLER, FILLER], plays=(lead,))
    action = SmartBot().choose(state, 1, random.Random(0))
    assert action == {"type": "play", "seat": 1, "pieces": ["ELEPHANT_RED", "ELEPHANT_RED"]}


def test_smart_bot_dumps_its_lowest_pieces_when_it_cannot_win():
    lead = (0, ("ADVISOR_RED", "ADVISOR_RED"))
    hand = ["GENERAL_RED", "GENERAL_BLACK", "CANNON_RED", "CANNON_RED", "HORSE_RED",
            "SOLDIER_RED", "SOLDIER_BLACK", "CHARIOT_RED"]
    state = turn_state([FILLER[:6], hand, FILLER, FILLER], plays=(lead,))
    action = SmartBot().choose(state, 1, random.Random(0))
    assert action["pieces"] == ["SOLDIER_RED", "SOLDIER_BLACK"]


def test_smart_bot_needs_a_strictly_better_play_to_compete():
    # A tie would keep the earlier play, so the bot saves its pair of red cannons.
    plays = ((0, ("CANNON_RED", "CANNON_RED")),)
    hand = ["CANNON_RED", "CANNON_RED"] + ["SOLDIER_BLACK"] * 6
    state = turn_state([FILLER[:6], hand, FILLER, FILLER], plays=plays)
    action = SmartBot().choose(state, 1, random.Random(0))
    assert action["pieces"] == ["SOLDIER_BLACK", "SOLDIER_BLACK"]


def _redeal_state(hand):
    hands = [hand, ["GENERAL_RED"] + FILLER[:7], FILLER, FILLER]
    return replace(new_game(), dealt=True, hands=tuple(sort_hand(h) for h in hands), redeal_pending=(0,))


def test_smart_bot_declines_a_redeal_unless_very_weak():
    weak = ["ELEPHANT_BLACK", "CHARIOT_RED", "HORSE_RED", "CANNON_RED", "SOLDIER_RED",
            "SOLDIER_BLACK", "SOLDIER_BLACK", "CANNON_BLACK"]
    assert SmartBot().choose(_redeal_state(weak), 0, random.Random(0))["accept"] is False
    # Nothing above 7 points, but a black straight: still worth keeping.
    with_straight = ["CHARIOT_BLACK", "HORSE_RED", "CANNON_BLACK", "SOLDIER_RED", "SOLDIER_RED",
                     "SOLDIER_BLACK", "CANNON_RED", "HORSE_BLACK"]
    assert SmartBot().choose(_redeal_state(with_straight), 0, random.Random(0))["accept"] is False
    very_weak = ["CANNON_RED", "CANNON_RED", "HORSE_RED", "HORSE_BLACK", "CANNON_BLACK",
                 "SOLDIER_RED", "SOLDIER_RED", "SOLDIER_BLACK"]
    assert SmartBot().choose(_redeal_state(very_weak), 0, random.Random(0))["accept"] is True


def test_smart_bot_declares_near_its_strength_and_legally():
    state = apply(new_game(), {"type": "deal", "hands": STRONG_DEAL}).state
    weak = SmartBot().choose(state, 0, random.Random(0))
    assert weak["piles"] in expected(state).allowed
    # A hand of generals and advisors expects several piles.
    strong = ["GENERAL_RED", "GENERAL_BLACK", "ADVISOR_RED", "ADVISOR_RED", "ADVISOR_BLACK",
              "SOLDIER_BLACK", "CANNON_RED", "HORSE_BLACK"]
    hands = (sort_hand(strong), (), (), ())
    state = replace(new_game(), phase="DECLARATION", dealt=True, hands=hands, starter=0)
    assert SmartBot().choose(state, 0, random.Random(0))["piles"] == 5
    # The three soldiers form a combination worth three more piles.
    combo = strong[:5] + ["SOLDIER_BLACK"] * 3
    state = replace(state, hands=(sort_hand(combo), (), (), ()))
    assert SmartBot().choose(state, 0, random.Random(0))["piles"] == 8
    # Seat 3 declares last: 8 - 3 = 5 is forbidden, so it picks the nearest smaller value.
    state = replace(state, hands=((), (), (), sort_hand(strong)), declarations=(1, 1, 1, None))
    assert SmartBot().choose(state, 3, random.Random(0))["piles"] == 4


def test_bots_refuse_to_act_for_the_wrong_seat():
    state = apply(new_game(), {"type": "deal", "hands": STRONG_DEAL}).state
    for bot in (RandomBot(), SmartBot()):
        with pytest.raises(RuleViolation):
            bot.choose(state, 2, random.Random(0))


# ---------------------------------------------------------------- next_action and play_game


def test_next_action_deals_when_a_deal_is_due():
    action = next_action(new_game(), "seed", 1)
    assert action["type"] == "deal"
    assert sorted(p for hand in action["hands"] for p in hand) == sorted(DECK)
    assert next_action(new_game(), "seed", 1) == action
    assert next_action(new_game(), "seed", 2) != action


def test_next_action_rejects_a_finished_game_and_unknown_bots():
    over = replace(new_game(), phase="GAME_OVER")
    with pytest.raises(RuleViolation):
        next_action(over, 1, 1)
    state = apply(new_game(), {"type": "deal", "hands": STRONG_DEAL}).state
    with pytest.raises(ValueError):
        next_action(state, 1, 2, bots=("genius",) * 4)
    with pytest.raises(ValueError):
        next_action(state, 1, 2, bots=("smart",) * 3)


def test_play_game_is_deterministic():
    first = [(step, action) for step, _, action, _ in play_game(42, 30, 5)]
    second = [(step, action) for step, _, action, _ in play_game(42, 30, 5)]
    assert first == second
    assert [step for step, _ in first] == list(range(1, len(first) + 1))
    assert first != [(step, action) for step, _, action, _ in play_game(43, 30, 5)]


@settings(database=None, max_examples=25, deadline=None)
@given(st.integers(0, 10**9), st.lists(st.sampled_from(["smart", "random"]), min_size=4, max_size=4))
def test_bot_actions_are_always_legal(seed, bots):
    # apply() raises RuleViolation on any illegal action, so a finished game is the proof.
    last = None
    for _, before, action, outcome in play_game(seed, 40, 8, tuple(bots)):
        want = expected(before)
        if want.kind == "declare":
            assert action["piles"] in want.allowed
        last = outcome
    assert last.state.phase == "GAME_OVER"


@settings(database=None, max_examples=25, deadline=None)
@given(st.integers(0, 10**9), st.floats(0.05, 0.95))
def test_resumed_game_continues_identically(seed, where):
    history = list(play_game(seed, 40, 6))
    cut = int(len(history) * where)
    step, state, _, _ = history[cut]
    # Store and reload the state, as a crashed simulator would, then carry on.
    state = GameState.from_dict(state.to_dict())
    resumed = []
    while expected(state).kind != "none":
        action = next_action(state, seed, step)
        outcome = apply(state, action)
        resumed.append((step, action, outcome))
        state = outcome.state
        step += 1
    original = [(s, a, o) for s, _, a, o in history[cut:]]
    assert resumed == original
