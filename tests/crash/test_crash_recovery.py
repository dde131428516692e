"""Crash recovery: SIGKILL the game server process, then SIGKILL the database.

test_sigkill_recovery
    A child process (tests/crash/worker.py) plays many games through the store
    and is SIGKILLed at random moments, many times; each new child recovers
    every unfinished game from the database and plays it on. Afterwards:
    every action acknowledged before a kill is stored, unchanged; no action is
    stored twice; each game's log is numbered 1..version without gaps and is
    exactly the log an uninterrupted in-memory game with the same seed
    produces; every game is over, passes ``verify_game`` and has that
    uninterrupted game's final scores.

    The bots are deterministic per (seed, step), so an action that was
    acknowledged, then lost, then recorded again by the next worker would be
    stored with the same content. Such a loss still shows: the same
    (game, sequence number) is then acknowledged twice, which a worker never
    does for an action that survived (it resumes after the stored version).

test_postgres_server_killed
    The PostgreSQL server itself is SIGKILLed under a Store (a throwaway
    cluster, never the shared server): calls fail with StorageUnavailable
    (password hidden) while it is down, and after its restart every
    acknowledged action is there and the same Store carries on.
"""
import importlib.util
import json
import random
import selectors
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

import liapstore
from liapstore.game import bots
from support.servers import PostgresServer, create_database

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"

_spec = importlib.util.spec_from_file_location("liapstore_crash_worker", WORKER)
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)

# Small games (about 145 actions each) keep one backend's run near a minute.
WINNING_SCORE = 20
MAX_ROUNDS = 5
SEED_BASE = 7100
KILL_SEED = 20240611
GAMES = {"sqlite": 120, "postgres": 60}
KILLS = 24
# One kill in EARLY_EVERY lands while the worker starts up and recovers
# (timed from its launch); the others land while it records (timed from its
# "ready" line).
EARLY_EVERY = 4
READY_TIMEOUT = 60.0
FINAL_TIMEOUT = 600.0


def _worker_argv(url, ack_path, run, games):
    return [sys.executable, str(WORKER), url, str(ack_path), "--games", str(games),
            "--run", str(run), "--winning-score", str(WINNING_SCORE),
            "--max-rounds", str(MAX_ROUNDS), "--seed-base", str(SEED_BASE)]


def _wait_for_line(proc, timeout):
    """The worker's next stdout line, or "" if it exited or the time ran out."""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            return ""
    return proc.stdout.readline()


def _read_acks(path):
    """Complete ack lines as (game_id, seq, digest, run); a torn last line is ignored."""
    if not path.exists():
        return []
    acks = []
    for line in path.read_text().splitlines(keepends=True):
        if not line.endswith("\n"):
            continue
        game_id, seq, digest, run = line.split()
        acks.append((game_id, int(seq), digest, int(run)))
    return acks


def _all_games(store):
    games, after = [], None
    while True:
        page = store.list_games(limit=1000, after=after)
        games.extend(page.items)
        after = page.next_cursor
        if after is None:
            return games


def _uninterrupted(seed):
    """(actions, final scores) of the game played in memory without a break."""
    steps = list(bots.play_game(seed, WINNING_SCORE, MAX_ROUNDS))
    return [action for _, _, action, _ in steps], list(steps[-1][3].state.scores)


@pytest.mark.crash
@pytest.mark.backends("sqlite", "postgres")
def test_sigkill_recovery(backend, store_url, tmp_path, figures):
    started_at = time.monotonic()
    n_games = GAMES[backend]
    with liapstore.connect(store_url) as store:
        for name in worker.PLAYER_NAMES:
            store.create_player(name)
    ack_path = tmp_path / "acks.txt"
    rng = random.Random(KILL_SEED)

    kills = early_kills = kills_with_progress = self_exits = 0
    for run in range(KILLS):
        with open(tmp_path / f"worker-{run}.err", "wb") as err:
            proc = subprocess.Popen(_worker_argv(store_url, ack_path, run, n_games),
                                    stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            acks_before = len(_read_acks(ack_path))
            early = run % EARLY_EVERY == EARLY_EVERY - 1
            if early:
                time.sleep(rng.uniform(0.05, 0.3))
            else:
                line = _wait_for_line(proc, READY_TIMEOUT)
                if line.strip() == "ready":
                    time.sleep(rng.uniform(0.05, 0.6))
            proc.kill()  # SIGKILL, to our own child only
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        if proc.returncode == -signal.SIGKILL:
            kills += 1
            early_kills += early
            kills_with_progress += len(_read_acks(ack_path)) > acks_before
        elif proc.returncode == 0:
            self_exits += 1  # it finished every game before the kill came
        else:
            pytest.fail(f"worker run {run} failed with exit code {proc.returncode}:\n"
                        + (tmp_path / f"worker-{run}.err").read_text()[-4000:])
    kill_phase = time.monotonic() - started_at

    # A last worker recovers whatever is left and plays every game to its end.
    final = subprocess.run(_worker_argv(store_url, ack_path, KILLS, n_games),
                           capture_output=True, text=True, timeout=FINAL_TIMEOUT)
    assert final.returncode == 0, f"final worker failed:\n{final.stderr[-4000:]}"
    summary = json.loads(final.stdout.strip().splitlines()[-1])

    # -- what the database holds --------------------------------------------
    acks = _read_acks(ack_path)
    with liapstore.connect(store_url) as store:
        games = _all_games(store)
        logs = {g.id: store.list_actions(g.id) for g in games}
        stored_rows = store.status()["rows"]["player_actions"]
        problems = []
        by_room = Counter(g.room_id for g in games)
        if len(games) != n_games:
            problems.append(f"{len(games)} games stored, {n_games} expected")
        problems += [f"room {r} holds {n} games" for r, n in by_room.items() if n != 1]

        duplicated = 0
        for game in games:
            log = logs[game.id]
            seqs = [a.sequence_number for a in log]
            duplicated += len(seqs) - len(set(seqs))
            if seqs != list(range(1, game.version + 1)):
                problems.append(f"game {game.id}: sequence numbers are not 1..{game.version}")
            if game.current_phase != "GAME_OVER" or not game.finished:
                problems.append(f"game {game.id} is not over: {game.current_phase}")
            verify = store.verify_game(game.id)
            if verify:
                problems.append(f"game {game.id} fails verify_game: {verify[:3]}")
            room = store.get_room(game.room_id)
            seed = room.game_settings["seed"]
            expected_actions, expected_scores = _uninterrupted(seed)
            if [a.action_data for a in log] != expected_actions:
                problems.append(f"game {game.id} (seed {seed}): the stored log differs from "
                                f"the uninterrupted game's")
            totals = (game.final_scores or {}).get("totals")
            seat_scores = [s.score for s in store.get_seats(game.id)]
            if totals != expected_scores or seat_scores != expected_scores:
                problems.append(f"game {game.id} (seed {seed}): final scores {totals} / seats "
                                f"{seat_scores}, uninterrupted replay gives {expected_scores}")
            if room.status != "finished":
                problems.append(f"room {room.room_code} is {room.status}, not finished")
        total_actions = sum(len(log) for log in logs.values())
        # The unique index forbids a second row per (game, sequence number);
        # the row count also catches rows the listings would not show.
        duplicated += stored_rows - total_actions

    # -- every acknowledgement holds ------------------------------------------
    stored = {str(g.id): {a.sequence_number: worker.action_sha(a.action_data) for a in logs[g.id]}
              for g in games}
    started = {str(g.id) for g in games}
    acked_actions = [a for a in acks if a[1] > 0]
    acked_keys = {(a[0], a[1]) for a in acked_actions}
    lost = [a for a in acked_actions if stored.get(a[0], {}).get(a[1]) != a[2]]
    lost += [a for a in acks if a[1] == 0 and a[0] not in started]
    times_acked = Counter((a[0], a[1]) for a in acks)
    # The same (game, seq) acknowledged twice: the first acknowledged write
    # was gone when a later worker recovered the game, so it recorded it again.
    reacked = {key: n for key, n in times_acked.items() if n > 1}
    runs_per_ack = defaultdict(set)
    for game_id, seq, _, run in acks:
        runs_per_ack[(game_id, seq)].add(run)

    elapsed = time.monotonic() - started_at
    figures(f"[crash {backend}] kills={kills} (during start-up/recovery {early_kills}, "
          f"after new acknowledgements {kills_with_progress}), runs that finished before their "
          f"kill={self_exits}; games={len(games)} actions={total_actions} "
          f"acknowledged={len(acked_keys)} (+{len(acks) - len(acked_actions)} game starts) "
          f"committed-but-unacknowledged={total_actions - len(acked_keys)} "
          f"lost={len(lost) + len(reacked)} duplicated={duplicated}; final worker recovered "
          f"{summary['recovered']} games, started {summary['started']}, recorded "
          f"{summary['recorded']} actions; kill phase {kill_phase:.1f} s, total {elapsed:.1f} s")

    assert not problems, "\n".join(problems[:20])
    assert not lost, f"{len(lost)} acknowledged writes lost or changed, e.g. {lost[:5]}"
    assert not reacked, ("acknowledged actions were recorded again after a kill (lost, then "
                         f"re-done): {[(k, sorted(runs_per_ack[k])) for k in list(reacked)[:5]]}")
    assert duplicated == 0
    # The test proves nothing unless the kills interrupted real work.
    assert kills_with_progress >= KILLS // 2, (
        f"only {kills_with_progress} kills interrupted recording; make the games longer")


# -- the database server dies ------------------------------------------------------

PASSWORD = "Kill-Test-Pw-4242"


@pytest.mark.crash
@pytest.mark.backends("postgres")
def test_postgres_server_killed(backend, figures):
    """SIGKILL a (throwaway) PostgreSQL server under a live Store, restart it."""
    del backend  # only selects the test when PostgreSQL is among the backends
    seed, cut = 4242, 40
    steps = list(bots.play_game(seed, WINNING_SCORE, MAX_ROUNDS))
    actions = [action for _, _, action, _ in steps]
    with PostgresServer.start() as server:
        # The cluster trusts every local connection, so a URL with a password
        # connects; the password must still never appear in an error.
        plain_url = create_database(server.url, "liap_outage")
        url = plain_url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")
        assert PASSWORD in url
        store = liapstore.connect(url)
        try:
            players = [store.create_player(f"outage-{i}").id for i in range(4)]
            room = store.create_room("OUTAGE", "outage", game_settings={"seed": seed})
            game = store.start_game(room.id, players, winning_score=WINNING_SCORE,
                                    max_rounds=MAX_ROUNDS)
            acked = 0
            for seq, action in enumerate(actions[:cut], 1):
                assert store.record_action(game.id, seq, action).version == seq
                acked = seq

            server.kill()
            t0 = time.monotonic()
            with pytest.raises(liapstore.StorageUnavailable) as down:
                store.record_action(game.id, acked + 1, actions[acked])
            outage_error = time.monotonic() - t0
            for message in (str(down.value), repr(down.value)):
                assert PASSWORD not in message
            assert "***" in str(down.value)
            with pytest.raises(liapstore.StorageUnavailable) as still_down:
                store.get_game(game.id)
            assert PASSWORD not in str(still_down.value)

            server.restart()
            # What was acknowledged survived the crash (seen by a new Store).
            with liapstore.connect(url) as fresh:
                log = fresh.list_actions(game.id)
                assert [a.sequence_number for a in log] == list(range(1, acked + 1))
                assert [a.action_data for a in log] == actions[:acked]
                assert fresh.get_game(game.id).version == acked

            # The same Store must carry on: its pool has to drop the dead
            # connections instead of handing them out again.
            try:
                store.record_action(game.id, acked + 1, actions[acked])
            except liapstore.StorageUnavailable as e:
                pytest.fail("library bug: the Store does not recover after the PostgreSQL server "
                            f"restarted; every call still fails with: {e}")
            for seq in range(acked + 2, len(actions) + 1):
                store.record_action(game.id, seq, actions[seq - 1])
            final = store.get_game(game.id)
            assert final.current_phase == "GAME_OVER"
            assert store.verify_game(game.id) == []
            assert final.final_scores["totals"] == list(steps[-1][3].state.scores)
            assert [a.action_data for a in store.list_actions(game.id)] == actions
            figures(f"[crash postgres-server] recorded {acked} actions, killed the server: "
                  f"StorageUnavailable after {outage_error * 1000:.0f} ms; restarted, all "
                  f"{acked} acknowledged actions present, game finished at "
                  f"{len(actions)} actions")
        finally:
            store.close()
