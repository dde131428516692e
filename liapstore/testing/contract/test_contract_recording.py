"""Recording games: the action log, derived results, retries, conflicts,
recovery after a restart, abandoning, and stale writers."""
import threading
import uuid
from collections import defaultdict
from datetime import timezone

import pytest

import liapstore
from liapstore import Conflict, InvalidInput, NotFound
from liapstore.game import bots, rules
from liapstore.testing.support import (MEDIUM, SHORT, find_seed, play_recorded, record, rows,
                                       script, start, step_of_kind)

UTC = timezone.utc
FULL = {"winning_score": 50, "max_rounds": 20}


def _check_results(store, table, sc, game):
    """Everything a finished game must have stored, derived from the script."""
    players = [p.id for p in table.players]
    n = len(sc.steps)
    over = sc.game_over
    winner = None if over["winner"] is None else players[over["winner"]]

    # The games row.
    assert game == store.get_game(table.game.id)
    assert game.version == n
    assert game.finished and game.ended_at >= game.started_at
    assert game.current_phase == "GAME_OVER"
    assert game.phase_data == sc.final_state.to_dict()
    assert game.winner_id == winner
    assert game.final_scores["totals"] == over["totals"]
    assert game.final_scores["rounds"] == over["rounds"]
    assert game.final_scores["by_player"] == {str(p): t for p, t in zip(players, over["totals"])}

    # The action log: 1..n without gaps, exactly the actions sent.
    actions = store.list_actions(game.id)
    assert [a.sequence_number for a in actions] == list(range(1, n + 1))
    assert [a.action_data for a in actions] == sc.actions
    assert [a.action_type for a in actions] == [a["type"] for a in sc.actions]
    assert [a.player_id for a in actions] == [
        None if "seat" not in a else players[a["seat"]] for a in sc.actions]
    assert all(isinstance(a, liapstore.Action) and a.game_id == game.id for a in actions)
    assert all(a.timestamp.utcoffset() is not None for a in actions)
    assert [a.timestamp for a in actions] == sorted(a.timestamp for a in actions)
    assert len({a.id for a in actions}) == n

    # Rounds: one per round played, with the rules engine's results.
    round_events = sc.events("round_result")
    rounds = store.list_rounds(game.id)
    assert [r.round_number for r in rounds] == list(range(1, over["rounds"] + 1))
    assert len(rounds) == len(round_events)
    for r, event in zip(rounds, round_events):
        assert r.game_id == game.id
        assert r.ended_at is not None and r.ended_at >= r.started_at
        assert r.multiplier == event["multiplier"]
        assert r.had_redeal == (event["multiplier"] > 1)
        assert r.round_data == {k: x for k, x in event.items() if k != "type"}
    assert rounds[-1].round_data["totals"] == over["totals"]

    # Turns: every turn of every round; each round hands out 8 piles.
    turn_events = sc.events("turn_result")
    turns = store.list_turns(game.id)
    assert len(turns) == len(turn_events)
    round_of = {r.id: r.round_number for r in rounds}
    piles = defaultdict(int)
    for t, event in zip(turns, turn_events):
        assert (round_of[t.round_id], t.turn_number) == (event["round"], event["turn"])
        assert t.winner_id == players[event["winner"]]
        assert t.leading_player_id == players[event["starter"]]
        assert t.pile_count == t.required_piece_count == event["piles"]
        assert [(x["seat"], x["pieces"]) for x in t.plays] == [(s, p) for s, p in event["plays"]]
        assert [x["player_id"] for x in t.plays] == [str(players[s]) for s, _ in event["plays"]]
        piles[round_of[t.round_id]] += t.pile_count
    assert dict(piles) == {r.round_number: 8 for r in rounds}
    for r in rounds:
        numbers = [t.turn_number for t in store.list_turns(game.id, round_number=r.round_number)]
        assert numbers == list(range(1, len(numbers) + 1))
    assert sum(len(store.list_turns(game.id, r.round_number)) for r in rounds) == len(turns)

    # Seats after the last round.
    last = round_events[-1]
    seats = store.get_seats(game.id)
    assert [s.score for s in seats] == over["totals"]
    assert [s.pieces_in_hand for s in seats] == [[]] * 4
    assert [s.declared_piles for s in seats] == last["declared"]
    assert [s.captured_piles for s in seats] == last["captured"]

    # The room and the players' statistics.
    room = store.get_room(table.room.id)
    assert (room.status, room.current_game_id) == ("finished", game.id)
    for p, total in zip(table.players, over["totals"]):
        now = store.get_player(p.id)
        assert now.games_played == p.games_played + 1
        assert now.games_won == p.games_won + (p.id == winner)
        assert now.total_score == p.total_score + total
        assert now.highest_score == max(p.highest_score, total)

    assert store.verify_game(game.id) == []
    assert store.replay(game.id).ok
    saved = store.load_game(game.id)
    assert saved.state == sc.final_state and saved.game == game
    assert game.id not in [s.game.id for s in store.unfinished_games()]


def test_full_length_game(store):
    seed, sc = find_seed(lambda s: s.game_over["winner"] is not None and s.game_over["rounds"] > 3
                         and any(e["multiplier"] > 1 for e in s.events("round_result")),
                         settings=FULL)
    table = start(store, **FULL)
    for step, _, action, _ in sc.steps:
        game = store.record_action(table.game.id, step, action)
        assert game.version == step
    _check_results(store, table, sc, game)
    # A retry of the last action changes nothing.
    counts = rows(store)
    again = store.record_action(game.id, len(sc.steps), sc.actions[-1])
    assert again == game and rows(store) == counts


@pytest.mark.parametrize("settings", [SHORT, MEDIUM])
def test_short_games(store, settings):
    seed, _ = find_seed(lambda s: s.game_over["winner"] is not None, settings=settings)
    table = start(store, **settings)
    sc = script(seed, **settings)
    for step, _, action, outcome in sc.steps:
        game = store.record_action(table.game.id, step, action)
        assert game == store.get_game(table.game.id)
        assert (game.version, game.current_phase, game.current_round) == (
            step, outcome.state.phase, outcome.state.round)
        assert game.phase_data == outcome.state.to_dict()
    _check_results(store, table, sc, game)


def test_seats_follow_every_action(store):
    table = start(store, **MEDIUM)
    sc = script(4, **MEDIUM)
    for step, _, action, outcome in sc.steps[:60]:
        store.record_action(table.game.id, step, action)
        st = outcome.state
        seats = store.get_seats(table.game.id)
        assert [s.pieces_in_hand for s in seats] == [list(h) for h in st.hands]
        assert [s.declared_piles for s in seats] == list(st.declarations)
        assert [s.captured_piles for s in seats] == list(st.captured)
        assert [s.score for s in seats] == list(st.scores)
    assert store.verify_game(table.game.id) == []


def test_tied_game_has_no_winner(store):
    seed, sc = find_seed(lambda s: s.game_over["winner"] is None)
    table, sc, game = play_recorded(store, seed)
    assert game.winner_id is None
    for p, total in zip(table.players, sc.game_over["totals"]):
        now = store.get_player(p.id)
        assert (now.games_played, now.games_won, now.total_score) == (1, 0, total)
    assert store.verify_game(game.id) == []


def test_statistics_accumulate_over_games(store):
    table, first_sc, _ = play_recorded(store, 0)
    room2 = store.create_room("ROOM2", "Second")
    players = table.players
    # Same players, other seats.
    order = [players[2], players[0], players[3], players[1]]
    game2 = store.start_game(room2.id, [p.id for p in order], **SHORT)
    second_sc = script(5)
    record(store, game2.id, second_sc.steps)
    totals = defaultdict(list)
    wins = defaultdict(int)
    for seating, sc in (([p.id for p in players], first_sc), ([p.id for p in order], second_sc)):
        for pid, t in zip(seating, sc.game_over["totals"]):
            totals[pid].append(t)
        if sc.game_over["winner"] is not None:
            wins[seating[sc.game_over["winner"]]] += 1
    for p in players:
        now = store.get_player(p.id)
        assert now.games_played == 2
        assert now.games_won == wins[p.id]
        assert now.total_score == sum(totals[p.id])
        assert now.highest_score == max(0, *totals[p.id])


def test_list_actions_windows(store):
    table, sc, game = play_recorded(store, 1)
    n = len(sc.steps)
    assert [a.sequence_number for a in store.list_actions(game.id, after_sequence=n - 3)] == [
        n - 2, n - 1, n]
    assert [a.sequence_number for a in store.list_actions(game.id, after_sequence=5, limit=2)] == [6, 7]
    assert store.list_actions(game.id, after_sequence=n) == []
    for bad in ({"after_sequence": -1}, {"after_sequence": "1"}, {"limit": 0}):
        with pytest.raises(InvalidInput):
            store.list_actions(game.id, **bad)


def test_retries_conflicts_and_illegal_actions(store):
    table = start(store, **SHORT)
    sc = script(11)
    gid = table.game.id
    k = step_of_kind(sc, "declare") + 1          # record up to (and including) a declaration
    game = record(store, gid, sc.steps[:k])
    assert game.version == k
    counts = rows(store)

    # Retrying the last action, or an earlier one, is a no-op.
    assert store.record_action(gid, k, sc.actions[k - 1]) == game
    assert store.record_action(gid, 1, sc.actions[0]) == game
    assert rows(store) == counts

    # A different action under a used number.
    want = rules.expected(sc.steps[k - 1][1])
    other = dict(sc.actions[k - 1], piles=next(p for p in want.allowed if p != sc.actions[k - 1]["piles"]))
    with pytest.raises(Conflict):
        store.record_action(gid, k, other)
    other_deal = {"type": "deal", "hands": list(reversed(sc.actions[0]["hands"]))}
    with pytest.raises(Conflict):
        store.record_action(gid, 1, other_deal)

    # A number that skips ahead.
    with pytest.raises(Conflict):
        store.record_action(gid, k + 2, sc.actions[k])
    with pytest.raises(Conflict):
        store.record_action(gid, k + 100, sc.actions[k])

    # Illegal actions: InvalidInput, nothing written.
    state = sc.steps[k][1]
    want = rules.expected(state)
    illegal = [
        {"type": "fly"},
        {"type": want.kind},
        dict(sc.actions[k], seat=(sc.actions[k]["seat"] + 1) % 4),
        {"type": "play", "seat": want.seat, "pieces": ["GENERAL_RED"] * 7},
        {"type": "deal", "hands": sc.actions[0]["hands"]},
        dict(sc.actions[k], extra=1),
    ]
    if want.kind == "declare":
        illegal.append(dict(sc.actions[k], piles=9))
        illegal.append(dict(sc.actions[k], piles="2"))
    for action in illegal:
        with pytest.raises(InvalidInput):
            store.record_action(gid, k + 1, action)
        assert store.get_game(gid).version == k
        assert len(store.list_actions(gid)) == k
        assert rows(store) == counts

    # Malformed arguments.
    for seq in (0, -1, "3", 2.0, None, True):
        with pytest.raises(InvalidInput):
            store.record_action(gid, seq, sc.actions[k])
    for action in (None, "deal", [sc.actions[k]], {"type": "deal", "hands": {1, 2}}):
        with pytest.raises(InvalidInput):
            store.record_action(gid, k + 1, action)
    with pytest.raises(NotFound):
        store.record_action(uuid.uuid4(), 1, sc.actions[0])
    with pytest.raises(InvalidInput):
        store.record_action("game-1", 1, sc.actions[0])
    assert rows(store) == counts

    # The game goes on normally after all that.
    game = record(store, gid, sc.steps[k:])
    assert game.version == len(sc.steps) and game.finished
    assert store.verify_game(gid) == []


def test_no_actions_after_game_over(store):
    table, sc, game = play_recorded(store, 3)
    n = len(sc.steps)
    counts = rows(store)
    with pytest.raises(InvalidInput):
        store.record_action(game.id, n + 1, {"type": "deal", "hands": sc.actions[0]["hands"]})
    assert store.record_action(game.id, n, sc.actions[-1]) == game
    assert rows(store) == counts


def test_record_action_copies_its_input(store):
    table = start(store, **SHORT)
    sc = script(2)
    action = {"type": "deal", "hands": [list(h) for h in sc.actions[0]["hands"]]}
    store.record_action(table.game.id, 1, action)
    action["hands"][0][0] = "MUTATED"
    assert store.list_actions(table.game.id)[0].action_data == sc.actions[0]
    record(store, table.game.id, sc.steps[1:])
    assert store.verify_game(table.game.id) == []


def _continue(store, saved, seed):
    game = saved.game
    state = saved.state
    while rules.expected(state).kind != "none":
        step = game.version + 1
        action = bots.next_action(state, seed, step)
        game = store.record_action(game.id, step, action)
        state = rules.apply(state, action).state
    return game


def test_load_game_and_continue(store):
    seed = 21
    sc = script(seed, **MEDIUM)
    table = start(store, **MEDIUM)
    m = len(sc.steps) // 2
    record(store, table.game.id, sc.steps[:m])

    saved = store.load_game(table.game.id)
    assert isinstance(saved, liapstore.SavedGame)
    assert saved.game.version == m
    assert saved.state == sc.steps[m - 1][3].state
    assert [s.player_id for s in saved.seats] == [p.id for p in table.players]
    assert [saved.player_at(i) for i in range(4)] == [p.id for p in table.players]

    game = _continue(store, saved, seed)
    assert game.version == len(sc.steps)
    assert [a.action_data for a in store.list_actions(game.id)] == sc.actions
    assert game.final_scores["totals"] == sc.game_over["totals"]
    assert store.verify_game(game.id) == []


def test_unfinished_games_resume_identically(store):
    seeds = (31, 32, 33)
    tables, scripts, cut = [], [], (0, 7, None)
    for i, seed in enumerate(seeds):
        table = start(store, code=f"R{i}", **MEDIUM)
        sc = script(seed, **MEDIUM)
        upto = len(sc.steps) // 3 if cut[i] is None else cut[i]
        record(store, table.game.id, sc.steps[:upto])
        tables.append(table)
        scripts.append((sc, upto))
    # A finished game is not "unfinished".
    done, _, _ = play_recorded(store, 40, code="DONE")

    saved = store.unfinished_games()
    assert [s.game.id for s in saved] == [t.game.id for t in tables]
    for s, table, (sc, upto), seed in zip(saved, tables, scripts, seeds):
        assert s.game == store.get_game(table.game.id)
        assert s.game.version == upto
        expected_state = rules.new_game(**MEDIUM) if upto == 0 else sc.steps[upto - 1][3].state
        assert s.state == expected_state
        assert [x.position for x in s.seats] == [0, 1, 2, 3]
        game = _continue(store, s, seed)
        assert [a.action_data for a in store.list_actions(game.id)] == sc.actions
        assert game.final_scores == {
            "totals": sc.game_over["totals"], "rounds": sc.game_over["rounds"],
            "by_player": {str(p.id): t for p, t in zip(table.players, sc.game_over["totals"])}}
        assert store.verify_game(game.id) == []
    assert store.unfinished_games() == []
    assert done.game.id not in [s.game.id for s in saved]


@pytest.mark.durable
def test_resume_after_reopening_the_store(store_url):
    seed = 8
    sc = script(seed, **MEDIUM)
    with liapstore.connect(store_url) as first:
        table = start(first, **MEDIUM)
        m = 2 * len(sc.steps) // 3
        record(first, table.game.id, sc.steps[:m])
    with liapstore.connect(store_url) as second:
        [saved] = second.unfinished_games()
        assert saved.state == sc.steps[m - 1][3].state
        game = _continue(second, saved, seed)
        assert [a.action_data for a in second.list_actions(game.id)] == sc.actions
        assert second.verify_game(game.id) == []
        assert second.get_room(table.room.id).status == "finished"


def test_abandon_game(store):
    table = start(store, **MEDIUM)
    sc = script(6, **MEDIUM)
    record(store, table.game.id, sc.steps[:15])
    before = {p.id: store.get_player(p.id) for p in table.players}
    store.abandon_game(table.game.id)

    game = store.get_game(table.game.id)
    assert game.finished and game.winner_id is None and game.final_scores is None
    assert store.get_room(table.room.id).status == "abandoned"
    assert store.unfinished_games() == []
    assert [g.id for g in store.list_games(active=False)] == [game.id]
    assert store.list_games(active=True).items == ()
    for p in table.players:
        assert store.get_player(p.id).games_played == before[p.id].games_played
    assert len(store.list_actions(game.id)) == 15

    counts = rows(store)
    with pytest.raises(Conflict):
        store.record_action(game.id, game.version + 1, sc.actions[15])
    with pytest.raises(Conflict):
        store.record_action(game.id, 16, sc.actions[15])
    with pytest.raises(Conflict):
        store.abandon_game(game.id)
    assert rows(store) == counts
    with pytest.raises(NotFound):
        store.abandon_game(uuid.uuid4())


def test_abandoned_game_verifies_clean(store):
    table = start(store, **MEDIUM)
    record(store, table.game.id, script(6, **MEDIUM).steps[:15])
    store.abandon_game(table.game.id)
    # Abandoning is not corruption: the log and the stored rows still agree.
    assert store.verify_game(table.game.id) == []


def test_a_finished_game_cannot_be_abandoned(store):
    table, _, game = play_recorded(store, 9)
    with pytest.raises(Conflict):
        store.abandon_game(game.id)
    assert store.get_room(table.room.id).status == "finished"
    assert store.get_game(game.id) == game


# -- two writers on the same database -------------------------------------------------------


@pytest.mark.durable
def test_stale_cached_writer_gets_conflict(store_url):
    sc = script(12)
    alt = script(112)
    with liapstore.connect(store_url) as a, liapstore.connect(store_url) as b:
        table = start(a, **SHORT)          # a now holds the game at version 0
        gid = table.game.id
        b.record_action(gid, 1, sc.actions[0])
        with pytest.raises(Conflict):
            a.record_action(gid, 1, alt.actions[0])
        assert a.record_action(gid, 1, sc.actions[0]).version == 1
        assert [x.action_data for x in a.list_actions(gid)] == [sc.actions[0]]

        # Mid-game: a has the game cached one step behind b.
        k = step_of_kind(sc, "declare", after=1)
        record(a, gid, sc.steps[1:k])
        b.record_action(gid, k + 1, sc.actions[k])
        want = rules.expected(sc.steps[k][1])
        other = dict(sc.actions[k], piles=next(p for p in want.allowed if p != sc.actions[k]["piles"]))
        with pytest.raises(Conflict):
            a.record_action(gid, k + 1, other)
        # a catches up by retrying b's action, then carries on.
        assert a.record_action(gid, k + 1, sc.actions[k]).version == k + 1
        game = record(a, gid, sc.steps[k + 1:k + 5])
        # And now b is the stale one.
        with pytest.raises(Conflict):
            b.record_action(gid, k + 2, other_than(sc, k + 1))
        game = record(b, gid, sc.steps[k + 5:])
        assert game.version == len(sc.steps) and game.finished
        assert [x.action_data for x in b.list_actions(gid)] == sc.actions
        assert a.verify_game(gid) == []


def other_than(sc, index):
    """A legal action at ``sc.steps[index]`` that differs from the scripted one."""
    state = sc.steps[index][1]
    action = sc.actions[index]
    want = rules.expected(state)
    if want.kind == "deal":
        return {"type": "deal", "hands": list(reversed(action["hands"]))}
    if want.kind == "declare":
        return dict(action, piles=next(p for p in want.allowed if p != action["piles"]))
    if want.kind == "redeal":
        return dict(action, accept=not action["accept"])
    plays = bots.valid_plays(state.hands[want.seat], want.count)
    if want.count is not None:
        from itertools import combinations
        plays = sorted(set(combinations(state.hands[want.seat], want.count)))
    choice = next(list(p) for p in plays if sorted(p) != sorted(action["pieces"]))
    return dict(action, pieces=choice)


@pytest.mark.durable
def test_concurrent_writers_exactly_one_wins(store_url):
    sc = script(13)
    points = [0, step_of_kind(sc, "declare"), step_of_kind(sc, "play"),
              step_of_kind(sc, "play", after=step_of_kind(sc, "play") + 1)]
    with liapstore.connect(store_url) as a, liapstore.connect(store_url) as b:
        for trial, index in enumerate(points * 2):
            table = start(a, code=f"T{trial}", **SHORT)
            gid = table.game.id
            record(a, gid, sc.steps[:index])
            b.load_game(gid)
            mine, theirs = sc.actions[index], other_than(sc, index)
            barrier = threading.Barrier(2)
            outcome = {}

            def write(st, action, name):
                barrier.wait()
                try:
                    outcome[name] = st.record_action(gid, index + 1, action).version
                except Conflict:
                    outcome[name] = "conflict"
                except Exception as e:  # noqa: BLE001 - reported by the assertion below
                    outcome[name] = repr(e)

            # Alternate who starts first, so both the cached and the fresh
            # writer get to lose.
            pair = [(a, mine, "a"), (b, theirs, "b")][::1 if trial % 2 else -1]
            threads = [threading.Thread(target=write, args=args) for args in pair]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert sorted(map(str, outcome.values())) == sorted([str(index + 1), "conflict"]), (
                index, outcome)
            winner = mine if outcome["a"] == index + 1 else theirs
            actions = a.list_actions(gid)
            assert [x.sequence_number for x in actions] == list(range(1, index + 2))
            assert actions[-1].action_data == winner
            assert a.get_game(gid).version == b.get_game(gid).version == index + 1
            assert a.verify_game(gid) == []
            # Whoever lost can continue the game from the stored state.
            loser = b if outcome["b"] == "conflict" else a
            game = _continue(loser, loser.load_game(gid), 13)
            assert game.finished and loser.verify_game(gid) == []


@pytest.mark.durable
def test_the_same_action_from_two_writers_is_recorded_once(store_url):
    sc = script(14)
    with liapstore.connect(store_url) as a, liapstore.connect(store_url) as b:
        table = start(a, **SHORT)
        gid = table.game.id
        k = 5
        record(a, gid, sc.steps[:k])
        barrier = threading.Barrier(2)
        outcome = {}

        def write(st, name):
            barrier.wait()
            try:
                outcome[name] = st.record_action(gid, k + 1, sc.actions[k]).version
            except Exception as e:  # noqa: BLE001
                outcome[name] = repr(e)

        threads = [threading.Thread(target=write, args=(s, n)) for s, n in ((a, "a"), (b, "b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert outcome == {"a": k + 1, "b": k + 1}
        assert len(a.list_actions(gid)) == k + 1
        assert a.verify_game(gid) == []
