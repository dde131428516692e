"""Throwaway PostgreSQL and Redis servers for liapstore's tests.

The test suite talks to real servers over real connections. This module
either finds one the environment points at (``LIAPSTORE_TEST_POSTGRES_URL``,
``LIAPSTORE_TEST_REDIS_URL``; CI sets both to the machine's shared services)
or starts a private, disposable one on a free loopback port.

Public API
----------
``ServerUnavailable``
    RuntimeError raised whenever a server cannot be found, started or reached.
    The message always says why (the tail of the server log or of initdb's
    output is included). Nothing in here ever skips a test: a missing server
    is a failure to be fixed, not something to silently paper over.
``PostgresServer.start(port=None)`` / ``RedisServer.start(port=None)``
    Start a private server; attributes ``url``, ``port``, ``host``,
    ``basedir`` (and ``datadir`` for PostgreSQL); methods ``stop()``,
    ``kill()``, ``restart()``, ``wait_ready(timeout)``, ``log_tail()``;
    usable as context managers (``with PostgresServer.start() as pg: ...``).
``find_or_start_postgres()`` / ``find_or_start_redis()``
    ``(url, server_or_None)``: the URL from the environment when it is set
    (after checking it answers), else a freshly started private server, which
    the caller must ``stop()`` when done.
``create_database(admin_url, name, template=None)`` / ``drop_database(...)``
    Per-test databases, cheaply cloned from a template that was migrated once.
``database_url(admin_url, name)``
    The URL of another database on the same server.
``hide_password(url)``
    The URL with any password replaced by ``***``, for messages and logs.

Only the standard library is needed to start and stop servers; psycopg and
redis-py are imported lazily by the functions that talk to the servers.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import IO, Optional, Tuple

# Password hiding is liapstore's own, so that the library and its tests hide
# the same forms the same way; importing it loads no driver and no peewee.
from liapstore.urls import redact as _redact

__all__ = [
    "POSTGRES_URL_ENV",
    "REDIS_URL_ENV",
    "ServerUnavailable",
    "PostgresServer",
    "RedisServer",
    "find_or_start_postgres",
    "find_or_start_redis",
    "create_database",
    "drop_database",
    "database_url",
    "hide_password",
]

POSTGRES_URL_ENV = "LIAPSTORE_TEST_POSTGRES_URL"
REDIS_URL_ENV = "LIAPSTORE_TEST_REDIS_URL"

LOOPBACK = "127.0.0.1"

# Where distributions put versioned PostgreSQL binaries (Debian/Ubuntu layout)
# when they are not on PATH. Module-level so tests can point it elsewhere.
_PG_LIB_GLOB = "/usr/lib/postgresql/*/bin"

# Generous defaults: CI machines have 2 shared, noisy cores; a normal start
# takes 1-4 s, but a stalled disk can make it much slower. A timeout here only
# turns a hang into a clear error, so it errs on the long side.
DEFAULT_START_TIMEOUT = 60.0
INITDB_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0

# Attempts at picking a free port when the caller did not fix one: the port
# is probed and released before the server binds it, so another process can
# grab it in between (rare, but real on a busy machine).
_PORT_ATTEMPTS = 3

# Longest path the kernel accepts for a unix socket (sun_path is 108 bytes).
_MAX_SOCKET_PATH = 107


class ServerUnavailable(RuntimeError):
    """A test server could not be found, started or reached.

    The message says why, including the tail of the relevant log.
    """


# ---------------------------------------------------------------------------
# URLs
# ---------------------------------------------------------------------------

def hide_password(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``
    (``liapstore.urls.redact``: userinfo, query and libpq ``key=value`` forms)."""
    return _redact(url)


def database_url(admin_url: str, name: str) -> str:
    """Return the URL of database ``name`` on the server of ``admin_url``.

    Only the database part changes; user, host, port and query parameters
    are kept. ``admin_url`` may also be a libpq ``key=value`` string, in
    which case a ``key=value`` string is returned.
    """
    if "://" not in admin_url:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(admin_url, dbname=name)
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path="/" + quote(name, safe="")))


# ---------------------------------------------------------------------------
# Small process helpers shared by both servers
# ---------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _tail(path: str, lines: int = 40) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        return f"(no log: {exc})"
    text = data.decode("utf-8", "replace").rstrip("\n")
    if not text:
        return "(log is empty)"
    return "\n".join(text.splitlines()[-lines:])


def _port_clash_since(path: str, offset: int) -> bool:
    """Did the server log "Address already in use" since byte ``offset``
    (the start of the latest launch)?"""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return b"Address already in use" in f.read()
    except OSError:
        return False


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _proc_stat(pid: int) -> Optional[list]:
    """Fields of /proc/PID/stat after the command name (state, ppid, ...),
    or None if there is no such process (or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # "pid (comm) state ppid pgrp ..."; comm may contain spaces and parens.
    return stat[stat.rfind(")") + 2 :].split()


def _children(pid: int) -> list:
    """Pids whose parent is ``pid`` (Linux /proc; [] elsewhere)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    found = []
    for entry in entries:
        if entry.isdigit():
            fields = _proc_stat(int(entry))
            if fields and len(fields) > 1 and fields[1] == str(pid):
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    """Is ``pid`` a live (non-zombie) process?

    os.kill(pid, 0) is not enough: on these machines PID 1 does not reap
    orphans, so killed backends of a killed postmaster stay zombies forever
    and kill() keeps "finding" them. Zombies hold no sockets, files or shared
    memory, so they do not matter here; /proc tells them apart.
    """
    if os.path.isdir("/proc/self"):
        fields = _proc_stat(pid)
        return fields is not None and fields[0] != "Z"
    try:  # no /proc: the best we can do
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_gone(pids: list, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)


def _kill_quietly(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _rmtree(path: Optional[str]) -> None:
    # A process that is still exiting can create or remove files while we
    # delete (e.g. a backend's temp files), making rmtree fail with ENOTEMPTY
    # or ENOENT; a couple of retries settle it.
    if not path:
        return
    for _ in range(5):
        try:
            shutil.rmtree(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.2)
    shutil.rmtree(path, ignore_errors=True)


def _child_env() -> dict:
    """Environment for server processes.

    PG* variables are dropped so a developer's PGPORT/PGDATA/... cannot
    change what the throwaway server does; LC_ALL=C keeps server messages in
    English, which ``_is_port_clash`` reads.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    env["LANG"] = "C"
    return env


# Every server started here and not yet stopped, so that an interpreter that
# exits without stopping them (a crashed fixture, Ctrl-C) still cleans up.
# A SIGKILLed pytest does leak them: nothing runs at that point.
_LIVE: set = set()


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_LIVE):
        try:
            server.stop()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


# ---------------------------------------------------------------------------
# Running as an unprivileged user
# ---------------------------------------------------------------------------


def _service_user() -> Optional[pwd.struct_passwd]:
    """The OS user to run PostgreSQL as, or None to run as ourselves.

    initdb and postgres refuse to run as root ("cannot be run as root"), and
    CI runs as root. Then the ``postgres`` user (present wherever Debian's
    PostgreSQL packages are) is used, else ``nobody``.
    """
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise ServerUnavailable(
        "running as root, and initdb/postgres refuse to run as root, but "
        "neither the 'postgres' nor the 'nobody' OS user exists to run them "
        "as; create one (e.g. install the postgresql package) or run the "
        "tests as a non-root user"
    )


def _as_user(argv: list, user: Optional[pwd.struct_passwd]) -> Tuple[list, dict]:
    """Return ``(argv, popen_kwargs)`` running ``argv`` as ``user``.

    setpriv (util-linux) switches uid/gid and then *execs* the command, so the
    pid subprocess gives us is the server's own pid, which kill() and
    restart() rely on. ``runuser`` would not do: it forks and waits for the
    command (to close a PAM session), so signals would hit runuser instead.
    Without setpriv, subprocess's own user/group switch does the same.
    """
    if user is None:
        return list(argv), {}
    setpriv = shutil.which("setpriv")
    if setpriv:
        return [
            setpriv,
            f"--reuid={user.pw_uid}",
            f"--regid={user.pw_gid}",
            "--clear-groups",
            "--",
            *argv,
        ], {}
    return list(argv), {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _traversable_by(path: str, user: pwd.struct_passwd) -> bool:
    """Can ``user`` reach entries below ``path`` (x bit on every ancestor)?"""
    path = os.path.realpath(path)
    while True:
        try:
            st = os.stat(path)
        except OSError:
            return False
        if st.st_uid == user.pw_uid:
            ok = st.st_mode & 0o100
        elif st.st_gid == user.pw_gid:
            ok = st.st_mode & 0o010
        else:
            ok = st.st_mode & 0o001
        if not ok:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


def _make_basedir(prefix: str, user: Optional[pwd.struct_passwd]) -> str:
    """Create a private temp dir for one server, owned by ``user``.

    The usual temp dir is used unless the service user could not reach it
    (TMPDIR under /root, say) or a unix socket path inside it would be too
    long; then /tmp.
    """
    base = tempfile.gettempdir()
    too_long = len(os.path.join(base, prefix + "x" * 8, "sock", ".s.PGSQL.65535")) > _MAX_SOCKET_PATH
    if too_long or (user is not None and not _traversable_by(base, user)):
        base = "/tmp"
    path = tempfile.mkdtemp(prefix=prefix, dir=base)
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)
    return path


# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------


def _version_key(bindir: str) -> tuple:
    version = os.path.basename(os.path.dirname(bindir))
    return tuple(int(p) if p.isdigit() else -1 for p in version.split("."))


def find_postgres_bindir() -> str:
    """Directory holding initdb and postgres of one PostgreSQL installation.

    PATH first (resolving symlinks, so /usr/local/bin/initdb ->
    /usr/lib/postgresql/15/bin/initdb yields the real directory and
    initdb/postgres are guaranteed to be the same version), else the highest
    version under /usr/lib/postgresql/*/bin.
    """
    candidates = []
    initdb = shutil.which("initdb")
    if initdb:
        candidates += [os.path.dirname(os.path.realpath(initdb)), os.path.dirname(initdb)]
    candidates += sorted(glob.glob(_PG_LIB_GLOB), key=_version_key, reverse=True)
    for d in candidates:
        if all(os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "postgres")):
            return d
    raise ServerUnavailable(
        "PostgreSQL server binaries (initdb, postgres) not found on PATH nor in "
        f"{_PG_LIB_GLOB}; install them (Debian/Ubuntu: apt-get install postgresql) "
        f"or set {POSTGRES_URL_ENV} to a running server"
    )


# Appended to postgresql.conf. Small and loopback-only; everything else keeps
# PostgreSQL's defaults (fsync stays on: data written before kill() must
# survive the crash, which is what outage tests check).
_PG_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "100",
    "shared_buffers": "32MB",
    # Keep the server's own log lines short and useful in error messages.
    "log_line_prefix": "'%m [%p] '",
    "logging_collector": "off",
}


class PostgresServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1, owned by this process.

    Create with :meth:`start`. The cluster lives in a private temp dir
    (``basedir``; data in ``datadir``, log in ``log_path``, unix socket in
    ``basedir/sock``) that :meth:`stop` deletes.

    The postmaster runs as our own child process (``postgres -D ...``) rather
    than being daemonised by ``pg_ctl start``: we hold its real pid for
    kill(), we notice at once when it dies during startup, and we reap it.
    The last point matters: on these machines PID 1 does not reap orphans,
    so a pg_ctl-started postmaster that was SIGKILLed stays a zombie whose
    pid is still "alive", and the next start refuses with "lock file
    postmaster.pid already exists".
    """

    user = "postgres"
    host = LOOPBACK

    def __init__(self, *, port: int, basedir: str, bindir: str, run_as: Optional[pwd.struct_passwd]):
        # Use PostgresServer.start(); this only records the pieces.
        self.port = port
        self.basedir = basedir
        self.datadir = os.path.join(basedir, "data")
        self.socket_dir = os.path.join(basedir, "sock")
        self.log_path = os.path.join(basedir, "postgres.log")
        self.bindir = bindir
        self.run_as = run_as
        self._proc: Optional[subprocess.Popen] = None
        self._log: Optional[IO[bytes]] = None
        self._log_offset = 0

    # -- construction -------------------------------------------------------

    @classmethod
    def start(cls, port: Optional[int] = None, *, timeout: float = DEFAULT_START_TIMEOUT) -> "PostgresServer":
        """Create a new cluster with initdb and start it.

        ``port=None`` picks a free port (and retries with another one if it
        got taken before the server bound it). Raises ServerUnavailable,
        leaving nothing behind, if anything goes wrong.
        """
        bindir = find_postgres_bindir()
        run_as = _service_user()
        basedir = _make_basedir("liapstore-pg-", run_as)
        server = cls(port=port or free_port(), basedir=basedir, bindir=bindir, run_as=run_as)
        try:
            server._initdb()
            attempts = 1 if port else _PORT_ATTEMPTS
            for attempt in range(attempts):
                try:
                    server._launch(timeout)
                    break
                except ServerUnavailable:
                    if attempt + 1 < attempts and server._is_port_clash():
                        server.port = free_port()
                        continue
                    raise
        except BaseException:
            server._terminate(kill=True)
            _rmtree(basedir)
            raise
        return server

    def _run_user_desc(self) -> str:
        return f"as OS user {self.run_as.pw_name!r}" if self.run_as else "as the current user"

    def _initdb(self) -> None:
        initdb = os.path.join(self.bindir, "initdb")
        argv = [
            initdb,
            "-D", self.datadir,
            "-U", "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            # initdb's own fsync of the fresh files only makes it slower;
            # a throwaway cluster that loses power is gone anyway.
            "--no-sync",
        ]
        os.mkdir(self.socket_dir, 0o700)
        if self.run_as:
            os.chown(self.socket_dir, self.run_as.pw_uid, self.run_as.pw_gid)
        cmd, kwargs = _as_user(argv, self.run_as)
        try:
            result = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=self.basedir,  # the service user may not be able to read our cwd
                env=_child_env(),
                timeout=INITDB_TIMEOUT,
                **kwargs,
            )
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or b"").decode("utf-8", "replace")
            raise ServerUnavailable(
                f"initdb did not finish within {INITDB_TIMEOUT:.0f} s ({self._run_user_desc()}); "
                f"output:\n{_indent(out[-4000:])}"
            ) from None
        except OSError as exc:
            raise ServerUnavailable(f"could not run initdb ({' '.join(cmd)}): {exc}") from exc
        if result.returncode != 0:
            out = result.stdout.decode("utf-8", "replace").rstrip()
            raise ServerUnavailable(
                f"initdb failed with exit code {result.returncode} ({self._run_user_desc()}): "
                f"{' '.join(cmd)}\n{_indent(chr(10).join(out.splitlines()[-40:]))}"
            )
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as conf:
            conf.write("\n# liapstore test server (tests/support/servers.py)\n")
            for key, value in _PG_SETTINGS.items():
                conf.write(f"{key} = {value}\n")
            conf.write(f"unix_socket_directories = '{self.socket_dir}'\n")

    def _launch(self, timeout: float) -> None:
        postgres = os.path.join(self.bindir, "postgres")
        # The port goes on the command line, not into postgresql.conf, so a
        # retry on another port needs no rewrite.
        cmd, kwargs = _as_user([postgres, "-D", self.datadir, "-p", str(self.port)], self.run_as)
        self._log = open(self.log_path, "ab")
        self._log_offset = self._log.tell()
        try:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                cwd=self.basedir,
                env=_child_env(),
                # Own session: Ctrl-C in the terminal must not hit the server
                # (stop() shuts it down in order instead).
                start_new_session=True,
                **kwargs,
            )
        except OSError as exc:
            self._close_log()
            raise ServerUnavailable(f"could not run postgres ({' '.join(cmd)}): {exc}") from exc
        _LIVE.add(self)
        try:
            self.wait_ready(timeout)
        except ServerUnavailable:
            self._terminate(kill=True)
            raise

    # -- state --------------------------------------------------------------

    @property
    def url(self) -> str:
        """Admin URL: superuser ``postgres`` on database ``postgres``."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/postgres"

    @property
    def pid(self) -> Optional[int]:
        """The postmaster's pid while it runs, else None."""
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        return None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server log."""
        return _tail(self.log_path, lines)

    def _is_port_clash(self) -> bool:
        return _port_clash_since(self.log_path, self._log_offset)

    def _pid_file_status(self) -> Optional[str]:
        # postmaster.pid line 8 is the status the postmaster publishes
        # ("starting", "ready", "stopping"); pg_ctl -w waits on the same.
        try:
            with open(os.path.join(self.datadir, "postmaster.pid")) as f:
                lines = f.read().splitlines()
        except OSError:
            return None
        if len(lines) >= 8 and lines[0].strip() == str(self._proc.pid if self._proc else ""):
            return lines[7].strip()
        return None

    def wait_ready(self, timeout: float = DEFAULT_START_TIMEOUT) -> None:
        """Wait until the server accepts connections (after crash recovery,
        if any). Raises ServerUnavailable with the log tail if it exits or
        does not get ready within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is None:
                raise ServerUnavailable(f"PostgreSQL on port {self.port} is not running (stopped or never started)")
            code = self._proc.poll()
            if code is not None:
                raise ServerUnavailable(
                    f"PostgreSQL on port {self.port} exited with code {code} "
                    f"({self._run_user_desc()}, data dir {self.datadir}); log tail:\n{_indent(self.log_tail())}"
                )
            if self._pid_file_status() == "ready":
                return
            if time.monotonic() >= deadline:
                raise ServerUnavailable(
                    f"PostgreSQL on port {self.port} not ready after {timeout:.0f} s "
                    f"(data dir {self.datadir}); log tail:\n{_indent(self.log_tail())}"
                )
            time.sleep(0.05)

    # -- lifecycle ----------------------------------------------------------

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def _terminate(self, kill: bool = False, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the server process; keep the data directory."""
        proc = self._proc
        if proc is not None:
            if not kill and proc.poll() is None:
                # SIGINT = "fast" shutdown: roll back open transactions,
                # disconnect clients, checkpoint, wait for all children, exit.
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    kill = True
            if proc.poll() is None:
                self._kill_cluster(proc)
            self._proc = None
        self._close_log()
        _LIVE.discard(self)

    @staticmethod
    def _kill_cluster(proc: subprocess.Popen) -> None:
        """SIGKILL the postmaster *and* its children, like a host crash.

        Killing the postmaster alone is not enough: every backend and
        auxiliary process calls setsid() (so no killpg either) and lingers
        until it notices the postmaster is gone, and a new postmaster on the
        same data dir refuses to start while they still hold the old shared
        memory. The postmaster is SIGSTOPped first so that it cannot fork a
        child we would miss between listing its children and killing them.
        """
        _kill_quietly(proc.pid, signal.SIGSTOP)
        children = _children(proc.pid)
        _kill_quietly(proc.pid, signal.SIGKILL)
        for child in children:
            _kill_quietly(child, signal.SIGKILL)
        proc.wait()
        _wait_gone(children, 10.0)

    def stop(self) -> None:
        """Fast shutdown, then delete the temp dir. Safe to call twice."""
        self._terminate()
        _rmtree(self.basedir)

    def kill(self) -> None:
        """SIGKILL the postmaster and all its backends: a hard crash, for
        outage tests. Clients see their connections drop at once; data is
        kept, so :meth:`restart` runs crash recovery and brings back
        everything that was committed."""
        self._terminate(kill=True)  # no-op if it is not running

    def restart(self, timeout: float = DEFAULT_START_TIMEOUT) -> None:
        """Start the server again on the same port and data dir (fast
        shutdown first if it is running) and wait until it is ready."""
        if not os.path.isdir(self.datadir):
            raise ServerUnavailable(f"cannot restart PostgreSQL on port {self.port}: it was stopped and its data deleted")
        self._terminate()
        self._launch(timeout)

    def __enter__(self) -> "PostgresServer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "not running"
        return f"<PostgresServer {self.url} {state} {self.datadir}>"


# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------


def find_redis_server() -> str:
    """Path of the redis-server binary."""
    # sbin dirs are not on every PATH but are where some distributions put it.
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    found = shutil.which("redis-server", path=path)
    if not found:
        raise ServerUnavailable(
            "redis-server not found on PATH; install it (Debian/Ubuntu: "
            "apt-get install redis-server; elsewhere your OS's redis package) "
            f"or set {REDIS_URL_ENV} to a running server"
        )
    return found


def _redis_ping(port: int, timeout: float = 1.0) -> bool:
    """Raw RESP PING: no client library needed to know the server is up."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A throwaway redis-server on 127.0.0.1 that keeps nothing on disk.

    Create with :meth:`start`. It runs as our child (``--daemonize no``) in a
    private temp dir (``basedir``, log in ``log_path``) that :meth:`stop`
    deletes. Having no persistence, a :meth:`restart` after :meth:`kill`
    comes back empty.
    """

    host = LOOPBACK

    def __init__(self, *, port: int, basedir: str, binary: str):
        # Use RedisServer.start(); this only records the pieces.
        self.port = port
        self.basedir = basedir
        self.log_path = os.path.join(basedir, "redis.log")
        self.binary = binary
        self._proc: Optional[subprocess.Popen] = None
        self._log: Optional[IO[bytes]] = None
        self._log_offset = 0

    @classmethod
    def start(cls, port: Optional[int] = None, *, timeout: float = DEFAULT_START_TIMEOUT) -> "RedisServer":
        """Start a new redis-server. ``port=None`` picks a free port.
        Raises ServerUnavailable, leaving nothing behind, on failure."""
        binary = find_redis_server()
        basedir = _make_basedir("liapstore-redis-", None)
        server = cls(port=port or free_port(), basedir=basedir, binary=binary)
        try:
            attempts = 1 if port else _PORT_ATTEMPTS
            for attempt in range(attempts):
                try:
                    server._launch(timeout)
                    break
                except ServerUnavailable:
                    if attempt + 1 < attempts and _port_clash_since(server.log_path, server._log_offset):
                        server.port = free_port()
                        continue
                    raise
        except BaseException:
            server._terminate(kill=True)
            _rmtree(basedir)
            raise
        return server

    def _launch(self, timeout: float) -> None:
        argv = [
            self.binary,
            "--port", str(self.port),
            "--bind", LOOPBACK,
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--dir", self.basedir,
            "--logfile", "",  # "" = stdout, which goes to log_path
        ]
        self._log = open(self.log_path, "ab")
        self._log_offset = self._log.tell()
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                cwd=self.basedir,
                env=_child_env(),
                start_new_session=True,  # Ctrl-C in the terminal must not hit it
            )
        except OSError as exc:
            self._close_log()
            raise ServerUnavailable(f"could not run redis-server ({self.binary}): {exc}") from exc
        _LIVE.add(self)
        try:
            self.wait_ready(timeout)
        except ServerUnavailable:
            self._terminate(kill=True)
            raise

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def pid(self) -> Optional[int]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        return None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_path, lines)

    def wait_ready(self, timeout: float = DEFAULT_START_TIMEOUT) -> None:
        """Wait until the server answers PING; ServerUnavailable (with the
        log tail) if it exits or does not answer within ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is None:
                raise ServerUnavailable(f"redis-server on port {self.port} is not running (stopped or never started)")
            code = self._proc.poll()
            if code is not None:
                raise ServerUnavailable(
                    f"redis-server on port {self.port} exited with code {code}; "
                    f"log tail:\n{_indent(self.log_tail())}"
                )
            if _redis_ping(self.port):
                return
            if time.monotonic() >= deadline:
                raise ServerUnavailable(
                    f"redis-server on port {self.port} did not answer PING within {timeout:.0f} s; "
                    f"log tail:\n{_indent(self.log_tail())}"
                )
            time.sleep(0.05)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def _terminate(self, kill: bool = False, timeout: float = STOP_TIMEOUT) -> None:
        proc = self._proc
        if proc is not None:
            if not kill and proc.poll() is None:
                proc.terminate()  # SIGTERM: redis shuts down (saves nothing)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    kill = True
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            self._proc = None
        self._close_log()
        _LIVE.discard(self)

    def stop(self) -> None:
        """Shut down and delete the temp dir. Safe to call twice."""
        self._terminate()
        _rmtree(self.basedir)

    def kill(self) -> None:
        """SIGKILL the server (outage tests); clients' connections drop."""
        self._terminate(kill=True)  # no-op if it is not running

    def restart(self, timeout: float = DEFAULT_START_TIMEOUT) -> None:
        """Start again on the same port (stopping first if running); the
        new server is empty."""
        if not os.path.isdir(self.basedir):
            raise ServerUnavailable(f"cannot restart redis-server on port {self.port}: it was stopped")
        self._terminate()
        self._launch(timeout)

    def __enter__(self) -> "RedisServer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "not running"
        return f"<RedisServer {self.url} {state}>"


# ---------------------------------------------------------------------------
# Finding a server: environment first, else a private one
# ---------------------------------------------------------------------------


def _env_url(name: str) -> Optional[str]:
    # An empty value counts as unset, so "VAR= pytest" turns it off.
    value = os.environ.get(name, "").strip()
    return value or None


def _scrub(message: str, url: str) -> str:
    """Hide the URL's secrets in ``message`` should a driver echo them."""
    return _redact(message, url)


def _import_psycopg():
    try:
        import psycopg
    except ImportError as exc:
        raise ServerUnavailable(
            "psycopg (3) is not installed; install it (pip install 'psycopg[binary]', "
            "or the package's 'postgres' extra)"
        ) from exc
    return psycopg


def check_postgres(url: str, timeout: int = 5) -> None:
    """Raise ServerUnavailable unless ``url`` accepts a connection and a query."""
    psycopg = _import_psycopg()
    try:
        # connect_timeout is whole seconds and libpq treats < 2 as 2.
        with psycopg.connect(url, connect_timeout=max(2, int(timeout)), autocommit=True) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
        raise ServerUnavailable(
            f"PostgreSQL at {hide_password(url)} does not answer: " + _scrub(f"{type(exc).__name__}: {exc}", url).strip()
        ) from None


def check_redis(url: str, timeout: float = 5.0) -> None:
    """Raise ServerUnavailable unless ``url`` answers PING."""
    try:
        import redis
    except ImportError as exc:
        raise ServerUnavailable(
            "redis-py is not installed; install it (pip install redis, or the package's 'redis' extra)"
        ) from exc
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001
        raise ServerUnavailable(
            f"Redis at {hide_password(url)} does not answer: " + _scrub(f"{type(exc).__name__}: {exc}", url).strip()
        ) from None


def find_or_start_postgres() -> Tuple[str, Optional[PostgresServer]]:
    """``(admin_url, server_or_None)``.

    If LIAPSTORE_TEST_POSTGRES_URL is set, it must answer (else
    ServerUnavailable naming it, password hidden) and is returned with None.
    Otherwise a private PostgresServer is started; the caller must stop() it.
    """
    url = _env_url(POSTGRES_URL_ENV)
    if url:
        try:
            check_postgres(url)
        except ServerUnavailable as exc:
            raise ServerUnavailable(f"{POSTGRES_URL_ENV} is set but unusable: {exc}") from None
        return url, None
    server = PostgresServer.start()
    return server.url, server


def find_or_start_redis() -> Tuple[str, Optional[RedisServer]]:
    """``(url, server_or_None)``, like find_or_start_postgres() but for
    LIAPSTORE_TEST_REDIS_URL / a private RedisServer."""
    url = _env_url(REDIS_URL_ENV)
    if url:
        try:
            check_redis(url)
        except ServerUnavailable as exc:
            raise ServerUnavailable(f"{REDIS_URL_ENV} is set but unusable: {exc}") from None
        return url, None
    server = RedisServer.start()
    return server.url, server


# ---------------------------------------------------------------------------
# Databases
# ---------------------------------------------------------------------------


def _admin_connection(admin_url: str):
    psycopg = _import_psycopg()
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    return psycopg.connect(admin_url, autocommit=True, connect_timeout=10)


def create_database(admin_url: str, name: str, template: Optional[str] = None) -> str:
    """Create database ``name`` (optionally as a copy of ``template``) and
    return its URL.

    Copying a template is PostgreSQL's file-level clone, much faster than
    running migrations per test. PostgreSQL refuses while anyone else is
    connected to the template (it waits up to 5 s for sessions that are just
    closing): close every connection to it first, and do not use the
    template as ``admin_url``'s database. If it is still busy, the error
    lists who is connected.
    """
    psycopg = _import_psycopg()
    from psycopg import errors, sql

    stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with _admin_connection(admin_url) as conn:
        try:
            conn.execute(stmt)
        except errors.ObjectInUse as exc:
            sessions = conn.execute(
                "SELECT pid, usename, application_name, client_addr, state, left(query, 80)"
                " FROM pg_stat_activity WHERE datname = %s",
                [template],
            ).fetchall()
            listing = "\n".join(f"    {row}" for row in sessions) or "    (none left by now)"
            raise RuntimeError(
                f"cannot create database {name!r} from template {template!r} on "
                f"{hide_password(admin_url)}: the template has other connections "
                f"(close them before cloning):\n{listing}"
            ) from exc
        except psycopg.Error as exc:
            raise RuntimeError(
                f"cannot create database {name!r}"
                + (f" from template {template!r}" if template else "")
                + f" on {hide_password(admin_url)}: {exc}"
            ) from exc
    return database_url(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name`` if it exists, disconnecting its clients
    (WITH (FORCE), PostgreSQL 13+)."""
    from psycopg import sql

    with _admin_connection(admin_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
