"""One behaviour on every backend: word search on room names without stemming
or stop words, and the same audit payload (JSON booleans, UTC timestamps,
whole rows on delete)."""
from liapstore.schema.sqlfiles import run_sql_file


def up(migrator, db):
    run_sql_file(db, "0003_one_behaviour.sql")
