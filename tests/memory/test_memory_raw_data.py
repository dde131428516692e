"""The memory backend's tables, written behind the Store's back: the memory
counterpart of tests/sqlite's and tests/postgres's raw-connection tests.

A corruption written straight into the tables must be reported by
``verify_game``, as on the SQL backends.
"""
import copy

import pytest

from support.corruption import check_each, finished_game_corruptions, unfinished_game_corruptions

pytestmark = pytest.mark.backends("memory")


def _key(table, row_id):
    return row_id if table == "game_players" else (row_id,)


def raw_access(store):
    """``write`` and ``remove`` functions on the store's tables (see contract/corruption.py)."""
    tables = store._tables

    def write(table, row_id, changes):
        t = tables[table]
        if row_id is None:
            row = copy.deepcopy(changes)
            t.put(_key(table, row["id"]), row)
            return
        key = _key(table, row_id)
        assert key in t.rows, (table, row_id)
        t.put(key, {**t.rows[key], **copy.deepcopy(changes)})

    def remove(table, row_id):
        assert tables[table].remove(_key(table, row_id)) is not None

    return write, remove


def test_each_corruption_of_a_finished_game_is_detected(store):
    game, originals, cases = finished_game_corruptions(store)
    check_each(store, game, originals, cases, *raw_access(store))


def test_each_corruption_of_a_game_under_way_is_detected(store):
    game, originals, cases = unfinished_game_corruptions(store)
    check_each(store, game, originals, cases, *raw_access(store))
