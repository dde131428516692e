"""``liapstore cache warm | stats | clear`` through click's test runner,
against a real Redis, on the file and server backends."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import liapstore
from liapstore.cli import main
from liapstore.testing.support import SHORT, make_players, record, script
from support.cache_prefix import private_prefix

pytestmark = pytest.mark.backends("sqlite", "postgres")
ROOT = Path(liapstore.__file__).resolve().parent.parent


def run(*args, code=0, env=None):
    result = CliRunner(env=env).invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def cache(redis_url):
    with private_prefix(redis_url, "t-cli") as (cache_url, prefix, client):
        yield cache_url, prefix, client


def seed(url):
    """A few ranked players, two games still running, three public rooms."""
    with liapstore.connect(url) as store:
        players = make_players(store, 4, prefix="cli")
        for g in range(10):
            room = store.create_room(f"CLI{g}", f"done {g}")
            game = store.start_game(room.id, [p.id for p in players], **SHORT)
            record(store, game.id, script(300 + g).steps)
        for g in range(2):
            room = store.create_room(f"RUN{g}", f"running {g}")
            store.start_game(room.id, [p.id for p in players], **SHORT)
        for r in range(3):
            store.create_room(f"OPEN{r}", f"open {r}")
        return players


def test_warm_loads_games_rooms_and_boards(store_url, cache):
    cache_url, prefix, client = cache
    seed(store_url)
    out = run("cache", "warm", "--url", store_url, "--cache", cache_url)
    assert "warmed 2 active game(s), 1 public room page(s), 3 leaderboard period(s) " \
           "(12 ranked entries)" in out
    for period in ("all",):
        assert client.get(f"{prefix}lb:{period}:state") == b"ready"
    assert client.zcard(f"{prefix}lb:all:z:wins") == 4
    # The game states are in Redis too, for every process to share.
    assert any(b":game:" in k for k in client.scan_iter(match=f"{prefix}*"))
    # LIAPSTORE_CACHE_URL is the default of --cache.
    out = run("cache", "warm", "--url", store_url, env={"LIAPSTORE_CACHE_URL": cache_url})
    assert "warmed 2 active game(s)" in out


def test_stats_sums_every_process(store_url, cache):
    cache_url, prefix, client = cache
    players = seed(store_url)
    assert "no counts yet" in run("cache", "stats", "--cache", cache_url)
    # Another process reads through the cache and exits (flushing its counts).
    reader = ("import liapstore, sys\n"
              "with liapstore.connect(sys.argv[1], cache=sys.argv[2]) as s:\n"
              "    for _ in range(30):\n"
              f"        s.get_player('{players[0].id}')\n"
              "        s.leaderboard()\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    for _ in range(2):
        subprocess.run([sys.executable, "-c", reader, store_url, cache_url], env=env, check=True,
                       timeout=120)
    out = run("cache", "stats", "--cache", cache_url)
    lines = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    # family, hits, misses, errors, bypassed, hit ratio
    assert set(lines) >= {"player_stats", "leaderboards"}, out
    family, hits, misses, errors, bypassed, ratio = lines["player_stats"]
    assert int(hits) + int(misses) + int(bypassed) == 60 and int(hits) >= 56, out
    assert int(errors) == 0 and ratio.endswith("%")
    assert sum(int(x) for x in lines["leaderboards"][1:5]) == 60, out


def test_clear_removes_only_this_prefix(cache, redis_url):
    cache_url, prefix, client = cache
    with private_prefix(redis_url, "t-cli-other") as (_, other, _):
        client.set(f"{prefix}x", 1)
        client.hset(f"{prefix}lb:names", "a", "b")
        client.set(f"{other}x", 1)
        # A prefix holding glob characters matches only itself.
        star = prefix.replace(":", "*:")
        client.set(f"{star}y", 1)
        out = run("cache", "clear", "--yes", "--cache", f"{redis_url}?prefix={star}")
        assert "removed 1 key(s)" in out
        assert client.exists(f"{prefix}x", f"{prefix}lb:names", f"{other}x") == 3
        out = run("cache", "clear", "--yes", "--cache", cache_url)
        assert "removed 2 key(s)" in out
        assert client.exists(f"{prefix}x", f"{prefix}lb:names") == 0 and client.exists(f"{other}x")
        # Without --yes it asks, and "no" keeps everything.
        client.set(f"{prefix}z", 1)
        result = CliRunner().invoke(main, ["cache", "clear", "--cache", cache_url], input="n\n")
        assert result.exit_code == 1 and client.exists(f"{prefix}z")


def test_errors_are_one_line(store_url):
    result = CliRunner().invoke(main, ["cache", "stats"], env={"LIAPSTORE_CACHE_URL": ""})
    assert result.exit_code == 2 and "--cache" in result.output
    out = run("cache", "stats", "--cache", "http://nope", code=1)
    assert "InvalidInput" in out and "not a Redis URL" in out
    out = run("cache", "stats", "--cache", "redis://:s3cret@127.0.0.1:1/0", code=1)
    assert "Redis at" in out and "s3cret" not in out
