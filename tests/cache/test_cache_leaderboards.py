"""Leaderboards from Redis sorted sets answer exactly as the database does:
same entries, same order, same ranks (ties included), every board, every
period, pages and windows, while games keep ending, after renames, season
creation and statistics rebuilds, and after Redis loses the boards."""
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import redis

from liapstore.cache.leaderboards import Leaderboards
from liapstore.cache.shared_stats import Guard, SharedCounters, read_stats
from liapstore.testing.support import SHORT, make_players, record, script

UTC = timezone.utc
BOARDS = ("wins", "score", "winrate")


@pytest.fixture
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url, socket_timeout=2)
    prefix = f"t-lb-{uuid.uuid4().hex[:10]}:"
    yield client, prefix
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        client.unlink(key)
    client.close()


def boards_for(store, client, prefix, build="inline"):
    counters = SharedCounters(client, prefix)
    return Leaderboards(store, client, prefix, Guard(counters), build=build).attach()


def play(store, players, games, seed, code):
    """Short games, four of ``players`` seated by a fixed irregular rule, so
    that game counts differ and ties appear."""
    n = len(players)
    for g in range(games):
        seated = [players[(g * 3 + i * (1 + g % 2)) % n] for i in range(4)]
        if len(set(p.id for p in seated)) < 4:
            seated = [players[(g + i) % n] for i in range(4)]
        room = store.create_room(f"{code}{g}", f"cache board {g}")
        game = store.start_game(room.id, [p.id for p in seated], bots=[g % 4], **SHORT)
        record(store, game.id, script(seed + g).steps)


def assert_same(store, boards, players, seasons):
    """Every board/period answers the same from Redis as from the database."""
    served = 0
    for season in seasons:
        for by in BOARDS:
            want = list(store.leaderboard(by=by, season=season))
            got = list(boards.leaderboard(by=by, season=season))
            assert got == want, (season, by)
            pages, after = [], None
            while True:
                page = boards.leaderboard(by=by, season=season, limit=3, after=after)
                pages += list(page)
                if not (after := page.next_cursor):
                    break
            assert pages == want, (season, by)
            for p in players:
                assert boards.rank(p.id, by=by, season=season) == \
                    store.rank(p.id, by=by, season=season), (season, by, p.username)
                for radius in (0, 2):
                    assert boards.leaderboard_around(p.id, by=by, radius=radius, season=season) == \
                        store.leaderboard_around(p.id, by=by, radius=radius, season=season)
            served += len(want)
    return served


def state(client, prefix, period):
    return client.get(f"{prefix}lb:{period}:state")


def test_redis_boards_equal_the_database_ones(store, redis_client):
    client, prefix = redis_client
    boards = boards_for(store, client, prefix)
    players = make_players(store, 9, prefix="cb")
    play(store, players, 30, seed=4100, code="CBA")
    now = datetime.now(UTC)
    store.create_season("cachetest", now - timedelta(days=1), now + timedelta(days=1))
    seasons = (None, "week", "month", "cachetest")
    assert assert_same(store, boards, players, seasons) > 0
    # The answers above came from Redis: each board was built on first read.
    for period in ("all", "season:cachetest"):
        assert state(client, prefix, period) == b"ready"
    ties = [e.rank for e in store.leaderboard(by="wins")]
    assert len(set(ties)) < len(ties), "no tie in the seeded games; pick other seeds"

    # Games ending now update the built boards in place (no rebuild).
    boards.guard.counters.flush()
    before = read_stats(client, prefix)["leaderboard"]
    play(store, players, 12, seed=4500, code="CBB")
    assert state(client, prefix, "all") == b"ready"
    assert assert_same(store, boards, players, seasons) > 0
    boards.guard.counters.flush()
    after = read_stats(client, prefix)["leaderboard"]
    assert after["hit"] > before["hit"] and after["miss"] == before["miss"]

    # Renames reach the boards; a rolled-back rename does not.
    store.update_player(players[0].id, display_name="Renamed Zero")
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.update_player(players[1].id, display_name="Never Committed")
            raise RuntimeError("roll back")
    assert assert_same(store, boards, players, seasons) > 0

    # A rebuild of the statistics drops the boards; the next reads rebuild them.
    store.rebuild_stats()
    assert state(client, prefix, "all") is None
    assert assert_same(store, boards, players, seasons) > 0
    assert state(client, prefix, "all") == b"ready"


def test_a_lost_board_is_rebuilt_not_served_wrong(store, redis_client):
    client, prefix = redis_client
    boards = boards_for(store, client, prefix)
    players = make_players(store, 6, prefix="cl")
    play(store, players, 18, seed=5100, code="CLA")
    assert assert_same(store, boards, players, (None,)) > 0
    # Redis loses everything (a restart without persistence, an eviction,
    # `cache clear`): games meanwhile could not update it.
    for key in client.scan_iter(match=f"{prefix}*"):
        client.unlink(key)
    play(store, players, 4, seed=5200, code="CLB")
    assert assert_same(store, boards, players, (None,)) > 0
    assert state(client, prefix, "all") == b"ready"
    # Half a board (a sorted set lost, the state not): the state is what
    # counts, so drop a state and the rows with it, as an expiry does.
    client.unlink(f"{prefix}lb:all:z:wins", f"{prefix}lb:all:state")
    assert list(boards.leaderboard()) == list(store.leaderboard())


def test_a_game_ending_during_a_build_is_counted(store, redis_client):
    """The build marks the board before it reads its snapshot, so a game that
    commits after the snapshot updates the board being built."""
    client, prefix = redis_client
    boards = boards_for(store, client, prefix, build=None)
    players = make_players(store, 5, prefix="cr")
    play(store, players, 14, seed=6100, code="CRA")
    real_slice = store._board_slice

    def slice_then_game(*args):
        rows = real_slice(*args)
        store._board_slice = real_slice
        play(store, players, 3, seed=6200, code="CRB")   # commits after the snapshot
        return rows

    store._board_slice = slice_then_game
    assert boards.build("all") is not None
    assert state(client, prefix, "all") == b"ready"
    assert assert_same(store, boards, players, (None,)) > 0


def test_out_of_order_updates_keep_the_newest_row(store, redis_client):
    client, prefix = redis_client
    boards = boards_for(store, client, prefix)
    players = make_players(store, 4, prefix="co")
    play(store, players, 12, seed=7100, code="COA")
    assert list(boards.leaderboard()) == list(store.leaderboard())
    rows = store._select("player_stats", [("period", "=", "all")], ())
    older = [{**r, "games_played": r["games_played"] - 1, "games_won": 0} for r in rows]
    boards.stats_written(older)   # a slower process's update, arriving late
    assert list(boards.leaderboard()) == list(store.leaderboard())


@pytest.mark.servers
def test_boards_when_redis_dies_and_comes_back_empty(store):
    """Redis killed: every read answers from the database, games go on; Redis
    back (empty): the boards are rebuilt and served again, never stale."""
    from support.servers import RedisServer
    server = RedisServer.start()
    try:
        client = redis.Redis.from_url(server.url, socket_timeout=0.2, socket_connect_timeout=0.2)
        counters = SharedCounters(client, "dead:")
        boards = Leaderboards(store, client, "dead:", Guard(counters, cooldown=0.2),
                              build="inline").attach()
        players = make_players(store, 6, prefix="cd")
        play(store, players, 14, seed=8100, code="CDA")
        assert assert_same(store, boards, players, (None,)) > 0
        server.kill()
        play(store, players, 3, seed=8200, code="CDB")       # updates fail: Redis is gone
        assert boards._dirty
        assert assert_same(store, boards, players, (None,)) > 0
        server.restart()
        time.sleep(0.3)                                       # the breaker's cooldown
        play(store, players, 2, seed=8300, code="CDC")
        assert assert_same(store, boards, players, (None,)) > 0
        assert not boards._dirty and client.get("dead:lb:all:state") == b"ready"
        client.close()
    finally:
        server.stop()


def test_a_lost_update_is_never_served(store, redis_client):
    """A write to Redis that fails while Redis keeps its old board (a timeout,
    a dropped connection): the process drops every board as soon as Redis
    answers again, so the old board is rebuilt rather than served."""
    client, prefix = redis_client
    boards = boards_for(store, client, prefix)
    boards.guard.cooldown = 0
    players = make_players(store, 5, prefix="cx")
    play(store, players, 14, seed=9100, code="CXA")
    assert assert_same(store, boards, players, (None,)) > 0
    real, calls = boards._write, []

    def lost(*args, **kwargs):
        calls.append(1)
        raise redis.ConnectionError("connection dropped (injected)")

    boards._write = lost
    play(store, players, 1, seed=9200, code="CXB")
    boards._write = real
    assert calls and boards._dirty is False           # dropped at once: Redis answered
    assert state(client, prefix, "all") is None
    assert assert_same(store, boards, players, (None,)) > 0


def test_a_missing_board_is_built_in_the_background(store, redis_client):
    client, prefix = redis_client
    boards = boards_for(store, client, prefix, build="background")
    players = make_players(store, 5, prefix="cg")
    play(store, players, 14, seed=9300, code="CGA")
    assert list(boards.leaderboard()) == list(store.leaderboard())   # from the DB, meanwhile
    deadline = time.monotonic() + 30
    while state(client, prefix, "all") != b"ready":
        assert time.monotonic() < deadline, "the board was never built"
        time.sleep(0.05)
    assert assert_same(store, boards, players, (None,)) > 0
