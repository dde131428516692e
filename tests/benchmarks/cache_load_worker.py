"""One of the processes of test_cache_load.py: reads and writes shared games
through the cached store, counting the database statements its reads cause.

    python cache_load_worker.py URL CACHE_URL GAMES_JSON SECONDS SEED READS_PER_WRITE

GAMES_JSON: [[game_id, bot_seed], ...]. After reading each game once (the
warm-up, not counted), until SECONDS have passed: read a
random game's state (``load_game``), and after every READS_PER_WRITE reads
record that game's next bot action (a Conflict means another process
recorded it first: counted, not an error). Every statement the wrapped
store sends to its database while a read runs is counted (peewee's
``execute_sql``, through which every read of the SQL backends goes). Prints
"ready" once connected, waits for a line on stdin, then runs and prints
one JSON line: reads, read_statements, writes, conflicts, and the store's
cache counters of the game_state family.
"""
import json
import random
import sys
import threading
import time

import liapstore
from liapstore.game import bots


def main(url, cache_url, games_json, seconds, seed, reads_per_write):
    games = json.loads(games_json)
    rng = random.Random(seed)
    counts = dict(reads=0, read_statements=0, writes=0, conflicts=0)
    reading = threading.local()
    with liapstore.connect(url, cache=cache_url) as store:
        db = store._inner.db
        execute = db.execute_sql

        def counted(*args, **kwargs):
            if getattr(reading, "on", False):
                counts["read_statements"] += 1
            return execute(*args, **kwargs)
        db.execute_sql = counted
        # Warm up (not counted): every game read once, so what is measured is
        # the steady state of hot games, not the deployment's first fills.
        for game_id, _ in games:
            store.load_game(game_id)
        before = store.cache_stats()["game_state"]
        # Start together: every process has imported, connected, joined the
        # cache and warmed up before any of them starts the clock.
        print("ready", flush=True)
        sys.stdin.readline()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            game_id, bot_seed = rng.choice(games)
            reading.on = True
            try:
                saved = store.load_game(game_id)
            finally:
                reading.on = False
            counts["reads"] += 1
            if counts["reads"] % reads_per_write or saved.state.phase == "GAME_OVER":
                continue
            step = saved.game.version + 1
            try:
                store.record_action(game_id, step, bots.next_action(saved.state, bot_seed, step))
                counts["writes"] += 1
            except liapstore.Conflict:
                counts["conflicts"] += 1
        after = store.cache_stats()["game_state"]
        counts["cache"] = {k: after[k] - before[k] for k in
                           ("near_hits", "redis_hits", "misses", "errors", "bypassed")}
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]),
         int(sys.argv[6]))
