"""Throughput from concurrent connections: four games recorded at once.

On PostgreSQL each commit waits for its WAL flush, so one connection records
about a thousand actions a second at best; several server threads recording
different games at the same time use several pooled connections, and the
flushes overlap. Group "concurrent": the same four games recorded one after
the other (1 thread) and side by side (4 threads), in one run.
"""
import itertools
import threading

import pytest

from liapstore.game import bots

GAMES = 4
_codes = itertools.count()


@pytest.fixture(scope="module")
def games_actions():
    return [[a for _, _, a, _ in bots.play_game(seed, winning_score=20, max_rounds=4)]
            for seed in range(GAMES)]


@pytest.mark.backends("sqlite", "postgres")
@pytest.mark.parametrize("threads", [1, GAMES])
def test_record_games_concurrently(benchmark, backend, store, games_actions, threads, figures):
    players = [store.create_player(f"conc-{i}").id for i in range(4)]
    total = sum(len(a) for a in games_actions)

    def start():
        ids = []
        for _ in games_actions:
            room = store.create_room(f"CONC-{next(_codes)}", "concurrency")
            ids.append(store.start_game(room.id, players, winning_score=20, max_rounds=4).id)
        return (ids,), {}

    def play(game_id, actions):
        for seq, action in enumerate(actions, 1):
            store.record_action(game_id, seq, action)

    def record(ids):
        if threads == 1:
            for game_id, actions in zip(ids, games_actions):
                play(game_id, actions)
            return ids
        workers = [threading.Thread(target=play, args=pair) for pair in zip(ids, games_actions)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return ids

    benchmark.group = f"concurrent-{backend}"
    ids = benchmark.pedantic(record, setup=start, rounds=3, warmup_rounds=0)
    if benchmark.stats is not None:
        rate = total / benchmark.stats.stats.mean
        benchmark.extra_info["actions_per_s"] = round(rate)
        figures(f"[bench concurrent {backend}] {GAMES} games, {threads} thread(s): {rate:.0f} actions/s")
    # Every game is complete and intact however the threads interleaved.
    for game_id, actions in zip(ids or [], games_actions):
        game = store.get_game(game_id)
        assert game.version == len(actions) and game.current_phase == "GAME_OVER"
        assert store.verify_game(game_id) == []
