"""Retention on PostgreSQL drops whole monthly partitions of analytics_events."""
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

pytestmark = pytest.mark.backends("postgres")

UTC = timezone.utc


def _partitions(url):
    with psycopg.connect(url, autocommit=True) as conn:
        return {name for (name,) in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'analytics_events'::regclass").fetchall()}


def test_retention_drops_old_partitions_and_old_default_rows(store, store_url):
    now = datetime.now(UTC)
    this_month = datetime(now.year, now.month, 1, tzinfo=UTC)
    old = (this_month - timedelta(days=200)).replace(day=1)
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute("SELECT liapstore_ensure_analytics_partitions(%s::date, 1)", [old.date()])
    old_part = f"analytics_events_{old:%Y_%m}"
    assert old_part in _partitions(store_url)
    store.record_event("old", timestamp=old + timedelta(days=2))
    store.record_event("in_default", timestamp=old - timedelta(days=400))
    kept = store.record_event("kept")
    last = (this_month - timedelta(days=1)).replace(day=1)
    before = _partitions(store_url)

    done = store.maintain(retain_months=1)["analytics_retention"]
    assert done["partitions_dropped"] >= 1 and done["events_deleted"] == 2
    after = _partitions(store_url)
    assert old_part not in after
    assert f"analytics_events_{last:%Y_%m}" in after and f"analytics_events_{now:%Y_%m}" in after
    assert "analytics_events_default" in after
    assert {p for p in before - after} == {p for p in before if p != "analytics_events_default"
                                           and p < f"analytics_events_{last:%Y_%m}"}
    assert list(store.list_events()) == [kept]
