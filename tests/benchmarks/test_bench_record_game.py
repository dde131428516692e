"""How fast a whole game is recorded, on each backend.

One benchmark round records every action of one full game (fixed seed,
default settings: 50 points, 20 rounds, about 580 actions) with
``record_action``, one call and one transaction per action, into a game
started fresh (untimed) for that round. ``extra_info`` reports games/s and
actions/s.

With --benchmark-disable (the normal test run) the game is recorded once and
checked: ``verify_game`` finds nothing, and the final scores are those of
the same game played in memory.
"""
import itertools

import pytest

from liapstore.game import bots

SEED = 20240611
ROUNDS = {"memory": 5, "sqlite": 5, "postgres": 3}

_codes = itertools.count()


@pytest.fixture(scope="module")
def full_game():
    """The actions of the benchmarked game and its final scores."""
    steps = list(bots.play_game(SEED))
    return [action for _, _, action, _ in steps], list(steps[-1][3].state.scores)


def test_record_full_game(benchmark, backend, store, full_game, figures):
    actions, final_scores = full_game
    players = [store.create_player(f"bench-{i}").id for i in range(4)]
    games = []

    def new_game():
        room = store.create_room(f"BENCH-{next(_codes)}", "benchmark")
        game = store.start_game(room.id, players)
        games.append(game.id)
        return (game.id,), {}

    def record(game_id):
        for seq, action in enumerate(actions, 1):
            store.record_action(game_id, seq, action)

    benchmark.group = "record-game"
    benchmark.extra_info["backend"] = backend
    benchmark.extra_info["actions_per_game"] = len(actions)
    benchmark.pedantic(record, setup=new_game, rounds=ROUNDS[backend], warmup_rounds=1)

    if benchmark.stats is not None:
        mean = benchmark.stats.stats.mean
        benchmark.extra_info["games_per_s"] = round(1 / mean, 3)
        benchmark.extra_info["actions_per_s"] = round(len(actions) / mean, 1)
        figures(f"[bench record-game {backend}] {len(actions)} actions/game: "
              f"{1 / mean:.2f} games/s, {len(actions) / mean:.0f} actions/s")

    # Whatever the mode, the last recorded game is complete and intact.
    game = store.get_game(games[-1])
    assert game.version == len(actions)
    assert game.current_phase == "GAME_OVER"
    assert game.final_scores["totals"] == final_scores
    assert store.verify_game(game.id) == []
