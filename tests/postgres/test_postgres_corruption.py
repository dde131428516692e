"""Corruptions written into the PostgreSQL database with a raw psycopg
connection, behind the Store's back: ``verify_game`` must report each kind
(see tests/support/corruption.py)."""
import psycopg
import pytest
from psycopg.types.json import Jsonb

from support.corruption import (check_each, finished_game_corruptions, raw_access,
                                unfinished_game_corruptions)

pytestmark = pytest.mark.backends("postgres")


def _value(table, column, value):
    return Jsonb(value) if isinstance(value, (dict, list)) else value


@pytest.mark.parametrize("corruptions", [finished_game_corruptions, unfinished_game_corruptions])
def test_each_corruption_is_detected(store, store_url, corruptions):
    game, originals, cases = corruptions(store)
    with psycopg.connect(store_url, autocommit=True) as conn:
        check_each(store, game, originals, cases, *raw_access(conn, "%s", _value))
