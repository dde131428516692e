"""A version per game and a unique (game, sequence number) for the action log."""
from liapstore.schema.sqlfiles import run_sql_file


def up(migrator, db):
    run_sql_file(db, "0002_game_versions.sql")
