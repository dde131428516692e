"""Crash recovery: SIGKILL the game server process, then SIGKILL the database.

test_sigkill_recovery
    A child process (tests/crash/worker.py) plays many games through the store
    and is SIGKILLed at random moments, many times (26 in the normal run, 231
    per backend in the `crash` tox environment), while it records, while it
    recovers and while it starts; each new child recovers every unfinished
    game from the database and plays it on. Afterwards: every action
    acknowledged before a kill is stored, unchanged; no action is
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
import os
import random
import select
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

# Small games (about 145 actions each) keep the final check of every game short.
WINNING_SCORE = 20
MAX_ROUNDS = 5
SEED_BASE = 7100
KILL_SEED = 20240611
# How many SIGKILLs per backend during recording and recovery: 24 in the
# normal run, at least 200 in the `crash` tox environment
# (LIAPSTORE_CRASH_KILLS there); start-up kills come on top.
KILLS = int(os.environ.get("LIAPSTORE_CRASH_KILLS", "24"))
# KILLS kills, a third aimed at recovery (a moment after the worker says
# "recovering"), the rest at recording (after "ready"); and a tenth more at
# start-up (timed from the launch: imports, connect, SQLite's own recovery of
# the log the last kill left). Which phase a kill really interrupted is read
# from the worker's output afterwards; the test goes on until each phase has
# its share, aiming each run at the phase furthest behind.
TARGETS = {"recording": KILLS - KILLS // 3, "recovery": KILLS // 3, "start-up": KILLS // 10}
MAX_RUNS = 3 * KILLS
# The workers of the kill phase never run out of games; the last worker then
# finishes only the games (and rooms) that exist.
GAME_SUPPLY = 100_000
# Games a worker interleaves: few enough that games end (and new ones start)
# while the kills go on, so kills also land on those bigger transactions.
PARALLEL = 3
READY_TIMEOUT = 60.0
FINAL_TIMEOUT = 600.0


def _worker_env():
    """The environment of a worker: it imports the liapstore this test imports
    (the source tree under test), not whichever one is installed."""
    root = str(Path(liapstore.__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


def _worker_argv(url, ack_path, run, games):
    return [sys.executable, str(WORKER), url, str(ack_path), "--games", str(games),
            "--run", str(run), "--winning-score", str(WINNING_SCORE),
            "--max-rounds", str(MAX_ROUNDS), "--seed-base", str(SEED_BASE),
            "--parallel", str(PARALLEL)]


class Lines:
    """The lines a child writes to a pipe, read without blocking past a timeout.

    Unbuffered (os.read), so that a line already read from the pipe is never
    left waiting in a buffer that select() cannot see.
    """

    def __init__(self, pipe):
        self.fd, self.buffer, self.seen = pipe.fileno(), b"", []

    def next(self, timeout):
        """The next line (stripped), or None at end of file or timeout."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            chunk = os.read(self.fd, 4096)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        self.seen.append(line.decode().strip())
        return self.seen[-1]

    def wait_for(self, wanted, timeout):
        while (line := self.next(timeout)) is not None:
            if line == wanted:
                return True
        return False

    def drain(self):
        """Every line the (dead) child left in the pipe."""
        while self.next(5.0) is not None:
            pass
        return self.seen


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
    with liapstore.connect(store_url) as store:
        for name in worker.PLAYER_NAMES:
            store.create_player(name)
    ack_path = tmp_path / "acks.txt"
    rng = random.Random(KILL_SEED)

    kills, kills_with_progress, self_exits, run = Counter(), 0, 0, 0
    while any(kills[phase] < n for phase, n in TARGETS.items()):
        assert run < MAX_RUNS, f"{run} runs gave only {dict(kills)} kills, wanted {TARGETS}"
        aim = max(TARGETS, key=lambda phase: (TARGETS[phase] - kills[phase]) / TARGETS[phase])
        acks_before = len(_read_acks(ack_path))
        with open(tmp_path / f"worker-{run}.err", "wb") as err:
            proc = subprocess.Popen(_worker_argv(store_url, ack_path, run, GAME_SUPPLY),
                                    stdout=subprocess.PIPE, stderr=err, env=_worker_env())
        try:
            lines = Lines(proc.stdout)
            if aim == "start-up":
                time.sleep(rng.uniform(0.02, 0.3))
            elif aim == "recovery":
                if lines.wait_for("recovering", READY_TIMEOUT):
                    time.sleep(rng.uniform(0.0, 0.08))
            elif lines.wait_for("ready", READY_TIMEOUT):
                time.sleep(rng.uniform(0.05, 0.6))
            proc.kill()  # SIGKILL, to our own child only
            proc.wait(30)
            seen = lines.drain()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        if proc.returncode == -signal.SIGKILL:
            phase = ("recording" if "ready" in seen else
                     "recovery" if "recovering" in seen else "start-up")
            kills[phase] += 1
            kills_with_progress += len(_read_acks(ack_path)) > acks_before
        elif proc.returncode == 0:
            self_exits += 1  # it finished every game before the kill came
        else:
            pytest.fail(f"worker run {run} failed with exit code {proc.returncode}:\n"
                        + (tmp_path / f"worker-{run}.err").read_text()[-4000:])
        run += 1
    kill_phase = time.monotonic() - started_at

    # A last worker recovers whatever is left and plays every game to its end.
    with liapstore.connect(store_url) as store:
        n_games = store.status()["rows"]["rooms"]
    final = subprocess.run(_worker_argv(store_url, ack_path, run, n_games), env=_worker_env(),
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

    # Games whose last action was acknowledged before the final worker started.
    ended_under_kills = sum(1 for g in games
                            if any(r < run for r in runs_per_ack[(str(g.id), g.version)]))
    elapsed = time.monotonic() - started_at
    figures(f"[crash {backend}] SIGKILLs={sum(kills.values())} (during recording "
            f"{kills['recording']}, of which {kills_with_progress} after new acknowledgements; "
            f"during recovery {kills['recovery']}; during start-up {kills['start-up']}) in "
            f"{run} runs, runs that finished before their kill={self_exits}; games={len(games)} "
            f"(ended during the kill phase {ended_under_kills}) "
            f"actions={total_actions} acknowledged={len(acked_keys)} "
            f"(+{len(acks) - len(acked_actions)} game starts) "
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
    assert kills_with_progress >= TARGETS["recording"] // 2, (
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
