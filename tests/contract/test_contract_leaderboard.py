"""The leaderboard: players with at least 10 recorded games, ranked."""
import liapstore
from liapstore import InvalidInput
from contract.contract_support import SHORT, expect, make_players, record, script


def _expected(players, key):
    eligible = [p for p in players if p.games_played >= 10]
    rank = {p.id: 1 + sum(getattr(q, key) > getattr(p, key) for q in eligible) for p in eligible}
    return eligible, rank


def test_leaderboard_ranks_players_with_ten_games(store):
    ps = make_players(store, 6, prefix="lb")
    store.refresh_leaderboard()
    assert store.leaderboard() == []
    # Ten games among ps[0..3] (seats rotating), then one with ps[4]:
    # ps[4] has one game and ps[5] none, so neither is ranked.
    for g in range(11):
        seated = [ps[(g + i) % 4] for i in range(4)] if g < 10 else [ps[0], ps[4], ps[1], ps[2]]
        room = store.create_room(f"LB{g}", f"Leaderboard {g}")
        game = store.start_game(room.id, [p.id for p in seated], **SHORT)
        record(store, game.id, script(100 + g).steps)
    players = [store.get_player(p.id) for p in ps]
    assert [p.games_played for p in players] == [11, 11, 11, 10, 1, 0]
    assert sum(p.games_won for p in players) > 0

    # maintain() says whether it refreshed a stored leaderboard: only where
    # the leaderboard does not already show the games (PostgreSQL's
    # materialized view); elsewhere it is computed when read.
    live = {e.id for e in store.leaderboard()} == {p.id for p in players if p.games_played >= 10}
    assert live != store.materialized_leaderboard
    assert store.maintain()["leaderboard_refreshed"] is store.materialized_leaderboard
    for by, key, rank_field in (("wins", "games_won", "wins_rank"),
                                ("score", "highest_score", "score_rank")):
        board = store.leaderboard(by=by)
        eligible, rank = _expected(players, key)
        assert {e.id for e in board} == {p.id for p in eligible}
        assert [(getattr(e, rank_field), e.username) for e in board] == sorted(
            (rank[p.id], p.username) for p in eligible)
        for e in board:
            p = next(x for x in players if x.id == e.id)
            assert isinstance(e, liapstore.LeaderboardEntry)
            assert (e.username, e.display_name, e.games_won, e.games_played, e.highest_score) == (
                p.username, p.display_name, p.games_won, p.games_played, p.highest_score)
            assert abs(e.win_rate - p.games_won / p.games_played) < 1e-9
            assert isinstance(e.win_rate, float)
            assert e.wins_rank == _expected(players, "games_won")[1][p.id]
            assert e.score_rank == _expected(players, "highest_score")[1][p.id]
        assert store.leaderboard(by=by, limit=2) == board[:2]
    assert store.leaderboard() == store.leaderboard(by="wins")


def test_leaderboard_arguments(store):
    for by in ("points", "", None, "WINS"):
        expect(InvalidInput, store.leaderboard, by=by)
    for limit in (0, -3, "10", 100_000):
        expect(InvalidInput, store.leaderboard, limit=limit)
    assert store.leaderboard(by="score", limit=1) == []
