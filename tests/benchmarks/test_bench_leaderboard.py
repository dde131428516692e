"""Leaderboards at up to 1,000,000 players: top 100, a player's rank and the
window around them, each under 10 ms on SQLite and PostgreSQL, while games
keep ending; beside the plain count they replace, at 10k, 100k and 1M players.

Setup (untimed): N players with varied all-time statistics, written straight
into ``players``, ``player_stats`` and the rank counts with generate_series
(PostgreSQL) or executemany (SQLite) and one GROUP BY for the counts, not
through the API; then ANALYZE. The bucket expressions of the GROUP BY are the
ones of liapstore/ranking.py, which the small run checks (the counts must
equal ``ranking.counts_of`` of the generated rows).

Timed, while a separate process (leaderboard_writer.py) records short bot
games among the generated players, each ending game updating four players'
statistics and the counts: ``leaderboard(limit=100)``, ``rank`` (wins and
win rate, the board with the most distinct values), ``leaderboard_around``
(win rate, radius 5), and the baseline, the plain ``count(*)`` of the
players ahead of one (what a rank costs without the count tables).

``tox -e benchmarks`` (--benchmark-only) runs 10k, 100k and 1M players and
asserts the median of the three liapstore operations under 10 ms at every
size. The normal run (--benchmark-disable) runs each once at 2,000 players
and checks the answers against ranks computed here from the generated rows.
"""
import itertools
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import liapstore
from liapstore import ranking
from benchmarks.leaderboard_writer import player_id
from support.servers import create_database, drop_database

LARGE = (10_000, 100_000, 1_000_000)
SMALL = (2_000,)
OPS = ("top100", "rank_wins", "rank_winrate", "around_winrate", "plain_count")
LIMIT_MS = 10.0
WRITER = Path(__file__).with_name("leaderboard_writer.py")

pytestmark = pytest.mark.backends("sqlite", "postgres")


def pytest_generate_tests(metafunc):
    if "players" in metafunc.fixturenames:
        large = metafunc.config.getoption("benchmark_only", False)
        metafunc.parametrize("players", LARGE if large else SMALL, ids=lambda n: f"{n}players")
    if "op" in metafunc.fixturenames:
        metafunc.parametrize("op", OPS)


def stats_of(i):
    """The generated all-time statistics of player i (the SQL below computes the same)."""
    played = (i * 7919 + 13) % 400 + 1
    won = ((i * 104729 + 7) % 1000) * played // 3000
    best = (i * 31337 + 11) % 120
    total = best * played // 4 - played * 5
    return played, won, total, best


_COUNTS_SQL = """
INSERT INTO leaderboard_values (period, board, bucket, value, players)
SELECT 'all', 'wins', games_won / 64, games_won, count(*) FROM player_stats
 WHERE period = 'all' AND games_played >= 10 GROUP BY games_won
UNION ALL
SELECT 'all', 'score', highest_score / 64, highest_score, count(*) FROM player_stats
 WHERE period = 'all' AND games_played >= 10 GROUP BY highest_score
UNION ALL
SELECT 'all', 'winrate', {winrate_bucket}, win_rate, count(*) FROM player_stats
 WHERE period = 'all' AND games_played >= 10 GROUP BY win_rate;
INSERT INTO leaderboard_buckets (period, board, bucket, players)
SELECT period, board, bucket, sum(players) FROM leaderboard_values GROUP BY period, board, bucket;
"""


def _load_sqlite(path, n):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    # The audit trigger would log a million INSERTs; the load is not an audited change.
    [(trigger,)] = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_players_insert'")
    conn.execute("BEGIN")
    conn.execute("DROP TRIGGER audit_players_insert")
    now = "2026-01-01 00:00:00.000000+00:00"
    conn.executemany(
        "INSERT INTO players (id, username, display_name, created_at, last_seen, is_active, "
        "games_played, games_won, total_score, highest_score, settings) "
        "VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, '{}')",
        ((str(player_id(i)), f"bp{i:07d}", f"Bench {i}", now, now, *stats_of(i))
         for i in range(1, n + 1)))
    conn.execute("INSERT INTO player_stats SELECT 'all', id, username, games_played, games_won, "
                 "total_score, highest_score, CAST(games_won AS REAL) / games_played FROM players")
    for statement in _COUNTS_SQL.format(
            winrate_bucket="CAST(win_rate * 1024 AS INTEGER)").split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(trigger)
    conn.execute("COMMIT")
    # A database at rest: the bulk load's WAL checkpointed into the file.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()


def _load_postgres(url, n):
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        # Triggers (audit, e-mail) off for this session's bulk load only.
        conn.execute("SET session_replication_role = replica")
        with conn.transaction():
            conn.execute("""
                INSERT INTO players (id, username, display_name, created_at, last_seen, is_active,
                                     games_played, games_won, total_score, highest_score, settings)
                SELECT ('b0000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid,
                       'bp' || lpad(i::text, 7, '0'), 'Bench ' || i, now(), now(), true,
                       played, won, best * played / 4 - played * 5, best, '{}'
                FROM (SELECT i, played, (((i * 104729 + 7) %% 1000) * played / 3000)::int AS won,
                             ((i * 31337 + 11) %% 120)::int AS best
                      FROM (SELECT i, ((i * 7919 + 13) %% 400 + 1)::int AS played
                            FROM generate_series(1::bigint, %s::bigint) i) a) b""", [n])
            conn.execute("INSERT INTO player_stats SELECT 'all', id, username, games_played, "
                         "games_won, total_score, highest_score, "
                         "games_won::float8 / games_played FROM players")
            for statement in _COUNTS_SQL.format(
                    winrate_bucket="floor(win_rate * 1024)::int").split(";"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute("ANALYZE")


_BUILT = {}


@pytest.fixture(scope="module")
def built():
    """Databases built in this module, by (backend, players): built once, dropped at the end."""
    yield _BUILT
    for (backend, _), (url, name, admin) in list(_BUILT.items()):
        if backend == "postgres":
            drop_database(admin, name)
        else:
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    _BUILT.clear()


@pytest.fixture
def board_url(backend, players, built, request, tmp_path_factory):
    key = (backend, players)
    if key not in built:
        t0 = time.perf_counter()
        if backend == "sqlite":
            path = tmp_path_factory.mktemp("boards") / f"board_{players}.db"
            url = f"sqlite:///{path}"
            liapstore.connect(url).close()
            _load_sqlite(str(path), players)
            built[key] = (url, None, None)
        else:
            admin = request.getfixturevalue("postgres_admin_url")
            template = request.getfixturevalue("postgres_template")
            name = f"liapstore_board_{uuid.uuid4().hex[:10]}"
            url = create_database(admin, name, template=template)
            _load_postgres(url, players)
            built[key] = (url, name, admin)
        request.getfixturevalue("figures")(
            f"[bench leaderboard] {backend}: {players:,} players generated in "
            f"{time.perf_counter() - t0:.1f} s")
    return built[key][0]


class Writer:
    """The process recording games meanwhile; ``stop()`` returns how many ended."""

    def __init__(self, url, players, seed):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(Path(liapstore.__file__).parent.parent), os.environ.get("PYTHONPATH", "")]))
        self.proc = subprocess.Popen([sys.executable, str(WRITER), url, str(players), str(seed)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env)

    def stop(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"the game writer died: {self.proc.stderr.read()[-2000:]}")
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=30)
        lines = out.split()
        return int(lines[-1]) if lines else 0


def _check_answers(store, n):
    """Ranks from the store equal RANK() computed here from the generated rows."""
    rows = [dict(zip(("games_played", "games_won", "total_score", "highest_score"), stats_of(i)),
                 player_id=player_id(i), username=f"bp{i:07d}", period="all")
            for i in range(1, n + 1)]
    for r in rows:
        r["win_rate"] = ranking.win_rate(r["games_won"], r["games_played"])
    ranked = [r for r in rows if r["games_played"] >= ranking.MIN_GAMES]
    values = {tuple(v[c] for c in ("period", "board", "bucket", "value")): v["players"]
              for v in store._select("leaderboard_values", [], ())}
    buckets = {tuple(v[c] for c in ("period", "board", "bucket")): v["players"]
               for v in store._select("leaderboard_buckets", [], ())}
    assert (values, buckets) == ranking.counts_of(rows)
    for by in ("wins", "winrate"):
        x = {r["player_id"]: ranking.value(by, r) for r in ranked}
        order = sorted(ranked, key=lambda r: ranking.order_key(by, r))
        rank = {r["player_id"]: 1 + sum(x[q["player_id"]] > x[r["player_id"]] for q in ranked)
                for r in ranked}
        top = list(store.leaderboard(by=by, limit=100))
        assert [(e.id, e.rank) for e in top] == [(r["player_id"], rank[r["player_id"]])
                                                 for r in order[:100]]
        for r in order[::97]:
            assert store.rank(r["player_id"], by=by).rank == rank[r["player_id"]]
            i = order.index(r)
            window = store.leaderboard_around(r["player_id"], by=by, radius=5)
            assert [(e.id, e.rank) for e in window] == [
                (q["player_id"], rank[q["player_id"]]) for q in order[max(0, i - 5):i + 6]]


def test_leaderboard_at_scale(benchmark, backend, players, op, board_url, request, figures):
    with liapstore.connect(board_url) as store:
        if op == "top100" and not request.config.getoption("benchmark_only", False):
            _check_answers(store, players)
        # Players spread over the board, ranked on both boards.
        targets = itertools.cycle([player_id(i) for i in range(7, players + 1, max(1, players // 97))
                                   if stats_of(i)[0] >= ranking.MIN_GAMES])
        plain = "SELECT count(*) FROM player_stats WHERE period = 'all' AND games_played >= 10 " \
                f"AND games_won > {store.db.param}"
        calls = {
            "top100": lambda: store.leaderboard(by="wins", limit=100),
            "rank_wins": lambda: store.rank(next(targets), by="wins"),
            "rank_winrate": lambda: store.rank(next(targets), by="winrate"),
            "around_winrate": lambda: store.leaderboard_around(next(targets), by="winrate", radius=5),
            "plain_count": lambda: store.db.execute_sql(plain, [stats_of(7)[1]]).fetchone()[0],
        }
        fn = calls[op]
        writer = Writer(board_url, players, seed=OPS.index(op) + 1)
        try:
            time.sleep(0.2 if benchmark.disabled else 2)   # the writer is under way
            benchmark.group = f"leaderboard-{backend}-{players}"
            benchmark.extra_info.update(players=players, backend=backend, op=op)
            # The plain count takes seconds at 1M on a loaded SQLite: fewer rounds.
            rounds = 1 if benchmark.disabled else 20 if op == "plain_count" else 200
            result = benchmark.pedantic(fn, rounds=rounds,
                                        warmup_rounds=0 if benchmark.disabled else 2)
        finally:
            ended = writer.stop()
        assert result is not None
        if op == "top100":
            assert len(result) == 100 and result[0].rank == 1
        if benchmark.stats is not None:
            s = benchmark.stats.stats
            benchmark.extra_info.update(games_ended_meanwhile=ended,
                                        mean_ms=round(s.mean * 1000, 3),
                                        median_ms=round(s.median * 1000, 3))
            figures(f"[bench leaderboard] {backend} {players:>9,} players {op:<15} "
                    f"median {s.median * 1000:7.2f} ms  mean {s.mean * 1000:7.2f} ms  "
                    f"({ended} games ended meanwhile)")
            if request.config.getoption("benchmark_only", False) and op != "plain_count":
                assert s.median * 1000 < LIMIT_MS, f"{op} at {players:,} players: {s.median * 1000:.1f} ms"
