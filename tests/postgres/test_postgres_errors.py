"""PostgreSQL: SQLSTATEs become liapstore errors (by code, never by message
text), raised for real by the server; partitions are never created by racing
connects."""
import multiprocessing
from datetime import datetime, timezone

import psycopg
import pytest
from psycopg import sql

import liapstore
from liapstore import Conflict, InvalidInput, NotFound, StorageUnavailable

pytestmark = pytest.mark.backends("postgres")


def _raise(store, sqlstate):
    # A real server error with exactly this SQLSTATE, raised inside a store
    # transaction so that it goes through the one translation boundary.
    with store.transaction():
        store.db.execute_sql(
            f"DO $$ BEGIN RAISE EXCEPTION 'raised for the test' USING ERRCODE = '{sqlstate}'; END $$")


@pytest.mark.parametrize("sqlstate, error", [
    ("40P01", Conflict),            # deadlock_detected: retry
    ("40001", Conflict),            # serialization_failure: retry
    ("55P03", Conflict),            # lock_not_available
    ("23505", Conflict),            # unique_violation
    ("23503", NotFound),            # foreign_key_violation outside a delete
    ("23514", InvalidInput),        # check_violation
    ("22003", InvalidInput),        # numeric_value_out_of_range
    ("53100", StorageUnavailable),  # disk_full
    ("57P01", StorageUnavailable),  # admin_shutdown
    ("XX000", StorageUnavailable),  # internal_error
])
def test_sqlstates_become_liapstore_errors(store, sqlstate, error):
    with pytest.raises(error) as e:
        _raise(store, sqlstate)
    assert "raised for the test" in str(e.value)
    assert type(e.value).__module__ == "liapstore.errors"
    # The same Store carries on.
    assert store.create_player(f"after_{sqlstate.lower()}").games_played == 0


def _connect(url, queue):
    try:
        liapstore.connect(url).close()
        queue.put(None)
    except Exception as e:  # noqa: BLE001 - sent to the parent
        queue.put(f"{type(e).__name__}: {e}")


def _maintain(url, queue):
    try:
        with liapstore.connect(url) as store:
            store.migrate()
            store.maintain()
        queue.put(None)
    except Exception as e:  # noqa: BLE001 - sent to the parent
        queue.put(f"{type(e).__name__}: {e}")


def _drop_newest_partition(url):
    with psycopg.connect(url, autocommit=True) as conn:
        name = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'analytics_events'::regclass AND c.relname <> "
            "'analytics_events_default' ORDER BY c.relname DESC LIMIT 1").fetchone()[0]
        conn.execute(sql.SQL("ALTER TABLE analytics_events DETACH PARTITION {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
    return name


def _exists(url, name):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]


@pytest.mark.parametrize("work", [_connect, _maintain], ids=["connect", "migrate+maintain"])
def test_processes_starting_at_once_never_race_on_partitions(store, store_url, work):
    name = _drop_newest_partition(store_url)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=work, args=(store_url, queue)) for _ in range(6)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    assert results == [None] * 6
    # connect() runs no DDL on an up-to-date schema; migrate and maintain
    # create the missing partition, once, under the migration lock.
    assert _exists(store_url, name) == (work is _maintain)
    store.record_event("still_fine", timestamp=datetime.now(timezone.utc))
