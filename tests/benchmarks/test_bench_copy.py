"""Copying a deployment from SQLite to PostgreSQL: ``liapstore.ops.copy``
against a plain psycopg COPY of the same rows, in the same run.

The source is a SQLite file of 10,000 finished games (about 1.7 million
rows; built once per session by copy_source.py, in a temporary directory).
Each side copies it into a fresh, migrated PostgreSQL database:

- raw: every table read with sqlite3 (``SELECT *``, values as SQLite holds
  them: text for UUIDs, times and JSON) and written with psycopg's
  ``cursor.copy()``, one COPY per table, triggers off
  (``session_replication_role = replica``), one transaction;
- liapstore: ``copy.copy(source, target)``, as ``liapstore copy`` runs it:
  rows read through the backend contract (Python values), batches of 5,000
  written by ``_load_rows`` (COPY), a transaction per batch, so that a killed
  copy resumes.

Rows per second of both go into ``extra_info`` and the figures. With
--benchmark-disable (``tox -e all``) the source has LIAPSTORE_COPY_BENCH_GAMES
games (default 100 there, 10,000 otherwise) and each side runs once, checked
by ``copy --check``'s comparison.
"""
import os
import sqlite3
import time

import psycopg
import pytest

import liapstore
from liapstore.ops import copy
from liapstore.ops.tables import TABLES, columns

from copy_source import build

pytestmark = pytest.mark.backends("postgres")

_RAW = {}  # rows/s of the raw side, for the liapstore side's ratio


@pytest.fixture(scope="session")
def copy_source(request, tmp_path_factory):
    """(URL, path, rows) of the SQLite source, built once per session."""
    default = 100 if request.config.getoption("benchmark_disable") else 10_000
    games = int(os.environ.get("LIAPSTORE_COPY_BENCH_GAMES", default))
    path = tmp_path_factory.mktemp("copy-bench") / f"source-{games}.db"
    url = build(path, games)
    with liapstore.connect(url) as store:
        rows = sum(copy.counts(store).values())
    return url, str(path), rows, games


def raw_copy(sqlite_path, pg_url):
    """Every table, read with sqlite3 and written with one COPY each."""
    with sqlite3.connect(sqlite_path) as source, psycopg.connect(pg_url) as target:
        target.execute("SET session_replication_role = replica")
        cursor = target.cursor()
        for table in TABLES:
            names = ", ".join(f'"{c}"' for c in columns(table))
            rows = source.execute(f'SELECT {names} FROM "{table}"')
            with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as out:
                for row in rows:
                    out.write_row(row)


def _check(source_url, target_url, request):
    """The target holds the source's rows: compared whole (checksums) when
    the run is small, by row counts when timing 10,000 games (a comparison
    reads 1.7 million rows on each side, minutes on this machine; the
    checksums are the tests' job, tests/ops)."""
    with liapstore.connect(source_url) as source, liapstore.connect(target_url) as target:
        if request.config.getoption("benchmark_disable"):
            assert copy.compare(source, target) == []
        else:
            assert copy.counts(source) == copy.counts(target)


def test_copy_raw_psycopg(benchmark, backend, copy_source, new_postgres_url, request):
    del backend
    url, path, rows, games = copy_source
    targets = []

    def setup():
        targets.append(new_postgres_url())
        return (path, targets[-1]), {}

    benchmark.group = "copy-sqlite-to-postgres"
    benchmark.extra_info.update({"games": games, "rows": rows})
    benchmark.pedantic(raw_copy, setup=setup, rounds=1, warmup_rounds=0)
    _check(url, targets[-1], request)
    if benchmark.stats is not None:
        _RAW["rows_per_s"] = rows / benchmark.stats.stats.mean
        benchmark.extra_info["rows_per_s"] = round(_RAW["rows_per_s"])


def test_copy_liapstore(benchmark, backend, copy_source, new_postgres_url, figures, request):
    del backend
    url, path, rows, games = copy_source
    targets = []

    def setup():
        targets.append(new_postgres_url())
        return (targets[-1],), {}

    def run(target_url):
        with liapstore.connect(url, migrate=False) as source, liapstore.connect(target_url) as target:
            copy.copy(source, target)

    benchmark.group = "copy-sqlite-to-postgres"
    benchmark.extra_info.update({"games": games, "rows": rows})
    benchmark.pedantic(run, setup=setup, rounds=1, warmup_rounds=0)
    _check(url, targets[-1], request)
    if benchmark.stats is None:
        return
    ours = rows / benchmark.stats.stats.mean
    raw = _RAW.get("rows_per_s")
    if raw is None:  # run on its own: time the raw side here
        target = new_postgres_url()
        started = time.perf_counter()
        raw_copy(path, target)
        raw = rows / (time.perf_counter() - started)
    benchmark.extra_info.update({"rows_per_s": round(ours), "raw_rows_per_s": round(raw),
                                 "ratio_throughput_liapstore_over_raw": round(ours / raw, 3)})
    figures(f"[bench copy sqlite->postgres, {games:,} games, {rows:,} rows] liapstore "
            f"{ours:,.0f} rows/s ({rows / ours:.1f} s), raw sqlite3+COPY {raw:,.0f} rows/s "
            f"({rows / raw:.1f} s): ratio {ours / raw:.2f}")
