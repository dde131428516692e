"""Tests of tests/support/servers.py: the throwaway servers really start,
answer, crash and come back, and their failures explain themselves.

Every server here is private, on a free port; the shared services on
5432/6379 are never touched.
"""

import os
import socket

import psycopg
import pytest
import redis

from . import servers
from .servers import (
    PostgresServer,
    RedisServer,
    ServerUnavailable,
    create_database,
    database_url,
    drop_database,
    find_or_start_postgres,
    find_or_start_redis,
    hide_password,
)

# Only in runs that include PostgreSQL (see tests/conftest.py): these tests
# start servers of their own, which tox -e memory / -e sqlite must not need.
pytestmark = pytest.mark.servers


def _query(url, sql, params=None):
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else None


@pytest.fixture(scope="module")
def pg():
    server = PostgresServer.start()
    yield server
    server.stop()


@pytest.fixture
def rs():
    server = RedisServer.start()
    yield server
    server.stop()


def _dead_port():
    """A loopback port nobody listens on (bound, never listened)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


# -- URLs ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql://h/db", "postgresql://h/db"),
        ("redis://:secret@h:6379/0", "redis://:***@h:6379/0"),
        ("postgresql://u:se/cr#et@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u@h/db?sslmode=require&password=secret", "postgresql://u@h/db?sslmode=require&password=***"),
        ("host=h user=u password=secret dbname=d", "host=h user=u password=*** dbname=d"),
        ("host=h password='se cret' dbname=d", "host=h password=*** dbname=d"),
        ("", ""),
    ],
)
def test_hide_password(url, expected):
    assert hide_password(url) == expected


def test_database_url_keeps_everything_but_the_database():
    assert (
        database_url("postgresql://u:pw@h:5433/postgres?sslmode=disable", "t_1")
        == "postgresql://u:pw@h:5433/t_1?sslmode=disable"
    )
    dsn = database_url("host=h port=5433 dbname=postgres", "t_1")
    assert psycopg.conninfo.conninfo_to_dict(dsn) == {"host": "h", "port": "5433", "dbname": "t_1"}


# -- PostgreSQL ------------------------------------------------------------


def test_postgres_answers_on_loopback(pg):
    assert pg.url == f"postgresql://postgres@127.0.0.1:{pg.port}/postgres"
    (row,) = _query(pg.url, "SELECT current_user, current_setting('listen_addresses'), "
                            "current_setting('server_encoding'), current_setting('lc_collate')")
    assert row == ("postgres", "127.0.0.1", "UTF8", "C")
    assert os.path.isfile(os.path.join(pg.datadir, "PG_VERSION"))
    if os.geteuid() == 0:
        # initdb/postgres refuse root: the cluster must belong to someone else.
        assert os.stat(pg.datadir).st_uid != 0
        assert _query(pg.url, "SELECT pg_backend_pid()")  # and it runs


def test_create_database_from_template(pg):
    drop_database(pg.url, "tpl")
    drop_database(pg.url, "clone")
    tpl_url = create_database(pg.url, "tpl")
    assert tpl_url == database_url(pg.url, "tpl")
    _query(tpl_url, "CREATE TABLE migrated (x int); INSERT INTO migrated VALUES (42)")

    clone_url = create_database(pg.url, "clone", template="tpl")
    assert _query(clone_url, "SELECT x FROM migrated") == [(42,)]

    # The clone is independent of the template.
    _query(clone_url, "INSERT INTO migrated VALUES (43)")
    assert _query(tpl_url, "SELECT count(*) FROM migrated") == [(1,)]

    # DROP ... WITH (FORCE) disconnects open sessions.
    with psycopg.connect(clone_url):
        drop_database(pg.url, "clone")
    drop_database(pg.url, "clone")  # already gone: fine
    assert _query(pg.url, "SELECT datname FROM pg_database WHERE datname = 'clone'") == []
    drop_database(pg.url, "tpl")


def test_create_database_from_busy_template_says_who(pg):
    drop_database(pg.url, "busy_tpl")
    tpl_url = create_database(pg.url, "busy_tpl")
    try:
        with psycopg.connect(tpl_url, application_name="left-open"):
            with pytest.raises(RuntimeError, match="other connections") as info:
                create_database(pg.url, "never", template="busy_tpl")
        assert "left-open" in str(info.value)
    finally:
        drop_database(pg.url, "busy_tpl")


def test_postgres_kill_and_restart(pg):
    _query(pg.url, "CREATE TABLE IF NOT EXISTS survives (x int); INSERT INTO survives VALUES (1)")
    conn = psycopg.connect(pg.url, autocommit=True)
    old_pid = pg.pid
    pg.kill()
    assert not pg.running
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")
    conn.close()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(pg.url, connect_timeout=2)

    pg.restart()  # crash recovery on the same port and data
    assert pg.running and pg.pid != old_pid
    assert _query(pg.url, "SELECT count(*) FROM survives") == [(1,)]

    pg.restart()  # restart of a running server: clean shutdown + start
    pg.wait_ready(5)
    assert _query(pg.url, "SELECT 1") == [(1,)]


def test_postgres_context_manager_and_fixed_port():
    port = servers.free_port()
    with PostgresServer.start(port=port) as server:
        assert server.port == port
        assert _query(server.url, "SELECT 1") == [(1,)]
        basedir = server.basedir
    assert not os.path.exists(basedir)
    assert not server.running
    server.stop()  # twice is fine
    with pytest.raises(ServerUnavailable, match="data deleted"):
        server.restart()


def test_postgres_port_taken_explains_itself_and_cleans_up(tmp_path, monkeypatch):
    monkeypatch.setattr(servers.tempfile, "tempdir", str(tmp_path))
    os.chmod(tmp_path, 0o755)  # the service user must reach it when we are root
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(ServerUnavailable) as info:
            PostgresServer.start(port=busy.getsockname()[1])
    message = str(info.value)
    assert "exited with code" in message and "Address already in use" in message
    assert os.listdir(tmp_path) == []  # nothing left behind


def test_missing_postgres_binaries_say_how_to_install(monkeypatch):
    monkeypatch.setattr(servers.shutil, "which", lambda *a, **k: None)
    monkeypatch.setattr(servers, "_PG_LIB_GLOB", "/nonexistent/*/bin")
    with pytest.raises(ServerUnavailable, match="apt-get install postgresql"):
        PostgresServer.start()


def test_find_or_start_postgres_uses_env_url(pg, monkeypatch):
    monkeypatch.setenv(servers.POSTGRES_URL_ENV, pg.url)
    assert find_or_start_postgres() == (pg.url, None)


def test_find_or_start_postgres_dead_env_url_hides_password(monkeypatch):
    sock, port = _dead_port()
    with sock:
        monkeypatch.setenv(servers.POSTGRES_URL_ENV, f"postgresql://u:hunter2@127.0.0.1:{port}/db")
        with pytest.raises(ServerUnavailable) as info:
            find_or_start_postgres()
    message = str(info.value)
    assert servers.POSTGRES_URL_ENV in message
    assert f"postgresql://u:***@127.0.0.1:{port}/db" in message
    assert "hunter2" not in message


def test_find_or_start_postgres_starts_one_without_env(monkeypatch):
    monkeypatch.setenv(servers.POSTGRES_URL_ENV, "")  # empty = unset
    url, server = find_or_start_postgres()
    try:
        assert isinstance(server, PostgresServer) and url == server.url
        assert _query(url, "SELECT 1") == [(1,)]
    finally:
        server.stop()


def test_as_user_without_setpriv(monkeypatch):
    """The subprocess fallback runs the command as the service user too."""
    user = servers._service_user()
    if user is None:
        assert servers._as_user(["id", "-u"], None) == (["id", "-u"], {})
        return
    real_which = servers.shutil.which
    for which in (real_which, lambda name, *a, **k: None if name == "setpriv" else real_which(name, *a, **k)):
        monkeypatch.setattr(servers.shutil, "which", which)
        argv, kwargs = servers._as_user(["id", "-u"], user)
        out = servers.subprocess.run(argv, capture_output=True, check=True, cwd="/", **kwargs).stdout
        assert int(out) == user.pw_uid


# -- Redis -----------------------------------------------------------------


def test_redis_set_get_kill_restart(rs):
    assert rs.url == f"redis://127.0.0.1:{rs.port}/0"
    client = redis.Redis.from_url(rs.url, socket_timeout=5)
    try:
        client.set("k", "v")
        assert client.get("k") == b"v"
        assert client.config_get("bind")["bind"] == "127.0.0.1"

        rs.kill()
        assert not rs.running
        with pytest.raises(redis.ConnectionError):
            client.get("k")

        rs.restart()
        rs.wait_ready(5)
        assert client.get("k") is None  # nothing is persisted
        client.set("k", "again")
        rs.restart()
        assert client.get("k") is None
    finally:
        client.close()
    basedir = rs.basedir
    rs.stop()
    assert not os.path.exists(basedir)


def test_redis_port_taken_explains_itself():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(ServerUnavailable, match="(?s)exited with code.*in use"):
            RedisServer.start(port=busy.getsockname()[1])


def test_missing_redis_server_says_how_to_install(monkeypatch):
    monkeypatch.setattr(servers.shutil, "which", lambda *a, **k: None)
    with pytest.raises(ServerUnavailable, match="apt-get install redis-server"):
        RedisServer.start()


def test_find_or_start_redis(rs, monkeypatch):
    monkeypatch.setenv(servers.REDIS_URL_ENV, rs.url)
    assert find_or_start_redis() == (rs.url, None)

    sock, port = _dead_port()
    with sock:
        monkeypatch.setenv(servers.REDIS_URL_ENV, f"redis://:hunter2@127.0.0.1:{port}/0")
        with pytest.raises(ServerUnavailable) as info:
            find_or_start_redis()
    assert f"redis://:***@127.0.0.1:{port}/0" in str(info.value)
    assert "hunter2" not in str(info.value)

    monkeypatch.delenv(servers.REDIS_URL_ENV)
    url, server = find_or_start_redis()
    try:
        assert isinstance(server, RedisServer)
        assert redis.Redis.from_url(url).ping()
    finally:
        server.stop()
