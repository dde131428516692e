"""Corruptions written into the PostgreSQL database with a raw psycopg
connection, behind the Store's back: ``verify_game`` must report each kind
(see tests/contract/corruption.py)."""
import psycopg
import pytest
from psycopg.types.json import Jsonb

from support.corruption import check_each, finished_game_corruptions, unfinished_game_corruptions

pytestmark = pytest.mark.backends("postgres")


def _value(value):
    return Jsonb(value) if isinstance(value, (dict, list)) else value


def _key(table, row_id):
    if table == "game_players":
        return "game_id = %s AND player_id = %s", list(row_id)
    return "id = %s", [row_id]


def raw_access(conn):
    def write(table, row_id, changes):
        columns = list(changes)
        values = [_value(changes[c]) for c in columns]
        if row_id is None:
            conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) "
                         f"VALUES ({', '.join(['%s'] * len(columns))})", values)
            return
        where, key = _key(table, row_id)
        sets = ", ".join(f'"{c}" = %s' for c in columns)
        assert conn.execute(f"UPDATE {table} SET {sets} WHERE {where}", values + key).rowcount == 1

    def remove(table, row_id):
        where, key = _key(table, row_id)
        assert conn.execute(f"DELETE FROM {table} WHERE {where}", key).rowcount == 1

    return write, remove


@pytest.mark.parametrize("corruptions", [finished_game_corruptions, unfinished_game_corruptions])
def test_each_corruption_is_detected(store, store_url, corruptions):
    game, originals, cases = corruptions(store)
    with psycopg.connect(store_url, autocommit=True) as conn:
        check_each(store, game, originals, cases, *raw_access(conn))
