"""Corruptions written into the SQLite file with the sqlite3 module, behind
the Store's back: ``verify_game`` must report each kind (see
tests/contract/corruption.py)."""
import json
import sqlite3

import pytest

from liapstore.schema import models
from support.corruption import check_each, finished_game_corruptions, unfinished_game_corruptions

pytestmark = pytest.mark.backends("sqlite")


def _value(table, column, value):
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return models.BY_TABLE[table]._meta.columns[column].db_value(value)


def _key(table, row_id):
    if table == "game_players":
        return "game_id = ? AND player_id = ?", [_value(table, "game_id", row_id[0]),
                                                   _value(table, "player_id", row_id[1])]
    return "id = ?", [_value(table, "id", row_id)]


def raw_access(conn):
    def write(table, row_id, changes):
        columns = list(changes)
        values = [_value(table, c, changes[c]) for c in columns]
        if row_id is None:
            conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) "
                         f"VALUES ({', '.join('?' * len(columns))})", values)
            return
        where, key = _key(table, row_id)
        sets = ", ".join(f'"{c}" = ?' for c in columns)
        assert conn.execute(f"UPDATE {table} SET {sets} WHERE {where}", values + key).rowcount == 1

    def remove(table, row_id):
        where, key = _key(table, row_id)
        assert conn.execute(f"DELETE FROM {table} WHERE {where}", key).rowcount == 1

    return write, remove


@pytest.mark.parametrize("corruptions", [finished_game_corruptions, unfinished_game_corruptions])
def test_each_corruption_is_detected(store, store_url, corruptions):
    game, originals, cases = corruptions(store)
    conn = sqlite3.connect(store_url[len("sqlite:///"):], isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        check_each(store, game, originals, cases, *raw_access(conn))
    finally:
        conn.close()
