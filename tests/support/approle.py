"""A PostgreSQL application role for a test: a fresh LOGIN role that does not
own the tables, granted what the application needs by the real command,
``liapstore migrate --grant-to``, run in a process of its own."""
import os
import subprocess
import sys
import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

import liapstore


def cli(*args):
    """Run the liapstore command in a process of its own; its output (exit 0 asserted)."""
    # The same liapstore as the caller's, whatever the working directory.
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(liapstore.__file__))}
    done = subprocess.run([sys.executable, "-c", "from liapstore.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def as_user(url, user):
    """``url`` with its user replaced (the test servers trust local connections)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.hostname}:{parts.port or 5432}"))


@contextmanager
def application_role(owner_url):
    """Yield the URL of a new role granted by ``migrate --grant-to`` on the
    database of ``owner_url``; the role and its grants are dropped afterwards."""
    role = f"liapstore_app_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        assert f"granted role {role}" in cli("migrate", "--url", owner_url, "--grant-to", role)
        yield as_user(owner_url, role)
    finally:
        with psycopg.connect(owner_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
