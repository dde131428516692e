"""``liapstore simulate`` with LIAPSTORE_CACHE_URL set completes, and every
game verifies, when its Redis is killed in the middle of the run; after Redis
comes back (empty) the cached store's leaderboards still equal the database's.

Real processes throughout: the CLI runs in a subprocess against its own
redis-server, which this test SIGKILLs once games are being recorded."""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import liapstore
from support.servers import RedisServer

pytestmark = [pytest.mark.backends("sqlite", "postgres"), pytest.mark.servers]
GAMES = 20
# While Redis is down every write waits out the invalidation lease (the cache
# core's rule: a publish that went unanswered waits lease_ms); a short lease
# keeps the run short. The URL's other settings are the defaults.
CACHE_OPTIONS = "lease_ms=100&heartbeat_ms=20&timeout_ms=50"
ROOT = Path(liapstore.__file__).resolve().parent.parent


def cli(args, url, cache_url, **popen):
    env = dict(os.environ, LIAPSTORE_URL=url, LIAPSTORE_CACHE_URL=cache_url,
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-c", "from liapstore.cli import main; main()", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **popen)


def finished_games(url):
    with liapstore.connect(url) as store:
        return sum(1 for g in store.list_games(limit=1000) if g.finished)


def test_simulate_survives_redis_killed_mid_run(store_url):
    redis_server = RedisServer.start()
    cache_url = f"{redis_server.url}?prefix=sim-{uuid.uuid4().hex[:8]}:&{CACHE_OPTIONS}"
    try:
        run = cli(["simulate", "--games", str(GAMES), "--winning-score", "5", "--max-rounds", "2"],
                  store_url, cache_url)
        deadline = time.monotonic() + 120
        while finished_games(store_url) < 4:
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline, "simulate recorded no games"
            time.sleep(0.1)
        redis_server.kill()
        killed_at = finished_games(store_url)
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err[-3000:]
        assert f"games           {GAMES}" in out
        assert killed_at < GAMES, "Redis was killed only after the run ended"

        verify = cli(["verify", "--all", "--stats"], store_url, cache_url)
        out, err = verify.communicate(timeout=300)
        assert verify.returncode == 0, out[-3000:] + err[-3000:]
        assert f"checked {GAMES} game(s): {GAMES} intact, 0 with disagreements" in out
        assert "statistics: 0 disagreement(s)" in out

        # Redis back, empty: a second run uses it again, and the cached
        # leaderboards agree with the database's.
        redis_server.restart()
        again = cli(["simulate", "--games", "3", "--seed", "1"], store_url, cache_url)
        out, err = again.communicate(timeout=300)
        assert again.returncode == 0, err[-3000:]
        with liapstore.connect(store_url) as plain, \
                liapstore.connect(store_url, cache=cache_url) as cached:
            ranked = len(list(plain.leaderboard()))
            assert ranked > 0 and cached._cache_boards.build("all") == ranked
            for by in ("wins", "score", "winrate"):
                assert list(cached.leaderboard(by=by)) == list(plain.leaderboard(by=by))
                for e in plain.leaderboard(by=by):
                    assert cached.rank(e.id, by=by) == e
    finally:
        redis_server.stop()
