"""Backing up while games are being recorded: one process records bot games
(``liapstore simulate``) while another runs ``liapstore backup``; the
snapshot restores into every backend with the counts of its own moment
(its manifest), every game in it whole (as many actions as its version
says), ``verify --all`` clean, and its unfinished game playable on."""
import threading
import time
import uuid

import pytest

import liapstore
from liapstore.ops import copy, snapshot
from liapstore.ops.tables import KEY_TABLES
from liapstore.simulate import simulate
from support.servers import create_database, drop_database

from cli_process import run, start

# Every test restores into PostgreSQL too, whatever its source.
pytestmark = pytest.mark.servers


def assert_whole(store, manifest):
    """The store holds exactly the snapshot's moment, each game whole."""
    counts = copy.counts(store)
    # A data file's manifest counts the data tables; the key store's rows are
    # counted by the key file.
    assert {t: n for t, n in counts.items() if t not in KEY_TABLES or t in manifest["rows"]} \
        == manifest["rows"]
    games = store._select("games", [], ("id",))
    for game in games:
        actions = store._select("player_actions", [("game_id", "=", game["id"])], ())
        assert len(actions) == game["version"], "a game holds half of an action"
        assert sorted(a["sequence_number"] for a in actions) == list(range(1, game["version"] + 1))
        assert store.verify_game(game["id"]) == []


def restore_everywhere(path, manifest, tmp_path, request):
    """Restore into memory (library), SQLite and PostgreSQL (the command)."""
    with liapstore.connect("memory://") as memory:
        snapshot.restore(path, memory)
        assert_whole(memory, manifest)
    targets = [f"sqlite:///{tmp_path / f'restored-{uuid.uuid4().hex[:6]}.db'}"]
    admin = request.getfixturevalue("postgres_admin_url")
    name = f"liapstore_restore_{uuid.uuid4().hex[:12]}"
    request.addfinalizer(lambda: drop_database(admin, name))
    targets.append(create_database(admin, name))
    for url in targets:
        run("restore", path, "--url", url)
        with liapstore.connect(url) as store:
            assert_whole(store, manifest)
            unfinished = len(store.unfinished_games())
        games = manifest["rows"]["games"]
        assert f"{games} intact, 0 with" in run("verify", "--all", "--url", url)
        # The game being recorded at the snapshot's moment carries on here.
        resumed = run("simulate", "--url", url, "--games", 0)
        if unfinished:  # none only if the snapshot fell between two games
            assert f"resumed {unfinished} interrupted" in resumed
        assert f"{games} intact, 0 with" in run("verify", "--all", "--url", url)


@pytest.mark.backends("sqlite", "postgres")
def test_backup_while_another_process_records(store_url, tmp_path, request):
    recorder = start("simulate", "--url", store_url, "--games", 1000, "--seed", 5,
                     "--winning-score", 20, "--max-rounds", 4)
    try:
        with liapstore.connect(store_url) as watch:
            deadline = time.monotonic() + 120
            while watch._count("games") < 3:
                assert time.monotonic() < deadline and recorder.poll() is None
                time.sleep(0.1)
            path = str(tmp_path / "live.gz")
            run("backup", "--url", store_url, path)
            manifest = snapshot.read_manifest(path)
            while watch._count("player_actions") <= manifest["rows"]["player_actions"]:
                assert time.monotonic() < deadline and recorder.poll() is None
                time.sleep(0.1)
    finally:
        recorder.kill()
        recorder.wait()
    assert manifest["rows"]["games"] >= 3
    restore_everywhere(path, manifest, tmp_path, request)


@pytest.mark.backends("memory")
def test_backup_of_a_memory_store_while_a_thread_records(tmp_path, request):
    store, stop, errors = liapstore.connect("memory://"), threading.Event(), []

    def record():
        def on_game():
            if stop.is_set():
                raise InterruptedError
        try:
            simulate(store, 200, seed=9, winning_score=20, max_rounds=4, on_game=on_game)
        except InterruptedError:
            pass
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    recorder = threading.Thread(target=record)
    recorder.start()
    try:
        while store._count("games") < 3:
            time.sleep(0.01)
        path = str(tmp_path / "memory.gz")
        manifest = snapshot.backup(store, path)
        while store._count("player_actions") <= manifest["rows"]["player_actions"]:
            time.sleep(0.01)
    finally:
        stop.set()
        recorder.join()
    assert not errors
    assert snapshot.read_manifest(path)["rows"] == {
        t: n for t, n in manifest["rows"].items() if t not in KEY_TABLES}
    restore_everywhere(path, manifest, tmp_path, request)
