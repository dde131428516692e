"""Copying a store, backing it up and restoring it (liapstore.ops), on any backend.

The other side of each copy is a memory store, so a third-party backend is
held to the same rules: every row arrives exactly (ids, times, JSON; the
checksums of both sides agree), no audit row is made up, unfinished games
carry on where the copy lands, ``_load_rows`` is atomic, and auto-increment ids
continue after the ones loaded.
"""
from datetime import datetime, timedelta, timezone

import pytest

import liapstore
from liapstore import Conflict
from liapstore.game import bots, rules
from liapstore.ops import copy, snapshot
from liapstore.ops.tables import TABLES
from liapstore.testing.support import innermost, update_own, MEDIUM, SHORT, record, script, start


def fill(store):
    """A little of everything: players with e-mail, settings and friends, a
    finished game (statistics, achievements, events), an unfinished one,
    sessions, a connection, events with awkward JSON, a season."""
    finished = start(store, code="DONE", **SHORT)
    record(store, finished.game.id, script(7).steps)
    a, b = finished.players[:2]
    update_own(store, a.id, email="a@mail.example",
                        settings={"volume": 0.1, "ü": ["x", None, True], "n": {"deep": 1e-7}})
    store.request_friend(a.id, b.id)
    store.accept_friend(b.id, a.id)
    store.create_session(a.id, ip_address="192.0.2.7", user_agent="test/1.0")
    store.open_connection(b.id, room_id=finished.room.id)
    store.record_event("custom", {"float": 2.5, "list": [1, "two"], "unicode": "東京"},
                       player_id=a.id, timestamp=datetime(2025, 1, 2, 3, 4, 5, 6, timezone.utc))
    now = datetime.now(timezone.utc)
    store.create_season("copy-season", now - timedelta(days=1), now + timedelta(days=30))
    unfinished = start(store, code="OPEN", **MEDIUM)
    steps = script(11, **MEDIUM).steps
    record(store, unfinished.game.id, steps[:len(steps) // 2])
    return unfinished.game.id


def test_a_copy_of_this_backend_holds_exactly_its_rows(store):
    # Copies and backups are synchronous operations on a Store: through the
    # test's wrappers (cache, async facade) they take the store behind them.
    store = innermost(store)
    fill(store)
    with liapstore.connect("memory://") as there:
        copy.copy(store, there, batch_size=7)
        assert copy.compare(store, there) == []
        assert copy.counts(there) == copy.counts(store)
        assert copy.counts(there)["audit_log"] == copy.counts(store)["audit_log"] > 0
        for g in there.list_games():
            assert there.verify_game(g.id) == []


def test_copy_into_this_backend_keeps_rows_audit_and_ids(store):
    # Copies and backups are synchronous operations on a Store: through the
    # test's wrappers (cache, async facade) they take the store behind them.
    store = innermost(store)
    source = liapstore.connect("memory://")
    game_id = fill(source)
    audit_before = copy.counts(source)["audit_log"]
    copied = copy.copy(source, store, batch_size=5)
    assert sum(copied.values()) == sum(copy.counts(source).values())
    assert copy.compare(source, store) == []
    # No audit row made up by the copy: the source's are all there is.
    assert copy.counts(store)["audit_log"] == audit_before
    assert [g.id for g in store.list_games()] == [g.id for g in source.list_games()]
    for g in store.list_games():
        assert store.verify_game(g.id) == []
    # Auto-increment ids continue after the copied ones; the audit works again.
    last_event = max(e.id for e in source.list_events(limit=1000))
    assert store.record_event("after").id > last_event
    player = store.create_player("after_copy")
    assert store.list_audit_log(table_name="players").items[-1].changed_data["id"] == str(player.id)
    # The unfinished game carries on here, from where the source left it.
    saved = store.load_game(game_id)
    game = saved.game
    state = saved.state
    while state.phase != "GAME_OVER":
        action = bots.next_action(state, "11", game.version + 1)
        game = store.record_action(game_id, game.version + 1, action)
        state = rules.apply(state, action).state
    assert store.verify_game(game_id) == []
    assert store.get_game(game_id).ended_at is not None


def test_copy_resumes_after_a_partial_copy_and_refuses_a_foreign_target(store):
    # Copies and backups are synchronous operations on a Store: through the
    # test's wrappers (cache, async facade) they take the store behind them.
    store = innermost(store)
    source = liapstore.connect("memory://")
    fill(source)
    # What an interrupted copy leaves: whole tables, then a prefix of one.
    counts = copy.counts(source)
    middle = TABLES.index("player_actions")
    for table in TABLES[:middle]:
        for rows in copy.batches(source, table):
            store._load_rows(table, rows)
    prefix = source._select("player_actions", [], ("id",), limit=counts["player_actions"] // 3)
    store._load_rows("player_actions", prefix)
    seen = []
    copied = copy.copy(source, store, batch_size=4, on_rows=seen.append)
    assert copied["player_actions"] == counts["player_actions"] - len(prefix)
    assert sum(seen) == sum(counts.values())
    assert copy.compare(source, store) == []
    # Again: nothing left to do.
    assert sum(copy.copy(source, store).values()) == 0
    with liapstore.connect("memory://") as other:
        other.create_player("someone_else")
        with pytest.raises(Conflict):
            copy.copy(source, other)


def test_load_is_atomic(store):
    # Copies and backups are synchronous operations on a Store: through the
    # test's wrappers (cache, async facade) they take the store behind them.
    store = innermost(store)
    source = liapstore.connect("memory://")
    fill(source)
    players = source._select("players", [], ("id",))
    store._load_rows("players", players[:1])
    with pytest.raises(Conflict):
        store._load_rows("players", players[1:] + players[:1])  # the last one is a duplicate
    assert store._count("players") == 1
    assert copy.counts(store)["audit_log"] == 0


def test_backup_and_restore_round_trip(store, tmp_path):
    # Copies and backups are synchronous operations on a Store: through the
    # test's wrappers (cache, async facade) they take the store behind them.
    store = innermost(store)
    fill(store)
    path = tmp_path / "snap.gz"
    manifest = snapshot.backup(store, str(path))
    assert manifest["rows"] == copy.counts(store)
    with liapstore.connect("memory://") as there:
        snapshot.restore(str(path), there)
        assert copy.compare(store, there) == []
    # And into this backend, from a snapshot of a memory store.
    source = liapstore.connect("memory://")
    fill(source)
    other = tmp_path / "other.gz"
    snapshot.backup(source, str(other))
    with pytest.raises(Conflict):
        snapshot.restore(str(other), store)
    snapshot.restore(str(other), store, force=True)
    assert copy.compare(source, store) == []
    for g in store.list_games():
        assert store.verify_game(g.id) == []
