"""Under load, the database sees at most 1 query per 50 reads of a hot game.

8 processes (cache_load_worker.py) share 100 running games through the
cached store, each reading random games' states and recording the next bot
action after every READS_PER_WRITE of its reads, so every game keeps
changing while it is read; every write invalidates the game in every
process. Counted, not timed: the statements the database receives because of
the reads, over the reads, once every game has been read (each process reads
every game once first, uncounted: the reads measured are of hot games; the
deployment's first fills are a one-time cost, about 2 statements per game). It runs under pytest-benchmark (one round) so it
is part of ``--benchmark-only`` runs and of the normal run alike.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import liapstore
from support.cache_prefix import private_prefix

pytestmark = pytest.mark.backends("sqlite", "postgres")
PROCESSES, GAMES = 8, 100
READS_PER_WRITE = 300
MAX_RATIO = 1 / 50
WORKER = Path(__file__).with_name("cache_load_worker.py")


def test_db_queries_per_hot_read(benchmark, backend, store_url, redis_url, figures):
    seconds = 4 if benchmark.disabled else 10
    with liapstore.connect(store_url) as store:
        players = [store.create_player(f"load_{i}") for i in range(8)]
        games = []
        for g in range(GAMES):
            room = store.create_room(f"LOAD{g}", f"load {g}")
            seated = [players[(g + i) % 8].id for i in range(4)]
            game = store.start_game(room.id, seated, bots=range(4), winning_score=10_000,
                                    max_rounds=1_000)
            games.append([str(game.id), f"load:{g}"])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(liapstore.__file__).parent.parent), os.environ.get("PYTHONPATH", "")]))
    with private_prefix(redis_url, "bench-load") as (cache_url, _, _):
        def run():
            procs = [subprocess.Popen(
                [sys.executable, str(WORKER), store_url, cache_url, json.dumps(games),
                 str(seconds), str(i), str(READS_PER_WRITE)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, env=env)
                for i in range(PROCESSES)]
            for p in procs:
                assert p.stdout.readline().strip() == "ready", p.stderr.read()[-3000:]
            out = []
            for p in procs:
                p.stdin.write("go\n")
                p.stdin.flush()
            for p in procs:
                stdout, stderr = p.communicate(timeout=seconds + 120)
                assert p.returncode == 0, stderr[-3000:]
                out.append(json.loads(stdout.strip().splitlines()[-1]))
            total = {k: sum(o[k] for o in out) for k in out[0] if k != "cache"}
            total["cache"] = {k: sum(o["cache"][k] or 0 for o in out)
                              for k in ("near_hits", "redis_hits", "misses", "errors", "bypassed")}
            return total

        total = benchmark.pedantic(run, rounds=1, iterations=1)
    ratio = total["read_statements"] / total["reads"]
    benchmark.extra_info.update(backend=backend, ratio=ratio, **total)
    figures(f"[bench cache load] {backend}: {PROCESSES} processes, {GAMES} games, "
            f"{total['reads']:,} reads, {total['writes']:,} writes "
            f"({total['conflicts']} conflicts): {total['read_statements']:,} database "
            f"statements for the reads = 1 per {1 / ratio if ratio else float('inf'):,.0f} reads; "
            f"cache {total['cache']}")
    assert total["writes"] > 0 and total["reads"] > PROCESSES * READS_PER_WRITE
    assert ratio <= MAX_RATIO, f"1 statement per {1 / ratio:.1f} reads"
