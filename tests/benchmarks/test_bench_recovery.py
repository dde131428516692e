"""Recovering 1,000 unfinished games after a restart takes under a second on SQLite.

Setup (untimed): 1,000 games, each advanced 1-12 actions, so that they stand
in every early phase (dealt or not, redeals pending, declarations, turns under
way). It is written through the store, batched in a few transactions with
synchronous=OFF to keep the setup short; the database is then reopened with
the default settings, as a restarted server would open it.

Timed: ``store.unfinished_games()`` on that fresh Store. The mean must stay
under 1 s; asserted only with --benchmark-only. In every mode the result is
checked: all 1,000 games, each with its four seats and the rules state the
same game reaches when played in memory.
"""
import time

import pytest

import liapstore
from liapstore.game import bots

GAMES = 1000
BATCH = 250
SEED_BASE = 900_000
LIMIT_S = 1.0


def _actions_for(k):
    return 1 + k % 12


def _expected_states(n):
    """The rules state of every game after its actions, played in memory."""
    states, actions = [], []
    for k in range(n):
        steps = []
        for step in bots.play_game(SEED_BASE + k):
            steps.append(step)
            if len(steps) == _actions_for(k):
                break
        actions.append([action for _, _, action, _ in steps])
        states.append(steps[-1][3].state)
    return actions, states


@pytest.mark.backends("sqlite")
def test_recover_1000_unfinished_games(benchmark, backend, store_url, request, figures):
    del backend  # SQLite only
    t0 = time.perf_counter()
    actions, states = _expected_states(GAMES)
    with liapstore.connect(store_url + "?synchronous=OFF") as store:
        players = [store.create_player(f"recover-{i}").id for i in range(4)]
        game_ids = []
        for first in range(0, GAMES, BATCH):
            with store.transaction():
                for k in range(first, min(first + BATCH, GAMES)):
                    room = store.create_room(f"REC-{k}", f"recovery {k}",
                                             game_settings={"seed": SEED_BASE + k})
                    game = store.start_game(room.id, players)
                    for seq, action in enumerate(actions[k], 1):
                        store.record_action(game.id, seq, action)
                    game_ids.append(game.id)
    setup_s = time.perf_counter() - t0

    with liapstore.connect(store_url) as store:  # a restarted server's Store
        benchmark.group = "recovery"
        benchmark.extra_info["games"] = GAMES
        saved = benchmark.pedantic(store.unfinished_games, rounds=5, warmup_rounds=1)

    assert len(saved) == GAMES
    by_id = {s.game.id: s for s in saved}
    assert set(by_id) == set(game_ids)
    for k, game_id in enumerate(game_ids):
        s = by_id[game_id]
        assert s.game.version == len(actions[k])
        assert [seat.player_id for seat in s.seats] == players
        assert s.state == states[k], f"game {k} recovered in another state"
    phases = {s.state.phase for s in saved}
    assert {"PREPARATION", "DECLARATION", "TURN"} <= phases

    if benchmark.stats is not None:
        mean = benchmark.stats.stats.mean
        benchmark.extra_info["mean_s"] = round(mean, 4)
        benchmark.extra_info["games_per_s"] = round(GAMES / mean)
        figures(f"[bench recovery] unfinished_games() for {GAMES} games: {mean * 1000:.0f} ms "
              f"(limit {LIMIT_S * 1000:.0f} ms); setup {setup_s:.1f} s")
        if request.config.getoption("benchmark_only"):
            assert mean < LIMIT_S, f"recovering {GAMES} games took {mean:.2f} s on average"
