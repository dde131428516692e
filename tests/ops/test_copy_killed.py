"""The issue's test of done: a SQLite database filled by ``liapstore simulate``
is copied by ``liapstore copy``, the copy is killed (SIGKILL) once in the
middle of a table and run again, and then ``verify --all`` and
``copy --check`` are clean on the target: nothing lost, nothing twice."""
import signal
import sqlite3
import time
import uuid

import psycopg
import pytest

from liapstore.ops.tables import TABLES
from support.servers import create_database, drop_database

from cli_process import run, start


def _counter(url):
    """A function reading the target's player_actions count (None before the table exists)."""
    if url.startswith("sqlite"):
        path = url[len("sqlite:///"):]

        def count():
            try:
                with sqlite3.connect(path, timeout=5) as db:
                    return db.execute("SELECT count(*) FROM player_actions").fetchone()[0]
            except sqlite3.OperationalError:
                return None
        return count

    def count():
        try:
            with psycopg.connect(url) as db:
                return db.execute("SELECT count(*) FROM player_actions").fetchone()[0]
        except psycopg.errors.UndefinedTable:
            return None
    return count


@pytest.fixture
def target_url(backend, tmp_path, request):
    """An empty, never migrated database of the backend under test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'target.db'}"
    admin = request.getfixturevalue("postgres_admin_url")
    name = f"liapstore_copy_{uuid.uuid4().hex[:12]}"
    request.addfinalizer(lambda: drop_database(admin, name))
    return create_database(admin, name)


@pytest.mark.backends("sqlite", "postgres")
def test_a_copy_killed_in_the_middle_finishes_when_run_again(tmp_path, target_url):
    source = f"sqlite:///{tmp_path / 'source.db'}"
    run("simulate", "--url", source, "--games", 4, "--seed", 3)
    status = run("status", "--url", source)
    actions = int(next(line for line in status.splitlines()
                       if "player_actions" in line).split()[-1].replace(",", ""))
    command = ("copy", "--from", source, "--to", target_url, "--batch-size", 50)
    count = _counter(target_url)
    copying = start(*command)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            n = count()
            if n is not None and 0 < n < actions:
                copying.send_signal(signal.SIGKILL)
                break
            assert copying.poll() is None, "the copy ended before it could be killed"
            time.sleep(0.005)
        else:
            pytest.fail("the copy never reached player_actions")
    finally:
        copying.kill()
        copying.wait()
    assert copying.returncode == -signal.SIGKILL
    left = count()
    assert 0 < left < actions
    out = run(*command)
    already = int(out.split("(")[1].split()[0].replace(",", ""))
    assert already >= left, out
    verified = run("verify", "--all", "--url", target_url)
    assert "checked 4 game(s): 4 intact, 0 with disagreements" in verified
    checked = run("copy", "--from", source, "--to", target_url, "--check")  # exit 0: all equal
    assert f"{len(TABLES)} of {len(TABLES)} tables identical" in checked
