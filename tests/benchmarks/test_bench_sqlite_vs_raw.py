"""liapstore on SQLite against the same rows written with the raw sqlite3 module.

The target: recording a game through liapstore costs no more than 2x what
the *same* row changes cost through ``sqlite3`` directly, in the same
transactions (one per action), on the same schema with the same pragmas
(WAL, synchronous FULL, foreign keys on).

How the baseline gets "the same rows": a scratch store records the game once
while its ``_write_step`` is wrapped to keep every ``Step`` (games.py, the row
changes of one action, computed before any I/O). Each Step is then turned,
ahead of time, into hand-written SQL with its parameters already encoded
(UUIDs as hex, times as fixed-width UTC text, JSON as the same compact,
sorted text): the games UPDATE ... WHERE id = ? AND version = ?, the action
INSERT, the changed game_players rows and, when a turn, round or game ends,
the turns/rounds/rooms/players rows. The timed raw loop only runs
BEGIN, those statements, COMMIT per action. So the baseline is the bare cost
of the rows; liapstore's side also pays for checking each action with the
rules engine, deriving the rows and encoding the values.

Before anything is timed, the raw replay is checked: replayed into a copy of
the scratch database as it was before the game, it must leave every table
exactly as liapstore left it.

Both sides run in benchmark group "sqlite-record", each round into a fresh
game (started untimed). The ratio liapstore mean / raw mean goes into
``extra_info`` and is asserted (<= 2) only with --benchmark-only; with
--benchmark-disable each side runs once and is checked for correctness.
"""
import itertools
import json
import shutil
import sqlite3
import time
import uuid
from datetime import datetime, timezone

import pytest

import liapstore
from liapstore.game import bots
from liapstore.updates import Add, AtLeast

SEED = 20240611
ROUNDS = 7
TARGET_RATIO = 2.0
PRAGMAS = ("PRAGMA journal_mode = wal", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON",
           "PRAGMA busy_timeout = 5000")
PLAYER_NAMES = ("raw-north", "raw-east", "raw-south", "raw-west")
# Tables whose rows a recorded game writes; compared row for row.
TABLES = ("players", "rooms", "games", "game_players", "rounds", "turns", "player_actions",
          "audit_log")

# The raw side's mean, kept for the liapstore side's ratio.
_MEANS = {}


# -- encoding values as liapstore's fields do, by hand --------------------------------

def _encode(value):
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    if isinstance(value, bool):
        return int(value)
    return value


def _update(table, changes, keys):
    """UPDATE table SET ... WHERE key = ? AND ...: (sql, params)."""
    sets, params = [], []
    for column, value in changes.items():
        if isinstance(value, Add):
            sets.append(f'"{column}" = "{column}" + ?')
            params.append(value.n)
        elif isinstance(value, AtLeast):
            sets.append(f'"{column}" = MAX("{column}", ?)')
            params.append(value.n)
        else:
            sets.append(f'"{column}" = ?')
            params.append(_encode(value))
    where = " AND ".join(f'"{c}" = ?' for c in keys)
    return (f'UPDATE "{table}" SET {", ".join(sets)} WHERE {where}',
            params + [_encode(x) for x in keys.values()])


def _insert(table, row):
    columns = ", ".join(f'"{c}"' for c in row)
    marks = ", ".join("?" * len(row))
    return f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', [_encode(x) for x in row.values()]


def raw_statements(step):
    """The statements of one action, in liapstore's order; the first is the
    versioned games UPDATE, which must hit exactly one row."""
    out = [_update("games", step.game_changes, {"id": step.game_id,
                                                "version": step.expected_version}),
           _insert("player_actions", step.action_row)]
    out += [_update("game_players", changes, {"game_id": step.game_id, "player_id": player_id})
            for player_id, changes in step.seat_changes]
    if step.round_insert:
        out.append(_insert("rounds", step.round_insert))
    if step.round_update:
        out.append(_update("rounds", step.round_update[1], {"id": step.round_update[0]}))
    out += [_insert("turns", row) for row in step.turn_inserts]
    if step.room_changes:
        out.append(_update("rooms", step.room_changes[1], {"id": step.room_changes[0]}))
    out += [_update("players", changes, {"id": player_id})
            for player_id, changes in step.player_stats]
    return [(sql, tuple(params)) for sql, params in out]


def raw_connect(path):
    conn = sqlite3.connect(path, isolation_level=None)  # we say BEGIN/COMMIT ourselves
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn


def raw_record(conn, actions):
    """The timed raw loop: one transaction per action."""
    for statements in actions:
        conn.execute("BEGIN")
        (sql, params), rest = statements[0], statements[1:]
        if conn.execute(sql, params).rowcount != 1:
            raise AssertionError("stale version in the raw replay")
        for sql, params in rest:
            conn.execute(sql, params)
        conn.execute("COMMIT")


def raw_new_game(conn, prepared):
    """Start a game as start_game does (a games row, four seats), untimed: a
    copy of the prepared game's rows, which the base database holds as they
    were before its first action."""
    game_id = uuid.uuid4()
    conn.execute("BEGIN")
    conn.execute("INSERT INTO games (id, room_id, started_at, ended_at, winning_score, max_rounds, "
                 "initial_multiplier, current_round, current_phase, phase_data, winner_id, "
                 "final_scores, version) "
                 "SELECT ?, room_id, started_at, ended_at, winning_score, max_rounds, "
                 "initial_multiplier, current_round, current_phase, phase_data, winner_id, "
                 "final_scores, version FROM games WHERE id = ? AND version = 0",
                 (str(game_id), str(prepared.game_id)))
    conn.execute("INSERT INTO game_players (game_id, player_id, position, score, is_active, "
                 "is_bot, pieces_in_hand, declared_piles, captured_piles) "
                 "SELECT ?, player_id, position, score, is_active, is_bot, pieces_in_hand, "
                 "declared_piles, captured_piles FROM game_players WHERE game_id = ?",
                 (str(game_id), str(prepared.game_id)))
    conn.execute("COMMIT")
    return game_id


def _dump(path):
    conn = sqlite3.connect(path)
    try:
        out = {}
        for table in TABLES:
            cursor = conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, r)) for r in cursor.fetchall()]
            if table == "audit_log":  # stamped by a trigger with the wall clock
                for row in rows:
                    row.pop("timestamp")
            out[table] = rows
        return out
    finally:
        conn.close()


# -- the game, its Steps, and a database to start from ---------------------------------

class Prepared:
    def __init__(self, base_path, players, room_id, game_id, actions, steps, final_scores):
        self.base_path, self.players, self.room_id = base_path, players, room_id
        self.game_id, self.actions, self.steps = game_id, actions, steps
        self.final_scores = final_scores
        self.statements = [raw_statements(s) for s in self.steps]
        # Every id the game's own rows carry (game, rounds, turns), as stored.
        ids = {game_id}
        for s in steps:
            if s.round_insert:
                ids.add(s.round_insert["id"])
            ids.update(row["id"] for row in s.turn_inserts)
        self.own_ids = {str(i) for i in ids}

    def statements_for(self, new_game_id):
        """The same statements for a game with another id (untimed: setup)."""
        mapping = {old: (str(new_game_id) if old == str(self.game_id) else str(uuid.uuid4()))
                   for old in self.own_ids}
        return [[(sql, tuple(mapping.get(p, p) if isinstance(p, str) else p for p in params))
                 for sql, params in statements] for statements in self.statements]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Record the game once on a scratch store, keeping its Steps; keep a copy
    of the database as it was just before the game's first action."""
    root = tmp_path_factory.mktemp("sqlite-vs-raw")
    scratch = root / "scratch.db"
    steps_of_game = list(bots.play_game(SEED))
    actions = [action for _, _, action, _ in steps_of_game]
    final_scores = list(steps_of_game[-1][3].state.scores)

    with liapstore.connect(f"sqlite:///{scratch}") as store:
        players = [store.create_player(name).id for name in PLAYER_NAMES]
        room = store.create_room("RAW-0", "raw baseline")
        game = store.start_game(room.id, players)
    base = root / "base.db"  # closed: the WAL is checkpointed into the file
    shutil.copyfile(scratch, base)

    steps = []
    with liapstore.connect(f"sqlite:///{scratch}") as store:
        write_step = store._write_step

        def keep(step):
            steps.append(step)
            return write_step(step)

        store._write_step = keep
        for seq, action in enumerate(actions, 1):
            store.record_action(game.id, seq, action)
        assert store.verify_game(game.id) == []
    assert len(steps) == len(actions)
    prep = Prepared(base, players, room.id, game.id, actions, steps, final_scores)

    # The raw replay of those Steps must write exactly what liapstore wrote.
    check = root / "raw-check.db"
    shutil.copyfile(base, check)
    conn = raw_connect(check)
    try:
        raw_record(conn, prep.statements)
    finally:
        conn.close()
    theirs, ours = _dump(scratch), _dump(check)
    for table in TABLES:
        assert ours[table] == theirs[table], f"raw replay differs from liapstore in {table}"
    return prep


# -- the two sides ----------------------------------------------------------------------

def _ratio_report(benchmark, liapstore_mean, raw_mean, n_actions, source, figures):
    ratio = liapstore_mean / raw_mean
    benchmark.extra_info.update({
        "ratio_liapstore_over_raw": round(ratio, 3), "raw_mean_s": round(raw_mean, 6),
        "raw_source": source, "target_ratio": TARGET_RATIO,
        "liapstore_us_per_action": round(liapstore_mean / n_actions * 1e6, 1),
        "raw_us_per_action": round(raw_mean / n_actions * 1e6, 1)})
    figures(f"[bench sqlite-record] liapstore {liapstore_mean / n_actions * 1e6:.0f} us/action, "
          f"raw sqlite3 {raw_mean / n_actions * 1e6:.0f} us/action: ratio {ratio:.2f} "
          f"(target <= {TARGET_RATIO})")
    return ratio


def test_sqlite_record_raw(benchmark, prepared, tmp_path):
    path = tmp_path / "raw.db"
    shutil.copyfile(prepared.base_path, path)
    conn = raw_connect(path)
    games = []

    def new_game():
        game_id = raw_new_game(conn, prepared)
        games.append(game_id)
        return (conn, prepared.statements_for(game_id)), {}

    benchmark.group = "sqlite-record"
    benchmark.extra_info["actions_per_game"] = len(prepared.actions)
    try:
        benchmark.pedantic(raw_record, setup=new_game, rounds=ROUNDS, warmup_rounds=1)
        row = conn.execute("SELECT version, current_phase, final_scores FROM games WHERE id = ?",
                           (str(games[-1]),)).fetchone()
        count = conn.execute("SELECT count(*) FROM player_actions WHERE game_id = ?",
                             (str(games[-1]),)).fetchone()[0]
    finally:
        conn.close()
    assert row[:2] == (len(prepared.actions), "GAME_OVER")
    assert json.loads(row[2])["totals"] == prepared.final_scores
    assert count == len(prepared.actions)
    if benchmark.stats is not None:
        _MEANS["raw"] = benchmark.stats.stats.mean
        benchmark.extra_info["actions_per_s"] = round(len(prepared.actions) / _MEANS["raw"], 1)


def test_sqlite_record_liapstore(benchmark, prepared, tmp_path, request, figures):
    path = tmp_path / "liapstore.db"
    shutil.copyfile(prepared.base_path, path)
    codes = itertools.count(1)
    games = []
    store = liapstore.connect(f"sqlite:///{path}")

    def new_game():
        room = store.create_room(f"RAW-{next(codes)}", "liapstore side")
        game = store.start_game(room.id, prepared.players)
        games.append(game.id)
        return (game.id,), {}

    def record(game_id):
        for seq, action in enumerate(prepared.actions, 1):
            store.record_action(game_id, seq, action)

    benchmark.group = "sqlite-record"
    benchmark.extra_info["actions_per_game"] = len(prepared.actions)
    try:
        benchmark.pedantic(record, setup=new_game, rounds=ROUNDS, warmup_rounds=1)
        game = store.get_game(games[-1])
        assert game.version == len(prepared.actions) and game.current_phase == "GAME_OVER"
        assert game.final_scores["totals"] == prepared.final_scores
        assert store.verify_game(game.id) == []
    finally:
        store.close()

    if benchmark.stats is None:
        return  # --benchmark-disable: checked once, not timed
    mean = benchmark.stats.stats.mean
    benchmark.extra_info["actions_per_s"] = round(len(prepared.actions) / mean, 1)
    raw_mean, source = _MEANS.get("raw"), "test_sqlite_record_raw"
    if raw_mean is None:  # run on its own: time the raw side here, the same way
        raw_mean, source = _time_raw_here(prepared, tmp_path), "timed in this test"
    ratio = _ratio_report(benchmark, mean, raw_mean, len(prepared.actions), source, figures)
    if request.config.getoption("benchmark_only"):
        assert ratio <= TARGET_RATIO, (
            f"liapstore records a game {ratio:.2f}x slower than raw sqlite3 writing the same "
            f"rows (target <= {TARGET_RATIO}x)")


def _time_raw_here(prepared, tmp_path):
    path = tmp_path / "raw-here.db"
    shutil.copyfile(prepared.base_path, path)
    conn = raw_connect(path)
    times = []
    try:
        for _ in range(ROUNDS + 1):
            game_id = raw_new_game(conn, prepared)
            statements = prepared.statements_for(game_id)
            t0 = time.perf_counter()
            raw_record(conn, statements)
            times.append(time.perf_counter() - t0)
    finally:
        conn.close()
    times = times[1:]  # the first one warms up
    return sum(times) / len(times)
