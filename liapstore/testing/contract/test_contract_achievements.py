"""Achievements: awarded in the transaction that ends a game, counted from the
rules engine's own round results, never twice, and retroactively by backfill."""
import threading

import pytest

from liapstore import InvalidInput
from liapstore.achievements import BY_CODE, CATALOGUE, game_facts
from liapstore.testing.support import (MEDIUM, SHORT, find_seed, make_players, make_room,
                                       play_recorded, record, rows, script, start)


def expected_progress(scripts_by_seat):
    """{code: progress} one player should have after games given as
    [(script, seat)], from the scripts' round results (not the store)."""
    progress = {a.code: 0 for a in CATALOGUE}
    for sc, seat in scripts_by_seat:
        facts = game_facts([_result(e) for e in sc.events("round_result")],
                           sc.game_over["winner"])[seat]
        for a in CATALOGUE:
            if progress[a.code] < a.target:  # counting stops once it is awarded
                progress[a.code] += a.count(facts)
    return progress


def _result(event):
    return {k: x for k, x in event.items() if k != "type"}


def test_a_finished_game_awards_what_its_rounds_earned(store):
    seed, _ = find_seed(lambda s: s.game_over["winner"] is not None
                        and any(e["multiplier"] > 1 for e in s.events("round_result")),
                        settings=MEDIUM)
    table, sc, game = play_recorded(store, seed, settings=MEDIUM)
    winner = table.players[sc.game_over["winner"]]
    for seat, player in enumerate(table.players):
        progress = store.achievement_progress(player.id)
        assert progress == expected_progress([(sc, seat)])
        held = {a.achievement: a for a in store.list_achievements(player.id)}
        assert set(held) == {code for code, n in progress.items() if n >= BY_CODE[code].target}
        for award in held.values():
            assert (award.game_id, award.awarded_at, award.player_id) == (game.id, game.ended_at,
                                                                          player.id)
    assert "first_win" in {a.achievement for a in store.list_achievements(winner.id)}
    assert "redeal_winner" in {a.achievement for a in store.list_achievements(winner.id)}
    holders = store.achievement_holders("first_win")
    assert [h.player_id for h in holders] == [winner.id]


def test_nothing_is_awarded_before_the_end_or_twice(store):
    sc = script(21)
    table = start(store, **SHORT)
    record(store, table.game.id, sc.steps[:-1])
    assert all(store.list_achievements(p.id) == [] for p in table.players)
    assert rows(store)["player_achievements"] == 0
    step, _, action, _ = sc.steps[-1]
    store.record_action(table.game.id, step, action)
    after = {p.id: store.achievement_progress(p.id) for p in table.players}
    count = rows(store)["player_achievements"]
    assert count > 0
    store.record_action(table.game.id, step, action)  # a retried game end
    assert {p.id: store.achievement_progress(p.id) for p in table.players} == after
    assert rows(store)["player_achievements"] == count


def test_a_rolled_back_game_end_awards_nothing(store):
    sc = script(22)
    table = start(store, **SHORT)
    record(store, table.game.id, sc.steps[:-1])
    step, _, action, _ = sc.steps[-1]
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.record_action(table.game.id, step, action)
            raise RuntimeError
    assert rows(store)["player_achievements"] == 0


def test_games_played_counts_across_games_and_awards_at_the_target(store):
    players = make_players(store, 4, prefix="regular")
    games = []
    for i in range(10):
        _, sc, game = _play_with(store, players, 100 + i, f"REG{i}")
        games.append((sc, game))
    for seat, player in enumerate(players):
        progress = store.achievement_progress(player.id)
        assert progress == expected_progress([(sc, seat) for sc, _ in games])
        held = {a.achievement: a for a in store.list_achievements(player.id)}
        assert held["games_10"].game_id == games[-1][1].id
        assert "games_100" not in held and progress["games_100"] == 10


def _play_with(store, players, seed, code):
    table = start(store, players=players, room=make_room(store, code=code), **SHORT)
    sc = script(seed)
    return table, sc, record(store, table.game.id, sc.steps)


def test_games_of_the_same_players_ending_at_once_all_count(store):
    players = make_players(store, 4, prefix="busy")
    tables, scripts = [], []
    for i in range(6):
        tables.append(start(store, players=players, room=make_room(store, code=f"BUSY{i}"), **SHORT))
        scripts.append(script(200 + i))
        record(store, tables[-1].game.id, scripts[-1].steps[:-1])
    errors, barrier = [], threading.Barrier(len(tables))

    def finish(table, sc):
        step, _, action, _ = sc.steps[-1]
        barrier.wait()
        try:
            store.record_action(table.game.id, step, action)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=finish, args=pair) for pair in zip(tables, scripts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for seat, player in enumerate(players):
        assert store.achievement_progress(player.id) == expected_progress(
            [(sc, seat) for sc in scripts])
        assert store.get_player(player.id).games_played == 6


def test_backfill_awards_retroactively_and_only_once(store):
    _, sc1, g1 = play_recorded(store, 31, code="BF1")
    _, sc2, g2 = play_recorded(store, 32, code="BF2")
    before = {p.id: (store.achievement_progress(p.id), store.list_achievements(p.id))
              for p in store.list_players(limit=100)}
    # As if the catalogue had grown after these games: no progress stored at all.
    store._delete("player_achievements", [])
    assert store.backfill_achievements()["awarded"] == sum(len(a) for _, a in before.values())
    after = {p.id: (store.achievement_progress(p.id), store.list_achievements(p.id))
             for p in store.list_players(limit=100)}
    assert after == before
    assert store.backfill_achievements() == {"players": len(before), "awarded": 0}


def test_holders_are_paged_and_codes_checked(store):
    for i in range(3):
        play_recorded(store, 40 + i, code=f"HOLD{i}")
    everyone = [h.player_id for h in store.achievement_holders("games_10", limit=100)]
    assert everyone == []
    winners = list(store.achievement_holders("first_win", limit=100))
    first = store.achievement_holders("first_win", limit=1)
    assert list(first) == winners[:1]
    if first.next_cursor:
        assert list(store.achievement_holders("first_win", limit=100, after=first.next_cursor)) == winners[1:]
    with pytest.raises(InvalidInput):
        store.achievement_holders("no_such_thing")
