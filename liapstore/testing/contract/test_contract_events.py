"""Analytics events and the audit trail."""
import json
import uuid
from datetime import datetime, timedelta, timezone

import liapstore
from liapstore import InvalidInput, NotFound
from liapstore.testing.support import expect, rows, start, update_own

UTC = timezone.utc


def test_record_event(store):
    p = store.create_player("alice")
    before = datetime.now(UTC)
    e = store.record_event("login", {"device": "phone", "n": [1, 2]}, player_id=p.id)
    assert isinstance(e, liapstore.AnalyticsEvent) and isinstance(e.id, int)
    assert (e.event_type, e.player_id, e.game_id, e.room_id, e.event_data) == (
        "login", p.id, None, None, {"device": "phone", "n": [1, 2]})
    assert before <= e.timestamp <= datetime.now(UTC)
    assert store.list_events().items == (e,)
    bare = store.record_event("ping")
    assert bare.event_data == {} and bare.id > e.id


def test_event_references(store):
    table = start(store)
    p = table.players[0]
    # start_game recorded the game's own "game_started" event.
    [started] = store.list_events(game_id=table.game.id).items
    e = store.record_event("joined", player_id=p.id, game_id=table.game.id,
                           room_id=table.room.id)
    assert (e.player_id, e.game_id, e.room_id) == (p.id, table.game.id, table.room.id)
    other = store.record_event("noise", player_id=table.players[1].id)
    assert store.list_events(game_id=table.game.id).items == (started, e)
    assert store.list_events(player_id=table.players[1].id).items == (other,)
    assert store.list_events(game_id=uuid.uuid4()).items == ()
    counts = rows(store)
    expect(NotFound, store.record_event, "x", player_id=uuid.uuid4())
    expect(NotFound, store.record_event, "x", game_id=uuid.uuid4())
    expect(NotFound, store.record_event, "x", room_id=uuid.uuid4())
    assert rows(store) == counts


def test_bad_events_write_nothing(store):
    counts = rows(store)
    for args, kwargs in [(("",), {}), (("x" * 51,), {}), ((5,), {}), (("ok", [1]), {}),
                         (("ok", "data"), {}), (("ok",), {"timestamp": datetime(2024, 1, 1)}),
                         (("ok",), {"timestamp": "2024-01-01T00:00:00Z"}),
                         (("ok",), {"player_id": "p1"}), (("ok", {"k": "a\x00"}), {}),
                         (("a\x00b",), {})]:
        expect(InvalidInput, store.record_event, *args, **kwargs)
    assert rows(store) == counts


def test_list_events_filters(store):
    alice, bob = store.create_player("alice"), store.create_player("bob")
    t0 = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
    made = []
    for i in range(12):
        made.append(store.record_event(
            "play" if i % 3 else "login", {"i": i},
            player_id=alice.id if i % 2 else bob.id, timestamp=t0 + timedelta(minutes=i)))
    ids = lambda page: [e.id for e in page]  # noqa: E731
    assert ids(store.list_events()) == ids(made)
    assert ids(store.list_events(event_type="login")) == ids(made[0::3])
    assert ids(store.list_events(player_id=alice.id)) == ids(made[1::2])
    assert ids(store.list_events(event_type="play", player_id=bob.id)) == ids(
        [e for i, e in enumerate(made) if i % 3 and not i % 2])
    # since is inclusive, until exclusive.
    assert ids(store.list_events(since=t0 + timedelta(minutes=3))) == ids(made[3:])
    assert ids(store.list_events(until=t0 + timedelta(minutes=3))) == ids(made[:3])
    assert ids(store.list_events(since=t0 + timedelta(minutes=2), until=t0 + timedelta(minutes=5))) == ids(
        made[2:5])
    # Another time zone names the same instants.
    est = timezone(timedelta(hours=-5))
    assert ids(store.list_events(since=(t0 + timedelta(minutes=10)).astimezone(est))) == ids(made[10:])
    assert store.list_events(event_type="nothing").items == ()
    for kwargs in ({"since": datetime(2031, 3, 1)}, {"until": "now"}, {"player_id": "alice"},
                   {"event_type": ""}, {"limit": 0}, {"game_id": 5}):
        expect(InvalidInput, store.list_events, **kwargs)


def test_list_events_pages_in_time_order(store):
    t0 = datetime(2031, 6, 1, tzinfo=UTC)
    # Inserted out of time order, with ties on the timestamp.
    offsets = [5, 1, 3, 1, 0, 4, 3, 2, 5, 0, 1]
    made = [store.record_event("tick", {"i": i}, timestamp=t0 + timedelta(seconds=s))
            for i, s in enumerate(offsets)]
    want = [e.id for e in sorted(made, key=lambda e: (e.timestamp, e.id))]
    got, cursor = [], None
    while True:
        page = store.list_events(limit=3, after=cursor)
        got.extend(e.id for e in page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert got == want
    filtered = store.list_events(since=t0 + timedelta(seconds=1), limit=2)
    rest = store.list_events(since=t0 + timedelta(seconds=1), limit=100, after=filtered.next_cursor)
    assert [e.id for e in filtered] + [e.id for e in rest] == [
        e.id for e in sorted(made, key=lambda e: (e.timestamp, e.id)) if e.timestamp >= t0 + timedelta(seconds=1)]


def test_events_far_from_now(store):
    now = datetime.now(UTC).replace(microsecond=123456)
    times = {
        "past": now - timedelta(days=2 * 365),
        "last_month": now - timedelta(days=31),
        "now": now,
        "next_month": now + timedelta(days=32),
        "future": now + timedelta(days=3 * 365),
        "far_future": datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    }
    made = {k: store.record_event(k, {"when": k}, timestamp=t) for k, t in times.items()}
    for k, e in made.items():
        assert e.timestamp == times[k]
    by_type = {e.event_type: e for e in store.list_events()}
    assert by_type == made
    assert [e.event_type for e in store.list_events()] == list(times)
    assert [e.event_type for e in store.list_events(until=now)] == ["past", "last_month"]
    assert [e.event_type for e in store.list_events(since=now + timedelta(days=1))] == [
        "next_month", "future", "far_future"]
    # Upkeep (which creates partitions where the backend has them) loses nothing.
    store.maintain()
    assert {e.event_type: e for e in store.list_events()} == made


def test_audit_trail_of_players(store):
    p = store.create_player("alice", "Alice", email="alice@private.example")
    update_own(store, p.id, display_name="Alice Cooper")
    update_own(store, p.id, email="alice2@private.example")
    update_own(store, p.id, email=None)
    entries = list(store.list_audit_log(table_name="players"))
    assert [e.operation for e in entries] == ["INSERT", "UPDATE", "UPDATE", "UPDATE"]
    assert all(isinstance(e, liapstore.AuditEntry) and e.table_name == "players" for e in entries)
    assert [e.id for e in entries] == sorted(e.id for e in entries)
    assert all(e.timestamp.utcoffset() == timedelta(0) for e in entries)
    assert entries[0].changed_data["username"] == "alice"
    assert entries[0].changed_data["display_name"] == "Alice"
    assert entries[1].changed_data["display_name"] == "Alice Cooper"
    for e in entries:
        assert e.changed_data["id"] == str(p.id), e.changed_data["id"]
        text = json.dumps(e.changed_data)
        assert "private.example" not in text and "email" not in e.changed_data
    assert store.list_audit_log(table_name="rooms").items == ()


def test_audit_log_pages(store):
    for i in range(7):
        store.create_player(f"user_{i}")
    every = list(store.list_audit_log(limit=1000))
    assert len(every) == 7
    got, cursor = [], None
    while True:
        page = store.list_audit_log(table_name="players", limit=3, after=cursor)
        got.extend(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert got == every
    assert [e.changed_data["username"] for e in got] == [f"user_{i}" for i in range(7)]
    expect(InvalidInput, store.list_audit_log, after="garbage!")
    expect(InvalidInput, store.list_audit_log, table_name="")


def test_rejected_writes_leave_no_audit_entry(store):
    store.create_player("alice", email="a@example.org")
    n = len(store.list_audit_log())
    expect(liapstore.Conflict, store.create_player, "alice")
    expect(liapstore.Conflict, store.create_player, "bob", email="a@example.org")
    expect(InvalidInput, store.create_player, "x")
    assert len(store.list_audit_log()) == n
