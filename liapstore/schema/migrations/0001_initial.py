"""The whole schema of DATABASE_SCHEMA.md (with the corrections in schema/README.md)."""
from liapstore.schema.sqlfiles import run_sql_file


def up(migrator, db):
    run_sql_file(db, "0001_initial.sql")
