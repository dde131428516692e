"""import_game: a game that was running elsewhere continues in the store
from the state it had, in whatever phase it was moved."""
import dataclasses

import pytest

from liapstore import InvalidInput, NotFound
from liapstore.game import rules
from liapstore.testing.support import (MEDIUM, expect, find_seed, make_players, make_room, rows,
                                       record)


def _seed():
    # A game with a redeal in a later round, so every phase can be cut into.
    return find_seed(lambda sc: sc.game_over["rounds"] >= 3 and any(
        e["multiplier"] > 1 and e["round"] >= 2 for e in sc.events("round_result")), settings=MEDIUM)


def _cut(sc, number, phase, dealt=None, multiplier=None, plays=None):
    for i, (_, before, _, _) in enumerate(sc.steps):
        if before.round == number and before.phase == phase \
                and (dealt is None or before.dealt == dealt) \
                and (multiplier is None or (before.multiplier > 1) == multiplier) \
                and (plays is None or bool(before.plays) == plays):
            return i
    raise AssertionError(f"no {phase} in round {number}")


CUTS = {
    "before the deal": dict(phase="PREPARATION", dealt=False, multiplier=False),
    "redeal pending": dict(phase="PREPARATION", dealt=True),
    "after an accepted redeal": dict(phase="PREPARATION", dealt=False, multiplier=True),
    "declaring": dict(phase="DECLARATION"),
    "mid-turn": dict(phase="TURN", plays=True),
}


@pytest.mark.parametrize("cut", list(CUTS))
def test_an_imported_game_continues_to_its_end(store, cut):
    seed, sc = _seed()
    number = next(e["round"] for e in sc.events("round_result") if e["multiplier"] > 1 and e["round"] >= 2)
    i = _cut(sc, number, **CUTS[cut])
    state = sc.steps[i][1]
    players = make_players(store)
    room = make_room(store)
    game = store.import_game(room.id, [p.id for p in players], state, bots=[1, 3])

    assert game.version == 1 and not game.finished
    assert (game.current_round, game.current_phase) == (state.round, state.phase)
    assert game.phase_data == state.to_dict()
    assert (game.winning_score, game.max_rounds) == (MEDIUM["winning_score"], MEDIUM["max_rounds"])
    assert store.get_room(room.id).status == "playing"
    assert store.get_room(room.id).current_game_id == game.id
    [action] = store.list_actions(game.id)
    assert (action.sequence_number, action.action_type, action.player_id) == (1, "import", None)
    assert action.action_data == {"type": "import", "state": state.to_dict()}
    seats = store.get_seats(game.id)
    assert [s.player_id for s in seats] == [p.id for p in players]
    assert [s.is_bot for s in seats] == [False, True, False, True]
    assert [s.score for s in seats] == list(state.scores)
    assert [s.pieces_in_hand for s in seats] == [list(h) for h in state.hands]
    assert [s.declared_piles for s in seats] == list(state.declarations)
    assert [s.captured_piles for s in seats] == list(state.captured)
    rounds = store.list_rounds(game.id)
    if state.dealt or state.multiplier > 1:
        [r] = rounds
        assert (r.round_number, r.multiplier, r.had_redeal, r.ended_at, r.round_data) == (
            state.round, state.multiplier, state.multiplier > 1, None, {})
    else:
        assert rounds == []
    assert store.load_game(game.id).state == state
    assert store.verify_game(game.id) == []

    # The rest of the scripted game, numbered after the import.
    rest = [(k + 2, before, action, outcome) for k, (_, before, action, outcome) in enumerate(sc.steps[i:])]
    game = record(store, game.id, rest)
    assert game.finished and game.version == len(rest) + 1
    assert game.final_scores["totals"] == sc.game_over["totals"]
    assert game.winner_id == players[sc.game_over["winner"]].id
    assert store.verify_game(game.id) == []
    assert store.get_room(room.id).status == "finished"
    later = {e["round"] for e in sc.events("round_result") if e["round"] >= state.round}
    assert {r.round_number for r in store.list_rounds(game.id)} == later
    for p in players:
        assert store.get_player(p.id).games_played == 1


def test_bad_imports_write_nothing(store):
    seed, sc = _seed()
    players = [p.id for p in make_players(store)]
    room = make_room(store)
    counts = rows(store)
    state = sc.steps[5][1]
    e = expect(InvalidInput, store.import_game, room.id, players, state.to_dict())
    assert "GameState" in str(e)
    e = expect(InvalidInput, store.import_game, room.id, players, dataclasses.replace(state, phase="LOBBY"))
    assert "LOBBY" in str(e)
    expect(InvalidInput, store.import_game, room.id, players, dataclasses.replace(state, hands=((),) * 3))
    expect(InvalidInput, store.import_game, room.id, players[:3], state)
    expect(InvalidInput, store.import_game, room.id, players, state, bots=[4])
    expect(NotFound, store.import_game, players[0], players, state)
    assert rows(store) == counts
    assert store.get_room(room.id).status == "waiting"
    # The same state is fine once it is well formed and running.
    game = store.import_game(room.id, players, state)
    assert game.version == 1 and store.verify_game(game.id) == []
    assert rules.expected(store.load_game(game.id).state) == rules.expected(state)
    # A game that already ended elsewhere is stored finished, with its result.
    over = store.import_game(make_room(store, code="OVER").id, players, sc.final_state)
    assert over.finished and over.final_scores["totals"] == list(sc.final_state.scores)
    assert store.verify_game(over.id) == []
