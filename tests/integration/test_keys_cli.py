"""`liapstore keys ...` and `liapstore sessions ...`: rotation killed with
SIGKILL and resumed, addresses from before schema 6 encrypted afterwards,
session purge and revocation."""
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from click.testing import CliRunner
from playhouse.migrations import Runner

import liapstore
from liapstore import KeyUnavailable, keys
from liapstore.cli import main
from liapstore.schema import migrations
from liapstore.testing.support import update_own, expect

pytestmark = pytest.mark.backends("sqlite", "postgres")


def run(*args, code=0):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def _with_keys(url, master, blind=None):
    sep = "&" if "?" in url else "?"
    url = f"{url}{sep}encryption_key_file={master}"
    return url + (f"&blind_index_key_file={blind}" if blind else "")


def _key_file(path, *values):
    path.write_text("\n".join(values) + "\n")
    return path


def test_rotation_killed_midway_resumes_without_losing_an_address(store_url, tmp_path):
    old = _key_file(tmp_path / "old.key", keys.generate())
    new = _key_file(tmp_path / "new.key", keys.generate())
    new_version = keys.key_version(keys.parse_key(new.read_text(), "new"))
    url = _with_keys(store_url, old)
    n = 1500
    with liapstore.connect(url) as s, s.transaction():
        expected = {s.create_player(f"player{i}", email=f"Player.{i}@example.org").id:
                    f"Player.{i}@example.org" for i in range(n)}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    rotate = [sys.executable, "-c", "from liapstore.cli import main; main()", "keys", "rotate",
              "--url", url, "--new-key-file", str(new), "--batch-size", "3"]
    proc = subprocess.Popen(rotate, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    moved = 0
    with liapstore.connect(url) as watcher:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            moved = watcher.key_versions().get(new_version, 0)
            if moved >= 30:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
        versions = watcher.key_versions()
    assert proc.returncode == -signal.SIGKILL, f"rotation ended before it was killed: {err[-2000:]}"
    assert 0 < versions.get(new_version, 0) < n and sum(versions.values()) == n, versions

    # Mid-way, a store given both keys (new first) reads every address.
    with liapstore.connect(_with_keys(store_url, _key_file(
            tmp_path / "both.key", new.read_text().strip(), old.read_text().strip()))) as s:
        assert {p.id: p.email for p in s.list_players(limit=1000)}.items() <= expected.items()

    out = run(*rotate[3:])
    assert f"{n} of {n} under key version {new_version}" in out
    # A third run has nothing left to do.
    assert "re-wrapped 0 key(s)" in run(*rotate[3:])
    with liapstore.connect(_with_keys(store_url, new)) as s:
        page = s.list_players(limit=1000)
        got = {p.id: p.email for p in page}
        got.update({p.id: p.email for p in s.list_players(limit=1000, after=page.next_cursor)})
        assert got == expected
        assert s.get_player_by_email("player.7@EXAMPLE.org").email == "Player.7@example.org"
        assert s.key_versions() == {new_version: n}
    with liapstore.connect(url) as s:  # The old key alone opens nothing any more.
        expect(KeyUnavailable, s.get_player, next(iter(expected)))


def test_rotation_needs_the_old_key(store_url, tmp_path):
    old = _key_file(tmp_path / "old.key", keys.generate())
    other = _key_file(tmp_path / "other.key", keys.generate())
    new = _key_file(tmp_path / "new.key", keys.generate())
    with liapstore.connect(_with_keys(store_url, old)) as s:
        s.create_player("alice", email="alice@example.org")
    out = run("keys", "rotate", "--url", _with_keys(store_url, other), "--new-key-file", new, code=1)
    assert "KeyUnavailable" in out and "not configured" in out
    out = run("keys", "rotate", "--url", _with_keys(store_url, other), "--new-key-file", new,
              "--old-key-file", old)
    assert "re-wrapped 1 key(s)" in out
    assert "(current)" in run("keys", "status", "--url", _with_keys(store_url, new))


def test_addresses_from_before_schema_6_are_pending_until_encrypted(unmigrated_url):
    with liapstore.connect(unmigrated_url, migrate=False) as s:
        with s.db.atomic():
            Runner(s.db, migrations.DIRECTORY).up(target="0005_progress")
        ids = {}
        for name, address in (("alice", "Alice@Example.org"), ("bob", "bob@example.org"),
                              ("bobby", "BOB@example.org"), ("carol", None)):
            ids[name] = uuid.uuid4()
            s._insert("players", {"id": ids[name], "username": name, "display_name": name,
                                  "email": address, "created_at": liapstore.validate.now(),
                                  "last_seen": liapstore.validate.now()})
        s.migrate()
        # Pending: read and found as they were stored.
        assert s.count_pending_emails() == 3
        assert s.get_player(ids["alice"]).email == "Alice@Example.org"
        assert s.get_player_by_email("Alice@Example.org").id == ids["alice"]
    out = run("keys", "encrypt-pending", "--url", unmigrated_url, "--batch-size", 1, code=2)
    assert "encrypted 2 pending address(es)" in out and "1 left pending" in out
    with liapstore.connect(unmigrated_url) as s:
        assert s.count_pending_emails() == 1
        raw = {r["username"]: r for r in s._select("players", [], ())}
        assert raw["alice"]["email"] is None and raw["alice"]["email_encrypted"] is not None
        assert s.get_player_by_email("alice@example.org").email == "Alice@Example.org"
        # bob and bobby share an address once case is folded: one of them waits.
        pending = [n for n in ("bob", "bobby") if raw[n]["email"] is not None]
        assert len(pending) == 1
        update_own(s, ids[pending[0]], email="bobby2@example.org")
        assert s.count_pending_emails() == 0
    assert "encrypted 0" in run("keys", "encrypt-pending", "--url", unmigrated_url)


def test_sessions_purge_and_revoke(store_url):
    with liapstore.connect(store_url) as s:
        a, b = s.create_player("alice"), s.create_player("bob")
        s.create_session(a.id, ttl=0.01)
        s.create_session(a.id)
        s.create_session(b.id)
        time.sleep(0.05)
    assert "deleted 1 expired session(s)" in run("sessions", "purge", "--url", store_url)
    assert "deleted 0 expired" in run("sessions", "purge", "--url", store_url)
    assert "revoked 1 session(s) of alice" in run("sessions", "revoke", "--url", store_url, "alice")
    with liapstore.connect(store_url) as s:
        assert s.list_sessions(a.id) == [] and len(s.list_sessions(b.id)) == 1
    assert "NotFound" in run("sessions", "revoke", "--url", store_url, "nobody", code=1)


def test_keys_generate():
    made = {run("keys", "generate").strip() for _ in range(3)}
    assert len(made) == 3 and all(len(keys.parse_key(k, "x")) == 32 for k in made)
