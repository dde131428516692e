"""The copy's list of tables is the models' (MODELS), and nothing a migration
creates escapes it: a table in a migrated database that the models do not
name would be left behind by ``liapstore copy`` and by backups."""
import re
import sqlite3

import psycopg
import pytest

import liapstore
from liapstore.ops.tables import KEY_TABLES, TABLES
from liapstore.schema.models import MODELS

BOOKKEEPING = {"schema_migration"}


def sqlite_tables(path):
    """Tables of a SQLite file, without SQLite's own, the migrations' record,
    and full-text indexes with their shadow tables (derived data, rebuilt by
    the triggers as rows are loaded)."""
    with sqlite3.connect(path) as db:
        found = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    virtual = [n for n, sql in found if sql.upper().startswith("CREATE VIRTUAL TABLE")]
    return {n for n, _ in found
            if not n.startswith("sqlite_") and n not in BOOKKEEPING
            and not any(n == v or n.startswith(v + "_") for v in virtual)}


def postgres_tables(url):
    """Tables of the public schema, partitioned tables as one (their
    partitions are where the parent's rows live)."""
    with psycopg.connect(url) as db:
        found = db.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n "
                           "ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
                           "AND c.relkind IN ('r', 'p') AND NOT c.relispartition").fetchall()
    return {n for (n,) in found} - BOOKKEEPING


@pytest.fixture
def migrated(request, tmp_path, backend):
    """(url, function listing its tables) of a freshly migrated database."""
    def make():
        if backend == "sqlite":
            path = tmp_path / "tables.db"
            liapstore.connect(f"sqlite:///{path}").close()
            return f"sqlite:///{path}", lambda: sqlite_tables(path)
        url = request.getfixturevalue("new_postgres_url")()
        return url, lambda: postgres_tables(url)
    return make


@pytest.mark.backends("sqlite", "postgres")
def test_every_table_of_a_migrated_database_is_copied(migrated):
    url, tables = migrated()
    scratch = set(liapstore.urls.backend_class(url).scratch_tables)
    assert tables() - scratch == set(TABLES), "a migration made a table the models (MODELS) do not name"
    # The check notices a table nobody told the copy about.
    with liapstore.connect(url) as store, store.transaction():
        store.db.execute_sql("CREATE TABLE stray_table (id INTEGER PRIMARY KEY)")
    assert tables() - set(TABLES) - scratch == {"stray_table"}


def test_the_tables_are_the_models_in_foreign_key_order():
    assert TABLES == tuple(m._meta.table_name for m in MODELS)
    seen = set()
    for model in MODELS:
        for field in model._meta.refs:
            target = field.rel_model._meta.table_name
            assert target in seen or target == model._meta.table_name, \
                f"{model._meta.table_name} references {target}, which comes later"
        seen.add(model._meta.table_name)


def test_key_tables_are_named_honestly():
    # A table whose name says it holds keys is a key store: its rows go to
    # the key file, never into a snapshot (the models say which: key_store).
    keyish = {t for t in TABLES if re.search(r"(^|_)keys?$", t)}
    assert keyish <= KEY_TABLES, f"{keyish - KEY_TABLES}: set key_store = True on its model"
    assert KEY_TABLES == {"player_keys"}


def test_status_counts_the_same_tables():
    # store.TABLES is spelled out because `import liapstore` must not load
    # peewee (the models); it must still name every table the copy moves.
    from liapstore.store import TABLES as STATUS_TABLES
    assert STATUS_TABLES == TABLES
