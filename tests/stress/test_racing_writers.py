"""Racing writers: many threads, and many processes, writing the same data at once.

16 threads share one Store, as the threads of a game server do (on SQLite and
PostgreSQL they alternate between two Stores, so that each Store's cache of
game states also goes stale under the other's writes); on SQLite and
PostgreSQL 8 processes each open their own. They all wait at a barrier and
then, at once:

- record the same game's next action, at every step of a whole game, half a
  dozen different legal actions between them: exactly one action is stored
  per version, the racers that sent it get the new version back (the one
  that wrote it, and the idempotent no-op for the others), every other racer
  gets Conflict; no gap, no duplicate, ``verify_game`` clean;
- start games (and import running ones) in rooms of their own: every call
  succeeds (SQLite must wait for its write lock, never answer
  ``database is locked``);
- record the last action of games of the same four players, seated in
  different orders: every game ends, nobody deadlocks (or sees a deadlock as
  StorageUnavailable), and each player's statistics count every game once;
- create players with clashing usernames and e-mails, and get-or-create one
  player: one winner per name, Conflict for the rest, one id for everyone;
- abandon a game while others record its next action: at most one abandon
  wins, and a game abandoned at version v never stores action v + 1;
- open a database never migrated (each racer its own Store): one of them
  migrates it, the others wait and find it up to date, and all write to it.

Any other outcome, a raw driver error or "database is locked" or a
StorageUnavailable, fails the test and is shown in its message.
"""
import itertools
import multiprocessing
import queue
import threading
import time
import uuid
from collections import Counter, defaultdict

import pytest

import liapstore
from liapstore import Conflict
from liapstore.game import bots
from liapstore.schema import migrations
from race_helpers import (BARRIER_TIMEOUT, OWN_STORE, canonical, failure, process_main,
                          run_racer)

THREADS = 16
PROCESSES = 8
# Every racer says "done" within this time, or the test fails (a hung lock).
RACE_TIMEOUT = 240.0
PRELOAD = ["race_helpers", "liapstore.backends.sqlite", "liapstore.backends.postgres", "psycopg"]
SHORT = {"winning_score": 1, "max_rounds": 1}


# -- running the racers --------------------------------------------------------------


def run_threads(stores, task, n, args_for):
    """Run ``n`` racer threads over ``stores`` (racer i uses stores[i % len]); their outcomes."""
    barrier = threading.Barrier(n, timeout=BARRIER_TIMEOUT)
    out = queue.Queue()
    threads = [threading.Thread(target=run_racer, daemon=True, args=(
        task, stores[me % len(stores)], me, barrier, out, args_for(me))) for me in range(n)]
    for t in threads:
        t.start()
    outcomes = _collect(out, n)
    for t in threads:
        t.join(RACE_TIMEOUT)
    return outcomes


def run_processes(url, task, n, args_for):
    """Run ``n`` racer processes, each with its own Store on ``url``; their outcomes."""
    # forkserver: each racer is forked from a clean server process that has
    # imported liapstore and its drivers once but opened nothing, so racers
    # start in milliseconds yet share no connection, thread or cache with
    # this process (a plain fork would copy the test's open connections).
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    barrier = ctx.Barrier(n, timeout=BARRIER_TIMEOUT)
    out = ctx.Queue()
    procs = [ctx.Process(target=process_main, args=(task, url, me, barrier, out, args_for(me)))
             for me in range(n)]
    for p in procs:
        p.start()
    try:
        outcomes = _collect(out, n)
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():  # our own child, hung: end it and fail below
                p.kill()
                p.join()
    codes = [p.exitcode for p in procs]
    assert codes == [0] * n, f"racer processes exited with {codes}"
    return outcomes


def _collect(out, n):
    """Every outcome the racers report, until all ``n`` said "done"; fails on a crashed racer."""
    outcomes, done, crashed = [], 0, []
    deadline = time.monotonic() + RACE_TIMEOUT
    while done < n:
        try:
            item = out.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"only {done} of {n} racers finished within {RACE_TIMEOUT:.0f} s")
        if item[0] == "done":
            done += 1
        elif item[0] == "crashed":
            crashed.append(item)
        else:
            outcomes.append(item)
    # The first racer to fail breaks the barrier for the others: show it first.
    crashed.sort(key=lambda c: "BrokenBarrierError" in c[2])
    assert not crashed, "a racer crashed:\n" + "\n".join(c[3] for c in crashed[:3])
    return outcomes


def race(mode, store, store_url, task, args_for):
    """Run the racers as threads or processes; return (outcomes, seconds)."""
    t0 = time.monotonic()
    if mode == "threads" and task in OWN_STORE:
        outcomes = run_threads([None], task, THREADS, args_for)
    elif mode == "threads":
        stores = [store]
        if store.durable:
            stores.append(liapstore.connect(store_url, migrate=False))
        try:
            outcomes = run_threads(stores, task, THREADS, args_for)
        finally:
            for other in stores[1:]:
                other.close()
    else:
        outcomes = run_processes(store_url, task, PROCESSES, args_for)
    return outcomes, time.monotonic() - t0


def racers(mode):
    return THREADS if mode == "threads" else PROCESSES


def in_threads_and_processes(scenario):
    """Two tests from one scenario: racing threads on every backend, racing
    processes on the SQL backends (memory has no database two processes
    could share)."""
    def threads(backend, store, store_url, figures):
        scenario(backend, "threads", store, store_url, figures)

    @pytest.mark.backends("sqlite", "postgres")
    def processes(backend, store, store_url, figures):
        scenario(backend, "processes", store, store_url, figures)

    for test, mode in ((threads, "threads"), (processes, "processes")):
        test.__name__ = f"test_{scenario.__name__}_{mode}"
        test.__doc__ = scenario.__doc__
    return threads, processes


def is_uuid(result):
    try:
        uuid.UUID(result)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


# -- the same game, every step -----------------------------------------------------------


def race_same_game(backend, mode, store, store_url, figures):
    """Every racer records the same game's next action, at every step of a
    whole game: one stored action per version, the no-op for the racers that
    sent it, Conflict for the rest; no gap, no duplicate, verify clean."""
    players = [store.create_player(f"same_{i}").id for i in range(4)]
    room = store.create_room("SAME", "same game")
    game_id = store.start_game(room.id, players, **SHORT).id

    outcomes, seconds = race(mode, store, store_url, "same_game", lambda me: (game_id,))

    game = store.get_game(game_id)
    log = store.list_actions(game_id)
    seqs = [a.sequence_number for a in log]
    assert game.finished, "the racers stopped before the game was over"
    assert seqs == list(range(1, game.version + 1)), "gap or duplicate in the sequence numbers"
    assert store.status()["rows"]["player_actions"] == len(log), "rows the log does not show"
    assert store.verify_game(game_id) == []

    by_step = defaultdict(list)
    for _, me, step, action, result in outcomes:
        by_step[step].append((me, action, result))
    assert sorted(by_step) == seqs, "a step was skipped or raced twice"
    problems, writes, noops, conflicts = [], 0, 0, 0
    for step, entries in sorted(by_step.items()):
        stored = canonical(log[step - 1].action_data)
        assert len(entries) == racers(mode)
        winners = {action for _, action, result in entries if result == step}
        if winners != {stored}:
            problems.append(f"step {step}: accepted actions {len(winners)}, stored one among them: "
                            f"{stored in winners}")
        for me, action, result in entries:
            want = step if action == stored else "conflict"
            if result != want:
                problems.append(f"step {step}, racer {me}: got {result!r}, expected {want!r}")
        accepted = sum(result == step for _, _, result in entries)
        writes += 1
        noops += accepted - 1
        conflicts += sum(result == "conflict" for _, _, result in entries)
    assert not problems, "\n".join(problems[:20])
    figures(f"[race same-game {backend} {mode}] {racers(mode)} racers x {len(by_step)} steps: "
            f"{len(outcomes)} calls, {writes} writes (one per version), {noops} idempotent "
            f"no-ops, {conflicts} Conflicts, 0 other errors, {seconds:.1f} s")


test_race_same_game_threads, test_race_same_game_processes = \
    in_threads_and_processes(race_same_game)


# -- starting games at once ---------------------------------------------------------------

GAMES_PER_RACER = 3


def race_start_games(backend, mode, store, store_url, figures):
    """Racers start (or import) games in rooms of their own at once: all succeed."""
    players = [store.create_player(f"start_{i}").id for i in range(4)]
    n = racers(mode)
    rooms = [[store.create_room(f"START-{me}-{k}", "start race").id
              for k in range(GAMES_PER_RACER)] for me in range(n)]
    # A running game to import: the state after its first declaration.
    steps = list(bots.play_game(5, **SHORT))
    imported = next(outcome.state for _, _, action, outcome in steps
                    if action["type"] == "declare").to_dict()

    outcomes, seconds = race(mode, store, store_url, "start_games",
                             lambda me: (rooms[me], players, imported))

    started = {room: result for _, _, room, result in outcomes}
    bad = [o for o in outcomes if not is_uuid(o[-1])]
    assert not bad, f"{len(bad)} of {len(outcomes)} starts failed, e.g. {bad[:5]}"
    assert len(started) == n * GAMES_PER_RACER
    for room_id, game_id in started.items():
        room = store.get_room(room_id)
        assert (room.status, str(room.current_game_id)) == ("playing", game_id)
        assert [s.player_id for s in store.get_seats(game_id)] == players
        assert store.verify_game(game_id) == []
    assert store.status()["rows"]["games"] == n * GAMES_PER_RACER
    figures(f"[race start-games {backend} {mode}] {n} racers x {GAMES_PER_RACER} rounds: "
            f"{len(outcomes)} start_game/import_game calls at once, all succeeded, {seconds:.1f} s")


test_race_start_games_threads, test_race_start_games_processes = \
    in_threads_and_processes(race_start_games)


# -- ending games of the same players at once ----------------------------------------------


def race_end_games(backend, mode, store, store_url, figures):
    """The last actions of games of the same four players, seated in different
    orders, are recorded at once: every game ends, no deadlock, statistics exact."""
    players = [store.create_player(f"end_{i}").id for i in range(4)]
    orders = list(itertools.permutations(players))
    n = racers(mode)
    games, expected = [], defaultdict(lambda: {"played": 0, "won": 0, "total": 0, "highest": 0})
    for j in range(n):
        # Each game seats the same four players in another order, so that
        # statistics updated in seat order would lock them in opposite orders.
        seats = list(orders[(j * 7) % len(orders)])
        room = store.create_room(f"END-{j}", "end race")
        game_id = store.start_game(room.id, seats, **SHORT).id
        steps = list(bots.play_game(300 + j, **SHORT))
        for step, _, action, _ in steps[:-1]:
            store.record_action(game_id, step, action)
        last_step, _, last_action, last = steps[-1]
        games.append((game_id, last_step, last_action))
        over = next(e for e in last.events if e["type"] == "game_over")
        for pos, (pid, total) in enumerate(zip(seats, over["totals"])):
            stats = expected[pid]
            stats["played"] += 1
            stats["won"] += int(pos == over["winner"])
            stats["total"] += total
            stats["highest"] = max(stats["highest"], total)

    outcomes, seconds = race(mode, store, store_url, "end_games", lambda me: games[me])

    bad = [o for o in outcomes if o[-1] is not True]
    assert not bad, f"{len(bad)} of {n} games failed to end, e.g. {bad[:5]}"
    for game_id, _, _ in games:
        assert store.get_game(game_id).finished
        assert store.verify_game(game_id) == []
    for pid in players:
        p = store.get_player(pid)
        got = {"played": p.games_played, "won": p.games_won, "total": p.total_score,
               "highest": p.highest_score}
        assert got == expected[pid], f"{p.username}: statistics {got}, expected {expected[pid]}"
    # Per period too, and the rank counts: nothing lost between the racing game ends.
    assert store.verify_stats() == []
    figures(f"[race end-games {backend} {mode}] {n} games of the same 4 players, seated in "
            f"{n} different orders, ended at once: all ended, statistics exact, {seconds:.1f} s")


test_race_end_games_threads, test_race_end_games_processes = \
    in_threads_and_processes(race_end_games)


# -- creating players at once -----------------------------------------------------------------


def race_create_players(backend, mode, store, store_url, figures):
    """Racers create players with clashing usernames and e-mails, and
    get-or-create one player: one winner per name, Conflict for the rest."""
    names = 4
    outcomes, seconds = race(mode, store, store_url, "create_players",
                             lambda me: (names, "racer"))

    errors = [o for o in outcomes if o[-1] != "conflict" and not is_uuid(o[-1])]
    assert not errors, f"unexpected errors: {errors[:5]}"
    by_key = defaultdict(list)
    for kind, _, key, result in outcomes:
        by_key[(kind, key)].append(result)
    for (kind, key), results in by_key.items():
        if kind == "get_or_create":
            assert len(set(results)) == 1 and "conflict" not in results, (key, results)
            assert results[0] == str(store.get_player_by_username(key).id)
        else:
            winners = [r for r in results if r != "conflict"]
            assert len(winners) == 1, f"{kind} {key}: {len(winners)} winners: {results}"
            if kind == "username":
                assert winners[0] == str(store.get_player_by_username(key).id)
    assert len([k for k in by_key if k[0] == "username"]) == names
    # One per username, the one e-mail winner, the shared player: nothing else.
    assert store.status()["rows"]["players"] == names + 2
    counts = Counter(o[-1] == "conflict" for o in outcomes)
    figures(f"[race create-players {backend} {mode}] {racers(mode)} racers: {len(outcomes)} calls, "
            f"{counts[False]} succeeded, {counts[True]} Conflicts (one winner per username and "
            f"e-mail), get_or_create_player: one id for all, {seconds:.1f} s")


test_race_create_players_threads, test_race_create_players_processes = \
    in_threads_and_processes(race_create_players)


# -- abandoning a game while others record it ------------------------------------------------

ABANDON_ROUNDS = 4


def race_abandon_or_record(backend, mode, store, store_url, figures):
    """Half the racers abandon a game while the other half record its next
    action: at most one abandon succeeds; a game abandoned at version v holds
    exactly v actions; a game nobody abandoned got the action."""
    players = [store.create_player(f"quit_{i}").id for i in range(4)]
    rounds = []
    for j in range(ABANDON_ROUNDS):
        room = store.create_room(f"QUIT-{j}", "abandon race")
        game_id = store.start_game(room.id, players, **SHORT).id
        steps = list(bots.play_game(400 + j, **SHORT))
        k = 5 + 3 * j
        for step, _, action, _ in steps[:k]:
            store.record_action(game_id, step, action)
        rounds.append((game_id, k + 1, steps[k][2]))

    outcomes, seconds = race(mode, store, store_url, "abandon_or_record", lambda me: (rounds,))

    unexpected_errors = [o for o in outcomes if o[-1] not in ("conflict", "abandoned")
                         and not isinstance(o[-1], int)]
    assert not unexpected_errors, f"unexpected errors: {unexpected_errors[:5]}"
    abandoned_at = Counter()
    for game_id, seq, action in rounds:
        mine = [o for o in outcomes if o[2] == str(game_id)]
        abandons = sum(o[-1] == "abandoned" for o in mine if o[0] == "abandon")
        recorded = [o[-1] for o in mine if o[0] == "record" and o[-1] != "conflict"]
        game = store.get_game(game_id)
        log = store.list_actions(game_id)
        assert [a.sequence_number for a in log] == list(range(1, game.version + 1))
        assert store.verify_game(game_id) == []
        assert set(recorded) <= {seq}, recorded
        assert abandons <= 1, f"game {game_id} abandoned {abandons} times"
        if abandons:
            assert game.finished and store.get_room(game.room_id).status == "abandoned"
            assert game.version in (seq - 1, seq)
            if game.version == seq - 1:
                assert not recorded, f"action {seq} acknowledged, then abandoned at {seq - 1}"
            abandoned_at["before" if game.version == seq - 1 else "after"] += 1
        else:
            assert not game.finished and game.version == seq and recorded
            abandoned_at["never"] += 1
        if game.version == seq:
            assert log[-1].action_data == action
    figures(f"[race abandon {backend} {mode}] {ABANDON_ROUNDS} games, {racers(mode)} racers each: "
            f"abandoned before the action {abandoned_at['before']}, after it "
            f"{abandoned_at['after']}, not at all {abandoned_at['never']}; consistent, "
            f"{seconds:.1f} s")


test_race_abandon_or_record_threads, test_race_abandon_or_record_processes = \
    in_threads_and_processes(race_abandon_or_record)


# -- the first connections to a new database, at once ------------------------------------


def race_first_connect(backend, mode, unmigrated_url, figures):
    latest = len(migrations.names())
    outcomes, seconds = race(mode, None, unmigrated_url, "first_connect", lambda me: (unmigrated_url,))
    bad = [o for o in outcomes if o[-1] != [latest, latest]]
    assert not bad, f"{len(bad)} of {len(outcomes)} first connections failed, e.g. {bad[:3]}"
    with liapstore.connect(unmigrated_url) as store:
        assert store.migrate() == []
        assert store.schema_version() == (latest, latest)
        assert store.status()["rows"]["players"] == len(outcomes)
    figures(f"[race first-connect {backend} {mode}] {len(outcomes)} racers opened "
            f"a database never migrated at once: migrated once, all wrote, {seconds:.1f} s")


@pytest.mark.backends("sqlite", "postgres")
def test_race_first_connect_threads(backend, unmigrated_url, figures):
    """16 threads, each with its own Store, open a database never migrated at once."""
    race_first_connect(backend, "threads", unmigrated_url, figures)


@pytest.mark.backends("sqlite", "postgres")
def test_race_first_connect_processes(backend, unmigrated_url, figures):
    """8 processes open a database never migrated at once."""
    race_first_connect(backend, "processes", unmigrated_url, figures)


# -- a deadlock is a Conflict, and undoes its whole transaction -----------------------------


@pytest.mark.backends("postgres")
def test_a_deadlock_is_a_conflict_that_rolls_back_its_transaction(backend, store):
    """Two transactions update the same two players in opposite orders:
    PostgreSQL aborts one (SQLSTATE 40P01). Its caller gets Conflict (retry),
    never StorageUnavailable, and none of its writes stay."""
    a, b = (store.create_player(f"lock_{i}").id for i in range(2))
    barrier = threading.Barrier(2, timeout=30)
    outcome = {}

    def worker(name, first, second):
        try:
            # Each change as its player: the identity changes inside the transaction.
            with store.transaction():
                with store.acting_as(first):
                    store.update_player(first, display_name=f"{name}-1")
                barrier.wait()
                with store.acting_as(second):
                    store.update_player(second, display_name=f"{name}-2")
            outcome[name] = "committed"
        except Conflict:
            outcome[name] = "conflict"
        except Exception as e:  # noqa: BLE001 - shown by the assertion
            outcome[name] = failure(e)

    threads = [threading.Thread(target=worker, args=args) for args in (("x", a, b), ("y", b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcome.values()) == ["committed", "conflict"], outcome
    winner = next(name for name, result in outcome.items() if result == "committed")
    names = {store.get_player(a).display_name, store.get_player(b).display_name}
    assert names == {f"{winner}-1", f"{winner}-2"}, f"the loser's writes stayed: {names}"
