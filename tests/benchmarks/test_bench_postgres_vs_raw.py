"""liapstore on PostgreSQL against the same rows written with raw psycopg.

The targets: recording costs at most 1.5x what raw psycopg pays to write the
*same* rows in the same transactions (one per action) on one connection, and
with 8 games recorded at once (8 threads; raw: 8 connections; liapstore: one
Store and its pool) liapstore keeps at least 0.7x raw's throughput.

How the baseline gets "the same rows": a scratch store records the game once
while its ``_write_step`` is wrapped to keep every ``Step`` (games.py, the row
changes of one action, computed before any I/O). Each Step becomes, ahead of
time, the statements a programmer would write by hand with psycopg, with
their parameters ready: the games UPDATE ... WHERE id = %s AND version = %s
AND ended_at IS NULL (which must hit one row), the action INSERT, the
changed game_players rows and, when a turn, round or game ends, the
turns/rounds/rooms/players rows. The timed raw loop runs those statements
and commit() per action on a connection outside autocommit (psycopg sends
BEGIN before the first one): about five round trips per action, where
liapstore needs two (tests/postgres/test_postgres_round_trips.py). So the
baseline is the bare cost of the rows; liapstore's side also checks each
action with the rules engine, derives the rows and encodes the values.

Games are started (untimed) by liapstore on both sides, so both start from
the same rows; every raw game is then checked by liapstore's own
``verify_game``, which replays its log against everything stored.

Groups "postgres-record-1" and "postgres-record-8". The ratios go into
``extra_info`` and are asserted only with --benchmark-only; with
--benchmark-disable each side runs once and is checked for correctness.
"""
import itertools
import json
import threading
import time
import uuid

import psycopg
import pytest

import liapstore
from liapstore.game import bots
from liapstore.updates import Add, AtLeast
from support.servers import create_database, drop_database

pytestmark = pytest.mark.backends("postgres")

SEED = 20240611
MAX_RATIO_ONE = 1.5          # liapstore time / raw time, one game on one connection
MIN_THROUGHPUT_EIGHT = 0.7   # liapstore throughput / raw throughput, 8 games at once
ROUNDS = {1: 5, 8: 3}
PLAYER_NAMES = ("pgraw-north", "pgraw-east", "pgraw-south", "pgraw-west")

_MEANS = {}   # raw side's mean per number of games, for the liapstore side's ratio
_codes = itertools.count(1)


# -- the raw statements of a Step -----------------------------------------------------

def _encode(value):
    # psycopg sends UUIDs, datetimes, ints and booleans as they are; JSON
    # columns get the text (PostgreSQL infers jsonb from the column).
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def _update(table, changes, keys, also=""):
    sets, params = [], []
    for column, value in changes.items():
        if isinstance(value, Add):
            sets.append(f'"{column}" = "{column}" + %s')
            params.append(value.n)
        elif isinstance(value, AtLeast):
            sets.append(f'"{column}" = GREATEST("{column}", %s)')
            params.append(value.n)
        else:
            sets.append(f'"{column}" = %s')
            params.append(_encode(value))
    where = " AND ".join(f'"{c}" = %s' for c in keys)
    return (f'UPDATE "{table}" SET {", ".join(sets)} WHERE {where}{also}',
            params + list(keys.values()))


def _insert(table, row):
    columns = ", ".join(f'"{c}"' for c in row)
    return (f'INSERT INTO "{table}" ({columns}) VALUES ({", ".join(["%s"] * len(row))})',
            [_encode(x) for x in row.values()])


def raw_statements(step):
    """The statements of one action; the first is the versioned games UPDATE."""
    out = [_update("games", step.game_changes, {"id": step.game_id,
                                                "version": step.expected_version},
                   also=' AND "ended_at" IS NULL'),
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
            for player_id, changes in sorted(step.player_stats, key=lambda c: c[0])]
    return out


def raw_record(conn, actions):
    """The timed raw loop: one transaction per action."""
    for statements in actions:
        (sql, params), rest = statements[0], statements[1:]
        if conn.execute(sql, params).rowcount != 1:
            raise AssertionError("stale version in the raw replay")
        for sql, params in rest:
            conn.execute(sql, params)
        conn.commit()


class Prepared:
    """The benchmarked game: its actions, Steps and raw statements."""

    def __init__(self, actions, steps, final_scores):
        self.actions, self.steps, self.final_scores = actions, steps, final_scores
        self.statements = [raw_statements(s) for s in steps]
        ids = {steps[0].game_id}
        for s in steps:
            if s.round_insert:
                ids.add(s.round_insert["id"])
            ids.update(row["id"] for row in s.turn_inserts)
        self.own_ids, self.game_id, self.room_id = ids, steps[0].game_id, None

    def statements_for(self, game):
        """The same statements for another game (untimed: setup)."""
        mapping = {old: uuid.uuid4() for old in self.own_ids}
        mapping[self.game_id] = game.id
        mapping[self.room_id] = game.room_id
        return [[(sql, [mapping.get(p, p) if isinstance(p, uuid.UUID) else p for p in params])
                 for sql, params in statements] for statements in self.statements]


@pytest.fixture(scope="module")
def pg_url(postgres_admin_url, postgres_template):
    name = f"liapstore_bench_{uuid.uuid4().hex[:12]}"
    yield create_database(postgres_admin_url, name, template=postgres_template)
    drop_database(postgres_admin_url, name)


@pytest.fixture(scope="module")
def prepared(pg_url):
    """Record the game once, keeping its Steps."""
    played = list(bots.play_game(SEED))
    actions = [action for _, _, action, _ in played]
    steps = []
    with liapstore.connect(pg_url) as store:
        players = [store.create_player(name).id for name in PLAYER_NAMES]
        room = store.create_room("PGRAW-0", "raw baseline")
        game = store.start_game(room.id, players)
        write_step = store._write_step

        def keep(step):
            steps.append(step)
            return write_step(step)

        store._write_step = keep
        for seq, action in enumerate(actions, 1):
            store.record_action(game.id, seq, action)
        assert store.verify_game(game.id) == []
    prep = Prepared(actions, steps, list(played[-1][3].state.scores))
    prep.room_id, prep.players = room.id, players
    return prep


def _new_games(store, prepared, n):
    games = []
    for _ in range(n):
        room = store.create_room(f"PGRAW-{next(_codes)}", "benchmark")
        games.append(store.start_game(room.id, prepared.players))
    return games


def _in_threads(target, args_list):
    if len(args_list) == 1:
        target(*args_list[0])
        return
    errors = []

    def run(*args):
        try:
            target(*args)
        except BaseException as e:  # reported below, in the main thread
            errors.append(e)

    workers = [threading.Thread(target=run, args=args) for args in args_list]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]


def _check_games(store, prepared, game_ids):
    for game_id in game_ids:
        game = store.get_game(game_id)
        assert game.version == len(prepared.actions) and game.current_phase == "GAME_OVER"
        assert game.final_scores["totals"] == prepared.final_scores
        assert store.verify_game(game_id) == []


# -- the two sides ----------------------------------------------------------------------

@pytest.mark.parametrize("n_games", [1, 8])
def test_postgres_record_raw(benchmark, backend, pg_url, prepared, n_games):
    del backend
    conns = [psycopg.connect(pg_url) for _ in range(n_games)]
    store = liapstore.connect(pg_url)
    recorded = []

    def setup():
        games = _new_games(store, prepared, n_games)
        recorded.extend(g.id for g in games)
        return ([(conn, prepared.statements_for(game)) for conn, game in zip(conns, games)],), {}

    benchmark.group = f"postgres-record-{n_games}"
    benchmark.extra_info["actions_per_game"] = len(prepared.actions)
    try:
        benchmark.pedantic(lambda work: _in_threads(raw_record, work), setup=setup,
                           rounds=ROUNDS[n_games], warmup_rounds=1)
        _check_games(store, prepared, recorded[-n_games:])
    finally:
        store.close()
        for conn in conns:
            conn.close()
    if benchmark.stats is not None:
        _MEANS[n_games] = benchmark.stats.stats.mean
        benchmark.extra_info["actions_per_s"] = round(
            n_games * len(prepared.actions) / _MEANS[n_games], 1)


@pytest.mark.parametrize("n_games", [1, 8])
def test_postgres_record_liapstore(benchmark, backend, pg_url, prepared, n_games, request,
                                   figures):
    del backend
    store = liapstore.connect(pg_url)
    recorded = []

    def setup():
        games = _new_games(store, prepared, n_games)
        recorded.extend(g.id for g in games)
        return ([(g.id,) for g in games],), {}

    def play(game_id):
        for seq, action in enumerate(prepared.actions, 1):
            store.record_action(game_id, seq, action)

    benchmark.group = f"postgres-record-{n_games}"
    benchmark.extra_info["actions_per_game"] = len(prepared.actions)
    try:
        benchmark.pedantic(lambda work: _in_threads(play, work), setup=setup,
                           rounds=ROUNDS[n_games], warmup_rounds=1)
        _check_games(store, prepared, recorded[-n_games:])
    finally:
        store.close()
    if benchmark.stats is None:
        return  # --benchmark-disable: checked once, not timed

    mean = benchmark.stats.stats.mean
    actions = n_games * len(prepared.actions)
    raw_mean, source = _MEANS.get(n_games), "test_postgres_record_raw"
    if raw_mean is None:  # run on its own: time the raw side here, the same way
        raw_mean, source = _time_raw_here(pg_url, prepared, n_games), "timed in this test"
    ours, theirs = actions / mean, actions / raw_mean
    benchmark.extra_info.update({
        "raw_source": source, "raw_mean_s": round(raw_mean, 6),
        "actions_per_s": round(ours, 1), "raw_actions_per_s": round(theirs, 1),
        "ratio_time_liapstore_over_raw": round(mean / raw_mean, 3),
        "ratio_throughput_liapstore_over_raw": round(ours / theirs, 3)})
    if n_games == 1:
        ratio = mean / raw_mean
        figures(f"[bench postgres-record 1 game, 1 connection] liapstore "
                f"{mean / actions * 1e6:.0f} us/action, raw psycopg {raw_mean / actions * 1e6:.0f} "
                f"us/action: ratio {ratio:.2f} (target <= {MAX_RATIO_ONE})")
        ok, target = ratio <= MAX_RATIO_ONE, f"at most {MAX_RATIO_ONE}x raw's time"
    else:
        ratio = ours / theirs
        figures(f"[bench postgres-record {n_games} games at once] liapstore {ours:.0f} "
                f"actions/s, raw psycopg {theirs:.0f} actions/s: throughput ratio {ratio:.2f} "
                f"(target >= {MIN_THROUGHPUT_EIGHT})")
        ok, target = ratio >= MIN_THROUGHPUT_EIGHT, f"at least {MIN_THROUGHPUT_EIGHT}x raw's throughput"
    if request.config.getoption("benchmark_only"):
        assert ok, f"{n_games} game(s): liapstore/raw = {ratio:.2f}; target {target}"


def _time_raw_here(pg_url, prepared, n_games):
    conns = [psycopg.connect(pg_url) for _ in range(n_games)]
    times = []
    try:
        with liapstore.connect(pg_url) as store:
            for _ in range(ROUNDS[n_games] + 1):
                work = [(conn, prepared.statements_for(game))
                        for conn, game in zip(conns, _new_games(store, prepared, n_games))]
                t0 = time.perf_counter()
                _in_threads(raw_record, work)
                times.append(time.perf_counter() - t0)
    finally:
        for conn in conns:
            conn.close()
    times = times[1:]  # the first one warms up
    return sum(times) / len(times)
