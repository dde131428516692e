"""Leaderboards from Redis sorted sets answer exactly as the database does:
same entries, same order, same ranks (ties included), every board, every
period, pages and windows, while games keep ending, after renames, season
creation and statistics rebuilds, and after Redis loses the boards."""
import time
from datetime import datetime, timedelta, timezone

import pytest
import redis

from liapstore.cache import wrap
from support.cache_prefix import private_prefix
from liapstore.testing.support import SHORT, make_players, record, script

UTC = timezone.utc
BOARDS = ("wins", "score", "winrate")


@pytest.fixture
def cached_boards(store, redis_url):
    """(the store behind the cache, its leaderboards, a Redis client, the prefix)."""
    with private_prefix(redis_url, "t-lb") as (cache_url, prefix, client):
        behind = wrap(store, cache_url)
        behind._cache_boards.build_mode = "inline"
        try:
            yield behind, behind._cache_boards, client, prefix
        finally:
            behind._cache_link.close()


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
    # ``boards``: the cached store; ``store``: the same store without the cache.
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


def test_redis_boards_equal_the_database_ones(store, cached_boards):
    c, lb, client, prefix = cached_boards
    players = make_players(store, 9, prefix="cb")
    play(store, players, 30, seed=4100, code="CBA")
    now = datetime.now(UTC)
    c.create_season("cachetest", now - timedelta(days=1), now + timedelta(days=1))
    seasons = (None, "week", "month", "cachetest")
    assert assert_same(store, c, players, seasons) > 0
    # The answers above came from Redis: each board was built on first read.
    for period in ("all", "season:cachetest"):
        assert state(client, prefix, period) == b"ready"
    ties = [e.rank for e in store.leaderboard(by="wins")]
    assert len(set(ties)) < len(ties), "no tie in the seeded games; pick other seeds"

    # Games ending now (through the cached store) update the built boards in
    # place, with no rebuild; every later answer comes from Redis.
    before = c.cache_stats()["leaderboards"]
    play(c, players, 12, seed=4500, code="CBB")
    assert state(client, prefix, "all") == b"ready"
    assert assert_same(store, c, players, seasons) > 0
    after = c.cache_stats()["leaderboards"]
    assert after["redis_hits"] > before["redis_hits"] and after["misses"] == before["misses"]
    assert after["errors"] == after["bypassed"] == 0

    # Renames reach the boards; a rolled-back rename does not.
    with c.acting_as(players[0].id):
        c.update_player(players[0].id, display_name="Renamed Zero")
    with pytest.raises(RuntimeError), c.acting_as(players[1].id):
        with c.transaction():
            c.update_player(players[1].id, display_name="Never Committed")
            raise RuntimeError("roll back")
    assert assert_same(store, c, players, seasons) > 0

    # A rebuild of the statistics drops the boards; the next reads rebuild them.
    c.rebuild_stats()
    assert state(client, prefix, "all") is None
    assert assert_same(store, c, players, seasons) > 0
    assert state(client, prefix, "all") == b"ready"


def test_inside_a_transaction_the_database_answers(store, cached_boards):
    """A game ended in the caller's open transaction counts in the ranks the
    caller reads there, as without the cache; Redis sees it after the commit."""
    c, lb, client, prefix = cached_boards
    players = make_players(store, 4, prefix="ct")
    play(c, players, 10, seed=4700, code="CTA")
    assert list(c.leaderboard()) == list(store.leaderboard())
    with c.transaction():
        play(c, players, 1, seed=4800, code="CTB")
        inside = list(c.leaderboard())
        assert inside == list(store.leaderboard())
        assert inside[0].games_played == 11
    assert list(c.leaderboard()) == inside and state(client, prefix, "all") == b"ready"


def test_a_lost_board_is_rebuilt_not_served_wrong(store, cached_boards):
    c, lb, client, prefix = cached_boards
    players = make_players(store, 6, prefix="cl")
    play(c, players, 18, seed=5100, code="CLA")
    assert assert_same(store, c, players, (None,)) > 0
    # Redis loses the boards (an eviction, `cache clear`): games meanwhile
    # cannot update them.
    for key in client.scan_iter(match=f"{prefix}lb:*"):
        client.unlink(key)
    play(c, players, 4, seed=5200, code="CLB")
    assert assert_same(store, c, players, (None,)) > 0
    assert state(client, prefix, "all") == b"ready"
    # The state is what makes a board servable: it expires first, with the board.
    client.unlink(f"{prefix}lb:all:z:wins", f"{prefix}lb:all:state")
    assert list(c.leaderboard()) == list(store.leaderboard())


def test_a_game_ending_during_a_build_is_counted(store, cached_boards):
    """The build marks the board before it reads its snapshot, so a game that
    commits after the snapshot updates the board being built."""
    c, lb, client, prefix = cached_boards
    players = make_players(store, 5, prefix="cr")
    play(c, players, 14, seed=6100, code="CRA")
    real_slice = store._board_slice

    def slice_then_game(*args):
        rows = real_slice(*args)
        store._board_slice = real_slice
        play(c, players, 3, seed=6200, code="CRB")   # commits after the snapshot
        return rows

    store._board_slice = slice_then_game
    assert lb.build("all") is not None
    assert state(client, prefix, "all") == b"ready"
    assert assert_same(store, c, players, (None,)) > 0


def test_out_of_order_updates_keep_the_newest_row(store, cached_boards):
    c, lb, client, prefix = cached_boards
    players = make_players(store, 4, prefix="co")
    play(c, players, 12, seed=7100, code="COA")
    assert list(c.leaderboard()) == list(store.leaderboard())
    rows = store._select("player_stats", [("period", "=", "all")], ())
    older = [{**r, "games_played": r["games_played"] - 1, "games_won": 0} for r in rows]
    lb.defer = None
    lb.stats_written(older)   # a slower process's update, arriving late
    assert list(c.leaderboard()) == list(store.leaderboard())


@pytest.mark.servers
def test_boards_when_redis_dies_and_comes_back_empty(store):
    """Redis killed: every read answers from the database, games go on; Redis
    back (empty): the boards are rebuilt and served again, never stale."""
    from support.servers import RedisServer
    server = RedisServer.start()
    c = wrap(store, f"{server.url}?prefix=dead:&timeout_ms=100&breaker_seconds=0.2")
    try:
        c._cache_boards.build_mode = "inline"
        client = redis.Redis.from_url(server.url)
        players = make_players(store, 6, prefix="cd")
        play(c, players, 14, seed=8100, code="CDA")
        assert assert_same(store, c, players, (None,)) > 0
        server.kill()
        play(c, players, 3, seed=8200, code="CDB")       # updates fail: Redis is gone
        assert c._cache_boards._dirty
        assert assert_same(store, c, players, (None,)) > 0
        server.restart()
        deadline = time.monotonic() + 10
        while not c.cache_status()["serving"]:           # the cache comes back by itself
            assert time.monotonic() < deadline, c.cache_status()
            time.sleep(0.05)
        play(c, players, 2, seed=8300, code="CDC")
        assert assert_same(store, c, players, (None,)) > 0
        assert not c._cache_boards._dirty and client.get("dead:lb:all:state") == b"ready"
        client.close()
    finally:
        c._cache_link.close()
        server.stop()


def test_a_lost_update_is_never_served(store, cached_boards):
    """A board update that fails while Redis keeps its old board (a timeout,
    a dropped connection): the process drops every board as soon as Redis
    answers again, so the old board is rebuilt rather than served."""
    c, lb, client, prefix = cached_boards
    players = make_players(store, 5, prefix="cx")
    play(c, players, 14, seed=9100, code="CXA")
    assert assert_same(store, c, players, (None,)) > 0
    link, calls = c._cache_link, []
    real = link._with_barrier

    def dropped(keys, args, extra=()):
        calls.append(extra)
        raise redis.ConnectionError("connection dropped (injected)")

    link._with_barrier = dropped
    play(c, players, 1, seed=9200, code="CXB")            # the game's end: its update is lost
    link._with_barrier = real
    assert any(calls) and lb._dirty                       # the update rode with an invalidation
    time.sleep(c._cache_config.breaker_seconds + 0.1)
    assert assert_same(store, c, players, (None,)) > 0
    assert not lb._dirty


def test_a_missing_board_is_built_in_the_background(store, cached_boards):
    c, lb, client, prefix = cached_boards
    lb.build_mode = "background"
    players = make_players(store, 5, prefix="cg")
    play(c, players, 14, seed=9300, code="CGA")
    assert list(c.leaderboard()) == list(store.leaderboard())   # from the DB, meanwhile
    deadline = time.monotonic() + 30
    while state(client, prefix, "all") != b"ready":
        assert time.monotonic() < deadline, "the board was never built"
        time.sleep(0.05)
    assert assert_same(store, c, players, (None,)) > 0


def test_a_build_page_by_page_with_games_ending_between_pages(store, cached_boards, monkeypatch):
    """Builds read the board in pages (ties straddling page boundaries);
    players whose games end between two pages are neither lost nor stale."""
    from liapstore.cache import leaderboards
    c, lb, client, prefix = cached_boards
    monkeypatch.setattr(leaderboards, "_PAGE", 2)
    players = make_players(store, 9, prefix="cp")
    play(store, players, 30, seed=4100, code="CPA")
    real_slice, calls = store._board_slice, []

    def slice_with_games(*args):
        calls.append(args)
        if len(calls) == 2:
            play(c, players, 4, seed=4600, code=f"CPB{len(calls)}")
        return real_slice(*args)

    store._board_slice = slice_with_games
    assert lb.build("all") is not None
    store._board_slice = real_slice
    assert len(calls) >= 5
    assert assert_same(store, c, players, (None,)) > 0
