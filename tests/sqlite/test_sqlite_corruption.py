"""Corruptions written into the SQLite file with the sqlite3 module, behind
the Store's back: ``verify_game`` must report each kind (see
tests/support/corruption.py)."""
import json
import sqlite3

import pytest

from liapstore.schema import models
from support.corruption import (check_each, finished_game_corruptions, raw_access,
                                unfinished_game_corruptions)

pytestmark = pytest.mark.backends("sqlite")


def _value(table, column, value):
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return models.BY_TABLE[table]._meta.columns[column].db_value(value)


@pytest.mark.parametrize("corruptions", [finished_game_corruptions, unfinished_game_corruptions])
def test_each_corruption_is_detected(store, store_url, corruptions):
    game, originals, cases = corruptions(store)
    conn = sqlite3.connect(store_url[len("sqlite:///"):], isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        check_each(store, game, originals, cases, *raw_access(conn, "?", _value))
    finally:
        conn.close()
