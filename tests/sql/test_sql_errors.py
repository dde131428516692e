"""Driver errors on both SQL backends: every one becomes a liapstore error,
chosen by SQLSTATE or SQLite's extended result code, with the database's own
message kept; a missing or older schema names both versions; and the same
Store keeps working afterwards."""
import multiprocessing
import threading
import uuid

import pytest
from playhouse.migrations import Runner

import liapstore
from liapstore import Conflict, InvalidInput, NotFound, SchemaOutdated, StorageUnavailable
from liapstore.schema import migrations
from liapstore.testing.support import SHORT, play_recorded, record, script, start

pytestmark = pytest.mark.backends("sqlite", "postgres")

LATEST = len(migrations.names())


@pytest.fixture
def empty_url(backend, request, tmp_path):
    """A URL of an empty database, never migrated."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    from support.servers import create_database, drop_database
    admin = request.getfixturevalue("postgres_admin_url")
    name = f"liapstore_empty_{uuid.uuid4().hex[:12]}"
    request.addfinalizer(lambda: drop_database(admin, name))
    return create_database(admin, name)


def test_a_database_never_migrated_says_to_run_migrate(empty_url):
    with liapstore.connect(empty_url, migrate=False) as store:
        for call in (lambda: store.get_player(uuid.uuid4()),
                     lambda: store.create_player("alice"),
                     lambda: store.list_rooms()):
            with pytest.raises(SchemaOutdated) as e:
                call()
            assert f"version 0, this liapstore needs version {LATEST}" in str(e.value)
            assert "liapstore migrate" in str(e.value)
            assert isinstance(e.value, StorageUnavailable)  # one of the four, refined
        # The same Store works once the schema is there.
        store.migrate()
        assert store.create_player("alice").username == "alice"


def test_an_older_schema_names_both_versions(empty_url):
    with liapstore.connect(empty_url, migrate=False) as store:
        with store.db.atomic():
            Runner(store.db, migrations.DIRECTORY).up(target="0001_initial")
        players = [store.create_player(f"old_{i}") for i in range(4)]
        room = store.create_room("OLD", "Old schema")
        # Games need games.version, which 0002 added.
        with pytest.raises(SchemaOutdated) as e:
            store.start_game(room.id, [p.id for p in players])
        assert f"version 1, this liapstore needs version {LATEST}" in str(e.value)
        store.migrate()
        table = start(store, players=players, room=room, **SHORT)
        game = record(store, table.game.id, script(2).steps)
        assert store.verify_game(game.id) == []


def test_constraint_errors_by_code(store):
    alice = store.create_player("alice")
    with pytest.raises(Conflict, match="already exists"):
        store.create_player("alice")
    with pytest.raises(NotFound, match="referenced row does not exist"):
        store.record_event("x", player_id=uuid.uuid4())
    store.record_event("x", player_id=alice.id)
    # analytics_events.player_id has no ON DELETE: the player is still referenced.
    with pytest.raises(Conflict, match="still referenced"):
        store._delete("players", [("id", "=", alice.id)])
    assert store.get_player(alice.id) == alice


def test_concurrent_game_starts_on_one_store_never_fail(store):
    # SQLite: a deferred transaction that read before writing failed at once
    # with "database is locked" when another connection had committed
    # meanwhile; BEGIN IMMEDIATE makes it wait for the lock instead.
    tables = [start(store, code=f"R{i}") for i in range(4)]
    errors, started = [], []

    def starter(table, n):
        try:
            for _ in range(n):
                started.append(store.start_game(table.room.id, [p.id for p in table.players], **SHORT))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=starter, args=(t, 10)) for t in tables]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(started) == 40


def _start_games(url, code, n, queue):
    try:
        with liapstore.connect(url) as store:
            table = start(store, code=code)
            for _ in range(n):
                store.start_game(table.room.id, [p.id for p in table.players], **SHORT)
        queue.put(None)
    except Exception as e:  # noqa: BLE001 - sent to the parent
        queue.put(f"{type(e).__name__}: {e}")


def test_concurrent_game_starts_from_processes_never_fail(backend, store_url):
    if backend == "sqlite":
        # Writers wait for the lock up to busy_timeout (5 s by default); on a
        # CI machine with fsync queued behind other jobs a run of 54 commits
        # can exceed that, which would say nothing about BEGIN IMMEDIATE.
        store_url += "?busy_timeout=60000"
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_start_games, args=(store_url, f"P{i}", 8, queue)) for i in range(6)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    assert results == [None] * len(procs)
    with liapstore.connect(store_url) as store:
        assert len(store.list_games(limit=100).items) == 6 * (1 + 8)


def test_the_store_works_after_a_failed_transaction(store):
    table, sc, game = play_recorded(store, 11)
    with pytest.raises(Conflict):
        with store.transaction():
            store.create_player("bob")
            store.create_player("bob")
    with pytest.raises(NotFound):
        store.get_player_by_username("bob")
    assert store.create_player("bob").username == "bob"
    assert store.verify_game(game.id) == []
