"""PostgreSQL upkeep: analytics partitions, the materialized leaderboard,
connection failures, and ordering independent of the database's collation."""
import threading
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from psycopg import sql

import liapstore
from liapstore import StorageUnavailable

pytestmark = pytest.mark.backends("postgres")

UTC = timezone.utc


def raw(url):
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SET TimeZone = 'UTC'")
    return conn


def _month(now, ahead):
    y, m = divmod(now.month - 1 + ahead, 12)
    return datetime(now.year + y, m + 1, 1, tzinfo=UTC)


def _partitions(conn):
    return {name for (name,) in conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'analytics_events'::regclass").fetchall()}


def test_events_land_in_their_month_or_the_default_partition(store, store_url):
    now = datetime.now(UTC)
    cases = {
        "this_month": (now, f"analytics_events_{now:%Y_%m}"),
        "in_5_months": (_month(now, 5) + timedelta(days=3), f"analytics_events_{_month(now, 5):%Y_%m}"),
        "two_years_ago": (now - timedelta(days=730), "analytics_events_default"),
        "three_years_ahead": (now + timedelta(days=3 * 365), "analytics_events_default"),
    }
    made = {k: store.record_event(k, timestamp=t) for k, (t, _) in cases.items()}
    with raw(store_url) as conn:
        where = dict(conn.execute("SELECT event_type, tableoid::regclass::text FROM analytics_events").fetchall())
    assert where == {k: part for k, (_, part) in cases.items()}
    assert {e.event_type: e for e in store.list_events()} == made


def test_maintain_creates_missing_partitions_and_moves_their_rows(store, store_url):
    now = datetime.now(UTC)
    gap = _month(now, 6)
    name = f"analytics_events_{gap:%Y_%m}"
    with raw(store_url) as conn:
        conn.execute(sql.SQL("ALTER TABLE analytics_events DETACH PARTITION {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
        before = _partitions(conn)
    assert name not in before
    event = store.record_event("in_the_gap", {"x": 1}, timestamp=gap + timedelta(days=10))
    with raw(store_url) as conn:
        assert conn.execute("SELECT tableoid::regclass::text FROM analytics_events").fetchall() == [
            ("analytics_events_default",)]

    done = store.maintain()
    assert done["partitions_created"] == 1
    with raw(store_url) as conn:
        assert _partitions(conn) == before | {name}
        assert conn.execute("SELECT tableoid::regclass::text FROM analytics_events").fetchall() == [
            (name,)]
    assert store.list_events().items == (event,)

    again = store.maintain()
    assert again["partitions_created"] == 0
    with raw(store_url) as conn:
        assert _partitions(conn) == before | {name}


def _make_ranked(conn, store, names_and_wins):
    ids = {}
    for name, wins in names_and_wins:
        p = store.create_player(name)
        conn.execute("UPDATE players SET games_played = 12, games_won = %s, highest_score = %s "
                     "WHERE id = %s", (wins, wins * 3, p.id))
        ids[name] = p.id
    return ids


def _view(url, rank="wins_rank"):
    """The reporting view's (username, rank), best first. Ranks served by
    store.leaderboard() never read it (tests/contract/test_contract_leaderboards.py)."""
    with raw(url) as conn:
        return conn.execute(f"SELECT username, {rank} FROM player_leaderboard "
                            f"ORDER BY {rank}, username").fetchall()


def test_leaderboard_is_materialized_and_refreshed_without_blocking_readers(store, store_url):
    with raw(store_url) as conn:
        _make_ranked(conn, store, [("ann", 5), ("ben", 9)])
    # Materialized: nothing until a refresh.
    assert _view(store_url) == []
    store.refresh_leaderboard()
    assert [u for u, _ in _view(store_url)] == ["ben", "ann"]

    with raw(store_url) as writer:
        _make_ranked(writer, store, [("cat", 7)])
    reader = psycopg.connect(store_url)        # not autocommit: holds its snapshot and lock
    try:
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        assert reader.execute("SELECT count(*) FROM player_leaderboard").fetchone()[0] == 2
        result = {}

        def refresh():
            try:
                store.refresh_leaderboard()
                result["ok"] = True
            except Exception as e:  # noqa: BLE001
                result["error"] = e

        t = threading.Thread(target=refresh)
        t.start()
        t.join(15)
        assert not t.is_alive(), "refresh_leaderboard blocked behind a reader"
        assert result == {"ok": True}, result
        # The reader keeps reading its snapshot meanwhile.
        assert reader.execute("SELECT count(*) FROM player_leaderboard").fetchone()[0] == 2
        reader.rollback()
    finally:
        reader.close()
    assert _view(store_url) == [("ben", 1), ("cat", 2), ("ann", 3)]
    assert [u for u, _ in _view(store_url, "score_rank")] == ["ben", "cat", "ann"]


def test_maintain_refreshes_the_leaderboard(store, store_url):
    with raw(store_url) as conn:
        _make_ranked(conn, store, [("dan", 2)])
    assert _view(store_url) == []
    assert store.maintain()["leaderboard_refreshed"]
    assert _view(store_url) == [("dan", 1)]


def test_missing_database_is_storage_unavailable(backend, postgres_admin_url):
    base = postgres_admin_url.rsplit("/", 1)[0]
    user_host = base.split("://", 1)[1]
    user, host = user_host.split("@", 1) if "@" in user_host else ("postgres", user_host)
    user = user.split(":", 1)[0]
    url = f"postgresql://{user}:pw-{uuid.uuid4().hex[:6]}@{host}/no_such_db_{uuid.uuid4().hex[:8]}"
    with pytest.raises(StorageUnavailable) as info:
        liapstore.connect(url)
    assert "pw-" not in str(info.value) and "***" in str(info.value)
    assert "no_such_db_" in str(info.value)


def test_player_order_does_not_depend_on_the_database_collation(backend, postgres_admin_url):
    """list_players pages by username; with a linguistic collation (ICU en-US)
    PostgreSQL would sort 'alice' before 'Bob', unlike SQLite and memory."""
    from support.servers import database_url, drop_database
    name = f"liapstore_icu_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 LOCALE_PROVIDER icu "
                              "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8' ENCODING 'UTF8'").format(
            sql.Identifier(name)))
    try:
        with liapstore.connect(database_url(postgres_admin_url, name)) as store:
            names = ["alice", "Bob", "_under", "-dash", "Zed", "carol", "0zero", "ALICE", "bob"]
            for n in names:
                store.create_player(n)
            assert [p.username for p in store.list_players()] == sorted(names)
            seen, cursor = [], None
            while True:
                page = store.list_players(limit=2, after=cursor)
                seen += [p.username for p in page]
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            assert seen == sorted(names)
    finally:
        drop_database(postgres_admin_url, name)
