"""Friends (requests, friendships, blocks) and achievements with their progress."""
from liapstore.schema.sqlfiles import run_sql_file


def up(migrator, db):
    run_sql_file(db, "0004_friends_achievements.sql")
