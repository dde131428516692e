"""Erased players (anonymous placeholders) and pointers to archived game logs and events."""
from liapstore.schema.sqlfiles import run_sql_file


def up(migrator, db):
    run_sql_file(db, "0008_erasure_archive.sql")
