"""SQLite on a full disk, a read-only file and a read-only folder.

The database lives on a small filesystem of its own: a tmpfs mounted for the
test (a loop-mounted ext4 image where tmpfs cannot be mounted), unmounted at
the end. Mounting needs root, as CI runs the tests; without it these tests
fail and say why, they are never skipped.

Full disk: the write-ahead log is checkpointed away, then the filesystem is
filled to the last byte (or to two pages short, so that a commit fails half
way through writing its frames). Each write (record_action mid-game and at
the end of a game, record_event, create_player, start_game) must raise
StorageUnavailable whose message keeps SQLite's cause ("database or disk is
full"), never a raw sqlite3 error nor "cannot rollback - no transaction is
active"; twice in a row (the connection stays usable); nothing of it may be
stored (row counts, ``verify_game`` and ``PRAGMA integrity_check``); and once
space is back the same Store makes the same write.

Read-only: as root, file permissions do not stop a write, so the file is made
read-only with a read-only bind mount over it, and the folder by remounting
the filesystem read-only. Every write is refused with StorageUnavailable and
nothing changes. Once the folder is writable again the same Store writes.
Once the file is writable again the same Store writes: SQLite opens a
read-only file read-only and would keep refusing writes on that connection,
so the store drops a connection that reported a read-only database.
"""
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

import liapstore
from liapstore import LiapstoreError, StorageUnavailable
from liapstore.game import bots

pytestmark = pytest.mark.backends("sqlite")

FS_SIZE = "4m"
PAGE = 4096
SHORT = {"winning_score": 1, "max_rounds": 1}


def _run(*argv):
    """Run a command; its error output if it failed, else None."""
    done = subprocess.run(argv, capture_output=True, text=True)
    return None if done.returncode == 0 else (done.stderr.strip() or f"exit code {done.returncode}")


class SmallFilesystem:
    """A small filesystem of our own at ``path``, to fill up and to make read-only."""

    def __init__(self, path, kind):
        self.path, self.kind = path, kind
        self.filler = path / "filler"
        self._binds = []

    @classmethod
    def mount(cls, path, scratch):
        path.mkdir()
        tmpfs_error = _run("mount", "-t", "tmpfs", "-o", f"size={FS_SIZE},mode=0755",
                           "liapstore-test", str(path))
        if tmpfs_error is None:
            return cls(path, "tmpfs")
        image = scratch / "small.img"
        loop_error = (_run("truncate", "-s", FS_SIZE.upper(), str(image))
                      or _run("mkfs.ext4", "-q", "-m", "0", str(image))
                      or _run("mount", "-o", "loop", str(image), str(path)))
        if loop_error is None:
            return cls(path, "ext4 loop image")
        pytest.fail("the disk-full tests need a small filesystem of their own and could not mount "
                    f"one (they need root, as CI runs them): tmpfs: {tmpfs_error}; "
                    f"loop-mounted ext4 image: {loop_error}")

    def fill(self, leave=0):
        """Fill the filesystem, then give back ``leave`` bytes."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            block = b"\0" * (64 * 1024)
            while True:
                try:
                    os.write(fd, block)
                except OSError:
                    if len(block) == 512:
                        break
                    block = block[:len(block) // 2]
        finally:
            os.close(fd)
        if leave:
            os.truncate(self.filler, os.path.getsize(self.filler) - leave)

    def make_room(self):
        self.filler.unlink()

    def read_only_file(self, path):
        """A read-only bind mount over one file (root ignores file permissions)."""
        error = (_run("mount", "--bind", str(path), str(path))
                 or _run("mount", "-o", "remount,bind,ro", str(path)))
        self._binds.append(path)
        assert error is None, f"cannot bind-mount {path} read-only: {error}"

    def writable_file(self, path):
        self._binds.remove(path)
        self._detach(path)

    def read_only(self, read_only=True):
        """Remount the whole filesystem read-only (or back to read-write)."""
        error = _run("mount", "-o", "remount," + ("ro" if read_only else "rw"), str(self.path))
        assert error is None, f"cannot remount {self.path}: {error}"

    def unmount(self):
        for path in reversed(self._binds):
            self._detach(path)
        self._detach(self.path)

    @staticmethod
    def _detach(path):
        # A failed test's traceback can keep a closed SQLite connection's file
        # open (sqlite3_close_v2 waits for its statements); detach the mount
        # lazily then, so that nothing is left mounted either way.
        if _run("umount", str(path)) is not None:
            error = _run("umount", "-l", str(path))
            assert error is None, f"cannot unmount {path}: {error}"


@pytest.fixture
def small_fs(tmp_path):
    fs = SmallFilesystem.mount(tmp_path / "fs", tmp_path)
    yield fs
    fs.unmount()


class Scene:
    """A store on the small filesystem with something of everything to write to."""

    def __init__(self, fs):
        self.db = fs.path / "liap.db"
        self.url = f"sqlite:///{self.db}"
        self.steps = list(bots.play_game(3, **SHORT))
        self.ending = list(bots.play_game(4, **SHORT))
        with liapstore.connect(self.url) as store:
            self.players = [store.create_player(f"full_{i}").id for i in range(4)]
            self.game = store.start_game(store.create_room("FULL-1", "mid-game").id,
                                         self.players, **SHORT).id
            for step, _, action, _ in self.steps[:10]:
                store.record_action(self.game, step, action)
            self.ending_game = store.start_game(store.create_room("FULL-2", "ending").id,
                                                self.players, **SHORT).id
            for step, _, action, _ in self.ending[:-1]:
                store.record_action(self.ending_game, step, action)
            self.room = store.create_room("FULL-3", "waiting").id

    # The writes under test: each returns something to check once it succeeded.
    def record_action(self, store):
        step, _, action, _ = self.steps[10]
        return store.record_action(self.game, step, action).version == step

    def record_action_ending_the_game(self, store):
        step, _, action, _ = self.ending[-1]
        return store.record_action(self.ending_game, step, action).finished

    def record_event(self, store):
        return store.record_event("disk_test", {"k": "v" * 300}).event_data["k"] == "v" * 300

    def create_player(self, store):
        return store.create_player("newcomer", email="newcomer@example.com").username == "newcomer"

    def start_game(self, store):
        game = store.start_game(self.room, self.players, **SHORT)
        return store.get_room(self.room).current_game_id == game.id

    def snapshot(self, store):
        """Everything a failed write must leave as it was."""
        return {"rows": store.status()["rows"],
                "versions": [store.get_game(g).version for g in (self.game, self.ending_game)],
                "room": store.get_room(self.room).status,
                "problems": [store.verify_game(g) for g in (self.game, self.ending_game)]}

    def integrity(self):
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as raw:
            return raw.execute("PRAGMA integrity_check").fetchall()

    def truncate_wal(self):
        """Checkpoint the write-ahead log into the database file and truncate
        it, so that the next write has to grow it on the full disk."""
        with sqlite3.connect(self.db) as raw:
            busy, _, _ = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
        wal = Path(f"{self.db}-wal")
        assert not wal.exists() or wal.stat().st_size == 0


WRITES = ["record_action", "record_action_ending_the_game", "record_event", "create_player",
          "start_game"]


def _refused(write, store, what):
    """Run a write that must fail with StorageUnavailable; return its message.

    Only the message leaves: the exception's traceback would keep the failed
    statement, and with it the database file, open after the store is closed.
    """
    with pytest.raises(LiapstoreError) as caught:
        write(store)
    kind, message = type(caught.value), str(caught.value)
    del caught
    assert issubclass(kind, StorageUnavailable), f"{what}: {kind.__name__}: {message}"
    assert "cannot rollback" not in message, f"{what}: the cause is hidden: {message}"
    return message


@pytest.mark.parametrize("leave", [0, 2 * PAGE], ids=["no-byte-left", "two-pages-left"])
@pytest.mark.parametrize("write", WRITES)
def test_a_full_disk_refuses_the_write_cleanly_and_the_store_carries_on(backend, small_fs, write,
                                                                       leave):
    scene = Scene(small_fs)
    attempt = getattr(scene, write)
    with liapstore.connect(scene.url) as store:
        before = scene.snapshot(store)
        scene.truncate_wal()
        small_fs.fill(leave)
        for attempt_no in (1, 2):  # the connection must stay usable after a failure
            message = _refused(attempt, store, f"attempt {attempt_no} on a full disk")
            assert "database or disk is full" in message, (
                f"the error does not say the disk is full: {message}")
        if leave:
            # The commit got as far as writing some of its frames to the log.
            assert Path(f"{scene.db}-wal").stat().st_size > 0
        assert scene.snapshot(store) == before, "a refused write left something behind"

        small_fs.make_room()
        assert scene.integrity() == [("ok",)]
        assert scene.snapshot(store) == before
        assert attempt(store), "the write, retried once there was space again, went wrong"
        assert store.verify_game(scene.game) == [] and store.verify_game(scene.ending_game) == []
    assert scene.integrity() == [("ok",)]


@pytest.mark.parametrize("write", WRITES)
def test_a_read_only_database_file_refuses_writes(backend, small_fs, write):
    scene = Scene(small_fs)
    attempt = getattr(scene, write)
    with liapstore.connect(scene.url) as store:
        before = scene.snapshot(store)
    small_fs.read_only_file(scene.db)
    try:
        with liapstore.connect(scene.url, migrate=False) as store:
            message = _refused(attempt, store, "a read-only file")
            assert "readonly" in message.replace("read-only", "readonly"), message
            assert scene.snapshot(store) == before
            # The same Store writes once the file is writable again.
            assert _run("mount", "-o", "remount,bind,rw", str(scene.db)) is None
            assert scene.snapshot(store) == before
            assert attempt(store)
            assert store.verify_game(scene.game) == [] and store.verify_game(scene.ending_game) == []
    finally:
        small_fs.writable_file(scene.db)
    assert scene.integrity() == [("ok",)]


@pytest.mark.parametrize("write", WRITES)
def test_a_read_only_folder_refuses_writes(backend, small_fs, write):
    scene = Scene(small_fs)
    attempt = getattr(scene, write)
    with liapstore.connect(scene.url) as store:
        before = scene.snapshot(store)
    small_fs.read_only()
    try:
        # In WAL mode SQLite must create the -wal and -shm files beside the
        # database: a read-only folder leaves it unable to open the file at all.
        with pytest.raises(StorageUnavailable) as at_connect:
            liapstore.connect(scene.url).close()
        assert str(scene.db) in str(at_connect.value)
        del at_connect
        store = liapstore.connect(scene.url, migrate=False)
        _refused(attempt, store, "a read-only folder")
        _refused(scene.snapshot, store, "reading in a read-only folder")
    finally:
        small_fs.read_only(False)
    # The same Store carries on once the folder is writable again.
    with store:
        assert scene.integrity() == [("ok",)]
        assert scene.snapshot(store) == before
        assert attempt(store)
