"""Match history (per player, per room, newest first, page by page), the
games of a player, and statistics recomputed from the stored games."""
import pytest

import liapstore
from liapstore import InvalidInput, NotFound
from liapstore.testing.support import SHORT, expect, make_players, record, script


@pytest.fixture
def played(store):
    """Five finished games in two rooms among five players (one of them a
    bot), one abandoned game and one still running."""
    ps = make_players(store, 5, prefix="hist")
    rooms = [store.create_room("HISTA", "Room A"), store.create_room("HISTB", "Room B")]
    games = []
    for g in range(5):
        seated = [ps[(g + i) % 5] for i in range(4)]
        game = store.start_game(rooms[g % 2].id, [p.id for p in seated], bots=[3], **SHORT)
        games.append(record(store, game.id, script(40 + g).steps))
    abandoned = store.start_game(rooms[0].id, [p.id for p in ps[:4]], **SHORT)
    store.abandon_game(abandoned.id)
    running = store.start_game(rooms[1].id, [p.id for p in ps[1:]], **SHORT)
    return store, ps, rooms, games, store.get_game(abandoned.id), running


def test_a_players_history_newest_first_with_seats_scores_and_result(played):
    store, ps, rooms, games, abandoned, running = played
    me = ps[0]
    page = store.match_history(player_id=me.id, limit=50)
    mine = [g for g in games + [abandoned]
            if me.id in {s.player_id for s in store.get_seats(g.id)}]
    assert [m.game_id for m in page] == [g.id for g in sorted(
        mine, key=lambda g: (g.ended_at, g.id), reverse=True)]
    assert running.id not in {m.game_id for m in page}
    assert page.next_cursor is None
    for m in page:
        assert isinstance(m, liapstore.Match)
        game, seats = store.get_game(m.game_id), store.get_seats(m.game_id)
        room = store.get_room(game.room_id)
        assert (m.room_id, m.room_code, m.started_at, m.ended_at, m.winner_id) == (
            room.id, room.room_code, game.started_at, game.ended_at, game.winner_id)
        assert [(s.position, s.player_id, s.is_bot, s.score) for s in m.seats] == [
            (s.position, s.player_id, s.is_bot, s.score) for s in seats]
        assert [s.username for s in m.seats] == [store.get_player(s.player_id).username
                                                 for s in seats]
        assert m.position == next(s.position for s in seats if s.player_id == me.id)
        if game.final_scores is None:
            assert (m.result, m.final_scores) == ("abandoned", None)
        else:
            assert m.final_scores == tuple(game.final_scores["totals"])
            assert m.rounds_played == game.final_scores["rounds"] == len(store.list_rounds(game.id))
            assert m.result == ("tie" if game.winner_id is None else
                                "won" if game.winner_id == me.id else "lost")


def test_a_rooms_history_and_pages(played):
    store, ps, rooms, games, abandoned, running = played
    for room in rooms:
        whole = store.match_history(room_id=room.id, limit=100)
        ended = [g for g in games + [abandoned] if g.room_id == room.id]
        assert {m.game_id for m in whole} == {g.id for g in ended}
        assert all(m.result is None and m.position is None for m in whole)
        assert [m.ended_at for m in whole] == sorted((m.ended_at for m in whole), reverse=True)
        got, after = [], None
        while True:
            page = store.match_history(room_id=room.id, limit=1, after=after)
            got += list(page)
            if not (after := page.next_cursor):
                break
        assert got == list(whole)
    both = store.match_history(player_id=ps[0].id, room_id=rooms[0].id)
    assert all(m.room_id == rooms[0].id and m.result for m in both)


def test_history_arguments(played):
    store, ps, *_ = played
    expect(InvalidInput, store.match_history)
    expect(InvalidInput, store.match_history, player_id="nope")
    expect(InvalidInput, store.match_history, player_id=ps[0].id, limit=0)
    cursor = store.match_history(room_id=played[2][0].id, limit=1).next_cursor
    expect(InvalidInput, store.match_history, player_id=ps[0].id, after=cursor)
    assert list(store.match_history(player_id=store.create_player("hist_new").id)) == []


def test_list_games_of_a_player(played):
    store, ps, rooms, games, abandoned, running = played
    for p in ps:
        seated = [g for g in games + [abandoned, running]
                  if p.id in {s.player_id for s in store.get_seats(g.id)}]
        listed = store.list_games(player_id=p.id, limit=100)
        assert [g.id for g in listed] == [g.id for g in sorted(seated, key=lambda g: (g.started_at, g.id))]
        assert [g.id for g in store.list_games(player_id=p.id, active=True)] == [
            g.id for g in seated if g.id == running.id]
        got, after = [], None
        while True:
            page = store.list_games(player_id=p.id, limit=2, after=after)
            got += [g.id for g in page]
            if not (after := page.next_cursor):
                break
        assert got == [g.id for g in listed]


def test_statistics_agree_with_the_games_and_drift_is_reported(played):
    store, ps, *_ = played
    assert store.verify_stats() == []
    p = ps[1]
    store._update("players", [("id", "=", p.id)], {"games_won": store.get_player(p.id).games_won + 1})
    store._update("player_stats", [("period", "=", "all"), ("player_id", "=", p.id)],
                  {"total_score": 12345})
    drift = store.verify_stats()
    assert {(d.table, d.column) for d in drift} == {("players", "games_won"),
                                                    ("player_stats", "total_score")}
    assert all(p.id in d.key and str(p.id) in str(d) for d in drift)
    assert store.rebuild_stats() > 0
    assert store.verify_stats() == []


def test_rank_counts_are_checked_too(played):
    store, ps, *_ = played
    # Bring everyone to ten games, so that the rank counts have rows.
    for g in range(10):
        room = store.create_room(f"HC{g}", "more")
        game = store.start_game(room.id, [ps[(g + i) % 5].id for i in range(4)], **SHORT)
        record(store, game.id, script(60 + g).steps)
    assert store.verify_stats() == []
    [row] = store._select("leaderboard_buckets", [("period", "=", "all"), ("board", "=", "wins")],
                          (), limit=1)
    store._update("leaderboard_buckets", [(c, "=", row[c]) for c in ("period", "board", "bucket")],
                  {"players": row["players"] + 3})
    assert [(d.table, d.stored - d.expected) for d in store.verify_stats()] == [
        ("leaderboard_buckets", 3)]
    store.rebuild_stats()
    assert store.verify_stats() == []
    expect(NotFound, store.leaderboard, season="nope")
