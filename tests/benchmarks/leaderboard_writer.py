"""Games that keep ending while the leaderboard benchmark reads (a separate
process, so that it competes for the database, not for the reader's GIL).

    python leaderboard_writer.py URL PLAYERS SEED

Plays short bot games among random generated players (ids as
test_bench_leaderboard.player_id makes them) until killed, printing the
number of games ended after each one.
"""
import random
import sys
import uuid

import liapstore
from liapstore.game import bots

SHORT = {"winning_score": 1, "max_rounds": 1}


def player_id(i):
    return uuid.UUID(f"b0000000-0000-4000-8000-{i:012x}")


def main(url, players, seed):
    rng = random.Random(seed)
    with liapstore.connect(url) as store:
        ended = 0
        while True:
            seated = [player_id(i) for i in rng.sample(range(1, players + 1), 4)]
            room = store.create_room(f"BW{seed}-{ended}", "benchmark writer")
            game = store.start_game(room.id, seated, **SHORT)
            for step, _, action, _ in bots.play_game(seed * 100_000 + ended, **SHORT):
                store.record_action(game.id, step, action)
            ended += 1
            print(ended, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
