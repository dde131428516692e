"""No plaintext e-mail address and no key anywhere the data goes: the raw
tables, the SQLite file, pg_dump's output, and a PostgreSQL server's
statement log (log_statement = all) and pg_stat_statements.

The PostgreSQL half starts a server of its own, configured as an operator
who wants everything logged would configure it, with the one setting the
README asks for: bind parameters are not written into the statement log
(log_parameter_max_length = 0), since keys and addresses travel only as bound
parameters, never in SQL text.
"""
import base64
import os
import shutil
import sqlite3
import subprocess
import time
from datetime import timedelta

import psycopg
import pytest

import liapstore
from liapstore import Conflict, keys
from liapstore.testing.support import update_own, expect
from support.servers import PostgresServer, create_database, database_url

ADDRESSES = ["Alice.Secret@Example.org", "bob.hidden+tag@mail.example", "carol@privé.example"]


def exercise(store, new_key):
    """Everything that touches addresses, keys and tokens; returns the
    plaintexts that must appear nowhere (addresses, tokens, every key)."""
    players = [store.create_player(f"user{i}", email=a) for i, a in enumerate(ADDRESSES)]
    expect(Conflict, store.create_player, "dup", email=ADDRESSES[0].upper())
    changed = "alice.changed@example.org"
    update_own(store, players[0].id, email=changed)
    assert store.get_player(players[0].id).email == changed
    assert store.get_player_by_email(ADDRESSES[1].upper()).id == players[1].id
    assert [p.email for p in store.list_players()] == [changed] + ADDRESSES[1:]
    tokens = [store.create_session(p.id, ttl=timedelta(seconds=1))[1] for p in players]
    time.sleep(0.05)
    for t in tokens:
        store.get_session(t)
    store.revoke_sessions(players[2].id)
    old_keys = list(store._keyring.master_keys)
    store.rewrap_player_keys(keys.Keyring(old_keys + [new_key]), new_key, batch_size=1)
    store._keyring = keys.Keyring([new_key] + old_keys, store._keyring.blind_index_key)
    data_keys = [store._keyring.unwrap(r["player_id"], r["wrapped_key"], r["key_version"])
                 for r in store._select("player_keys", [], ())]
    store._destroy_player_key(players[2].id)
    assert store.get_player(players[2].id).email is None
    secrets = ADDRESSES + [changed] + tokens
    for key in old_keys + [new_key, store._keyring.blind_index_key] + data_keys:
        secrets += [key, key.hex(), base64.urlsafe_b64encode(key).decode(),
                    base64.b64encode(key).decode()]
    return secrets


def forms(secret):
    """Every way a secret could show up in a byte haystack."""
    if isinstance(secret, bytes):
        return {secret}
    texts = {secret, secret.lower(), secret.upper(), secret.casefold()}
    return {t.encode() for t in texts} | {t.encode("utf-16-le") for t in texts}


def assert_nowhere(secrets, **haystacks):
    assert all(haystacks.values()), "a place to search is empty: the check would prove nothing"
    for place, data in haystacks.items():
        for secret in secrets:
            for form in forms(secret):
                assert form not in data, f"{secret!r} found in {place}"


@pytest.mark.backends("memory")
def test_memory_tables(store):
    secrets = exercise(store, keys.parse_key(keys.generate(), "new"))
    dump = repr({name: t.rows for name, t in store._tables.items()}).encode()
    assert_nowhere(secrets, tables=dump)


@pytest.mark.backends("sqlite")
def test_sqlite_file_bytes(store_url):
    with liapstore.connect(store_url) as store:
        secrets = exercise(store, keys.parse_key(keys.generate(), "new"))
        path = store.path
        before = b"".join(open(p, "rb").read() for p in (path, path + "-wal")
                          if os.path.exists(p))
    with sqlite3.connect(path) as raw:
        tables = repr([raw.execute(f"SELECT * FROM {t}").fetchall() for (t,) in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]).encode()
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        dump = "\n".join(raw.iterdump()).encode()
    assert_nowhere(secrets, tables=tables, file_and_wal=before, checkpointed=open(path, "rb").read(),
                   dump=dump)


@pytest.fixture(scope="module")
def logging_server():
    """A PostgreSQL server of this test's own, logging every statement and
    counting them in pg_stat_statements."""
    pg = PostgresServer.start()
    try:
        with open(os.path.join(pg.datadir, "postgresql.conf"), "a") as conf:
            conf.write("shared_preload_libraries = 'pg_stat_statements'\n"
                       "pg_stat_statements.track = all\n"
                       "log_statement = 'all'\n"
                       "log_min_error_statement = error\n"
                       "log_parameter_max_length = 0\n"
                       "log_parameter_max_length_on_error = 0\n")
        pg.restart()
        with psycopg.connect(pg.url, autocommit=True) as admin:
            admin.execute("CREATE EXTENSION pg_stat_statements")
        yield pg
    finally:
        pg.stop()


@pytest.mark.backends("postgres")
def test_postgres_log_statements_dump_and_tables(backend, logging_server):
    pg = logging_server
    url = create_database(pg.url, "secrets")
    with liapstore.connect(url) as store:
        secrets = exercise(store, keys.parse_key(keys.generate(), "new"))
    with psycopg.connect(url) as raw:
        tables = [t for (t,) in raw.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        rows = "\n".join(str(raw.execute(f'SELECT row_to_json(t)::text FROM "{t}" t').fetchall())
                         for t in tables).encode()
        # The audit trail, the sessions and the key store are among them, and not empty.
        for t in ("audit_log", "player_keys", "player_sessions"):
            assert raw.execute(f"SELECT count(*) FROM {t}").fetchone()[0] > 0, t
    with psycopg.connect(pg.url) as admin:
        statements = "\n".join(q for (q,) in admin.execute(
            "SELECT query FROM pg_stat_statements")).encode()
    pg_dump = shutil.which("pg_dump", path=pg.bindir) or shutil.which("pg_dump")
    dump = subprocess.run([pg_dump, "--dbname", database_url(pg.url, "secrets")],
                          check=True, capture_output=True).stdout
    with open(pg.log_path, "rb") as f:
        log = f.read()
    # The log and the statistics did see the statements that carry the secrets.
    for seen in (log, statements):
        assert b"pgp_sym_encrypt" in seen and b"pgp_sym_decrypt" in seen
    assert b"duplicate key value" in log and b"player_keys" in dump
    assert_nowhere(secrets, tables=rows, statements=statements, dump=dump, log=log)
