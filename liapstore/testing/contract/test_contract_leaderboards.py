"""Leaderboards: ranks as SQL RANK() gives them, fresh when a game ends,
per board, per period (all time, week, month, named seasons), around a player,
page by page; the same on every backend."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

import liapstore
from liapstore import Conflict, InvalidInput, NotFound
from liapstore.testing.support import SHORT, expect, make_players, record, script

UTC = timezone.utc
STAT = {"wins": "games_won", "score": "highest_score", "winrate": "win_rate"}


def play_rotation(store, players, games, seed=300, code="LBR"):
    """Play ``games`` short games, seating four of ``players`` in rotation."""
    n = len(players)
    for g in range(games):
        seated = [players[(g + i) % n] for i in range(4)]
        room = store.create_room(f"{code}{g}", f"Rotation {g}")
        game = store.start_game(room.id, [p.id for p in seated], **SHORT)
        record(store, game.id, script(seed + g).steps)


def expected_board(store, players, by):
    """(username, rank, value) best first, computed here from the players' rows."""
    rows = [store.get_player(p.id) for p in players]
    rows = [p for p in rows if p.games_played >= 10]
    value = {p.id: (p.games_won / p.games_played if by == "winrate" else getattr(p, STAT[by]))
             for p in rows}
    rank = {p.id: 1 + sum(value[q.id] > value[p.id] for q in rows) for p in rows}
    return sorted(((p.username, rank[p.id], value[p.id]) for p in rows),
                  key=lambda e: (-e[2], e[0]))


@pytest.fixture
def ranked_store(store):
    players = make_players(store, 6, prefix="rk")
    play_rotation(store, players, 15)
    return store, players


def test_boards_rank_like_sql_rank(ranked_store):
    store, players = ranked_store
    for by in ("wins", "score", "winrate"):
        board = store.leaderboard(by=by)
        want = expected_board(store, players, by)
        assert [(e.username, e.rank) for e in board] == [(u, r) for u, r, _ in want], by
        for e in board:
            p = store.get_player(e.id)
            assert isinstance(e, liapstore.LeaderboardEntry)
            assert (e.by, e.season, e.display_name) == (by, "all", p.display_name)
            assert (e.games_played, e.games_won, e.total_score, e.highest_score) == (
                p.games_played, p.games_won, p.total_score, p.highest_score)
            assert e.win_rate == p.games_won / p.games_played
            assert store.rank(e.id, by=by) == e
    assert store.leaderboard() == store.leaderboard(by="wins")


def test_ties_share_a_rank_and_the_next_rank_skips(ranked_store):
    store, players = ranked_store
    seen_tie = False
    for by in ("wins", "score", "winrate"):
        ranks = [e.rank for e in store.leaderboard(by=by)]
        assert ranks[0] == 1
        for i in range(1, len(ranks)):
            # RANK(): equal to the previous rank on a tie, else the position.
            assert ranks[i] in (ranks[i - 1], i + 1)
            seen_tie |= ranks[i] == ranks[i - 1]
    assert seen_tie, "the seeded games produced no tie; pick other seeds"


def test_players_below_ten_games_are_unranked(ranked_store):
    store, players = ranked_store
    newcomer = store.create_player("rk_newcomer")
    play_rotation(store, [newcomer] + players[:3], 1, seed=900, code="NEW")
    assert store.get_player(newcomer.id).games_played == 1
    for by in ("wins", "score", "winrate"):
        assert newcomer.id not in {e.id for e in store.leaderboard(by=by)}
        assert store.rank(newcomer.id, by=by) is None
        assert store.leaderboard_around(newcomer.id, by=by) == []


def test_a_rank_is_fresh_when_record_action_returns(store):
    players = make_players(store, 4, prefix="fr")
    play_rotation(store, players, 9, code="FR")
    assert store.rank(players[0].id) is None and list(store.leaderboard()) == []
    room = store.create_room("FR-LAST", "tenth game")
    game = store.start_game(room.id, [p.id for p in players], **SHORT)
    steps = script(77).steps
    record(store, game.id, steps[:-1])
    assert store.rank(players[0].id) is None
    store.record_action(game.id, steps[-1][0], steps[-1][2])   # the game ends here
    # No refresh: the ranks include the game at once.
    assert store.rank(players[0].id) is not None
    assert [(e.username, e.rank) for e in store.leaderboard()] == [
        (u, r) for u, r, _ in expected_board(store, players, "wins")]


def test_pages_and_the_window_around_a_player(ranked_store):
    store, players = ranked_store
    for by in ("wins", "winrate"):
        whole = list(store.leaderboard(by=by))
        got, after = [], None
        while True:
            page = store.leaderboard(by=by, limit=2, after=after)
            assert len(page) <= 2
            got += list(page)
            if not (after := page.next_cursor):
                break
        assert got == whole
        for i, e in enumerate(whole):
            for radius in (0, 1, 2, 10):
                window = store.leaderboard_around(e.id, by=by, radius=radius)
                assert window == whole[max(0, i - radius):i + radius + 1], (by, i, radius)


def test_seasons_week_month_and_named(ranked_store):
    store, players = ranked_store
    alltime = [(e.username, e.rank) for e in store.leaderboard()]
    now = datetime.now(UTC)
    iso = now.isocalendar()
    for season in ("week", "month", f"week:{iso[0]}-W{iso[1]:02d}", f"month:{now.year}-{now.month:02d}"):
        board = store.leaderboard(season=season)
        assert [(e.username, e.rank) for e in board] == alltime, season
        assert board[0].season.startswith(("week:", "month:"))
    # A past period stays queryable; this one simply had no games.
    assert list(store.leaderboard(season="week:2001-W05")) == []
    assert list(store.leaderboard(season="month:2001-02", by="score")) == []

    # A named season created after its games counts them at once.
    season = store.create_season("autumn", now - timedelta(days=1), now + timedelta(days=1))
    assert (season.name, season.starts_at <= now < season.ends_at) == ("autumn", True)
    assert [(e.username, e.rank) for e in store.leaderboard(season="autumn")] == alltime
    assert store.leaderboard(season="season:autumn") == store.leaderboard(season="autumn")
    top = store.leaderboard(season="autumn")[0]
    assert store.rank(top.id, season="autumn").season == "season:autumn"
    store.create_season("long-ago", datetime(2001, 1, 1, tzinfo=UTC), datetime(2002, 1, 1, tzinfo=UTC))
    assert list(store.leaderboard(season="long-ago")) == []
    assert [s.name for s in store.list_seasons()] == ["long-ago", "autumn"]

    # Games ending from now on count in the running season too.
    play_rotation(store, players, 2, seed=500, code="SEA")
    assert [(e.username, e.rank) for e in store.leaderboard(season="autumn")] == [
        (e.username, e.rank) for e in store.leaderboard()]
    assert store.verify_stats() == []


def test_leaderboard_arguments(store):
    p = store.create_player("rk_args")
    for by in ("points", "", None, "WINS"):
        expect(InvalidInput, store.leaderboard, by=by)
        expect(InvalidInput, store.rank, p.id, by=by)
    for limit in (0, -3, "10", 100_000):
        expect(InvalidInput, store.leaderboard, limit=limit)
    for season in ("week:2026-W60", "month:2026-13", 7):
        expect(InvalidInput, store.leaderboard, season=season)
    expect(NotFound, store.leaderboard, season="no-such-season")
    expect(InvalidInput, store.leaderboard, after="garbage")
    expect(InvalidInput, store.leaderboard_around, p.id, radius=-1)
    expect(InvalidInput, store.rank, "not-a-uuid")
    assert store.rank(p.id) is None
    assert list(store.leaderboard(by="score", limit=1)) == []
    start, end = datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 2, 1, tzinfo=UTC)
    for name in ("", "week", "all", "a b", "x" * 41, "season:x"):
        expect(InvalidInput, store.create_season, name, start, end)
    expect(InvalidInput, store.create_season, "backwards", end, start)
    expect(InvalidInput, store.create_season, "naive", datetime(2030, 1, 1), end)
    store.create_season("s2030", start, end)
    expect(Conflict, store.create_season, "s2030", start, end)


def test_friends_of_ranks_a_player_and_their_friends_among_themselves(ranked_store):
    store, players = ranked_store
    board = list(store.leaderboard())
    me = board[-1]
    friend, stranger = board[0], board[1]
    store.request_friend(me.id, friend.id)
    assert [e.id for e in store.leaderboard(friends_of=me.id)] == [me.id]   # pending: not yet
    store.accept_friend(friend.id, me.id)
    if len(board) > 2:
        store.request_friend(me.id, board[2].id)                           # pending only
    unranked = store.create_player("rk_friend_new")
    store.request_friend(me.id, unranked.id)
    store.accept_friend(unranked.id, me.id)
    ours = list(store.leaderboard(friends_of=me.id))
    assert [(e.id, e.rank) for e in ours] == [(friend.id, 1), (me.id, 2)]
    assert stranger.id not in {e.id for e in ours}
    assert [e.id for e in store.leaderboard(friends_of=friend.id)] == [friend.id, me.id]
    first = store.leaderboard(friends_of=me.id, limit=1)
    assert list(first) == ours[:1]
    assert list(store.leaderboard(friends_of=me.id, after=first.next_cursor)) == [
        e for e in ours[1:]]
    expect(InvalidInput, store.leaderboard, after=first.next_cursor)   # another listing's cursor
    store.remove_friend(me.id, friend.id)
    assert [e.id for e in store.leaderboard(friends_of=me.id)] == [me.id]
    expect(NotFound, store.leaderboard, friends_of=uuid.uuid4())
