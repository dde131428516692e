"""The CHECK constraints of the SQL files accept exactly what
``liapstore/schema/constraints.py`` accepts (the copy the store validates
with and the memory backend enforces).

Each probe value is written into a real row through a raw connection, in a
transaction that is rolled back; the database's verdict (a CHECK violation,
told by SQLSTATE 23514 or SQLITE_CONSTRAINT_CHECK, or success) must be the
Python predicate's. A failed probe names the table, column and value.
"""
import re
import sqlite3

import psycopg
import pytest

from liapstore.schema.constraints import CHECKS
from liapstore.schema.fields import JsonField
from liapstore.schema.models import BY_TABLE
from liapstore.testing.support import start

pytestmark = pytest.mark.backends("sqlite", "postgres")

PROBES = {
    "players": ["abc", "ABC", "a_b-9", "___", "---", "a" * 50, "1234567890", "ab", "a", "",
                "a" * 51, "abc\n", "\nabc", "ab c", "abé", "ab.c", "ab$", "ｂob", "ıab", "ab+c",
                "ab/c", "a[b", "ab*", "ab?", "Abc^", "ab\\c"],
    "rooms": ["waiting", "playing", "finished", "abandoned", "WAITING", "waiting ", "", "unknown",
              "wait"],
    "games": ["NOT_STARTED", "PREPARATION", "DECLARATION", "TURN", "SCORING", "GAME_OVER",
              "turn", "", "OVER", "TURN\n"],
    "game_players": [-1, 0, 1, 2, 3, 4, 100, -(2 ** 31)],
    "friendships": ["pending", "accepted", "blocked", "PENDING", "pending ", "", "friends"],
}


class _Raw:
    """A raw driver connection to the test's database: updates one row in a
    transaction that is always rolled back, and tells a CHECK violation
    from success by the driver's error code (anything else is raised)."""

    def __init__(self, store, store_url):
        self.sqlite = store.dialect == "sqlite"
        if self.sqlite:
            self.conn = sqlite3.connect(store.path, isolation_level=None)
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.param = "?"
        else:
            self.conn = psycopg.connect(store_url, autocommit=True)
            self.param = "%s"

    def accepts(self, table, column, value, key, before=()):
        p = self.param
        where = " AND ".join(f'"{c}" = {p}' for c in key)
        self.conn.execute("BEGIN")
        try:
            for sql, params in before:
                self.conn.execute(sql.replace("?", p), params)
            self.conn.execute(f'UPDATE "{table}" SET "{column}" = {p} WHERE {where}',
                              (value, *key.values()))
            return True
        except (sqlite3.IntegrityError, psycopg.errors.IntegrityError, psycopg.errors.DataError) as e:
            code = e.sqlite_errorcode if self.sqlite else e.sqlstate
            # 22001: longer than its VARCHAR, which PostgreSQL checks before
            # the CHECK (that says the same).
            if code not in (getattr(sqlite3, "SQLITE_CONSTRAINT_CHECK", 275), "23514", "22001"):
                raise
            return False
        finally:
            self.conn.execute("ROLLBACK")

    def close(self):
        self.conn.close()


@pytest.fixture
def probe(store, store_url):
    """``probe(checks)``: every (table, column, value, verdict) on which the
    database disagrees with ``checks`` (a dict shaped like CHECKS)."""
    table = start(store)
    seat0 = table.players[0].id
    u = BY_TABLE["players"].id.db_value
    seat1 = table.players[1].id
    store.request_friend(seat0, seat1)
    keys = {"players": {"id": u(seat0)}, "rooms": {"id": u(table.room.id)},
            "games": {"id": u(table.game.id)},
            "game_players": {"game_id": u(table.game.id), "player_id": u(seat0)},
            "friendships": {"player_id": u(seat0), "friend_id": u(seat1)}}
    # Free every other seat first, so that the unique (game, position) never
    # answers in place of the CHECK.
    before = {"game_players": [("DELETE FROM game_players WHERE game_id = ? AND player_id <> ?",
                                (u(table.game.id), u(seat0)))]}
    store.close()
    raw = _Raw(store, store_url)

    def disagreements(checks):
        out = []
        for name, (column, allowed) in checks.items():
            for value in PROBES[name]:
                verdict = raw.accepts(name, column, value, keys[name], before.get(name, ()))
                if verdict != allowed(value):
                    out.append((name, column, value, "SQL accepts" if verdict else "SQL rejects"))
        return out

    yield disagreements
    raw.close()


def test_sql_checks_accept_what_constraints_py_accepts(probe):
    assert set(PROBES) == set(CHECKS)
    for name, (_, allowed) in CHECKS.items():
        # The probes cover both answers.
        assert {allowed(x) for x in PROBES[name]} == {True, False}, name
    assert probe(CHECKS) == []


def test_a_python_check_that_drifted_is_noticed(probe):
    drifted = dict(CHECKS)
    drifted["players"] = ("username", lambda x: bool(re.fullmatch(r"[a-zA-Z0-9_-]{2,50}", x)))
    drifted["rooms"] = ("status", lambda x: x in ("waiting", "playing", "finished"))
    drifted["game_players"] = ("position", lambda x: 0 <= x <= 4)
    assert probe(drifted) == [("players", "username", "ab", "SQL rejects"),
                              ("rooms", "status", "abandoned", "SQL accepts"),
                              ("game_players", "position", 4, "SQL rejects")]


def test_every_sql_check_has_its_python_copy(store):
    """No CHECK in the SQL that constraints.py lacks (SQLite's json_valid()
    CHECKs stand in for PostgreSQL's JSONB type and are counted apart)."""
    if store.dialect == "postgres":
        rows = store.db.execute_sql("""
            SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
            WHERE c.contype = 'c' AND c.conrelid::regclass::text = ANY(%s)""",
                                    (list(BY_TABLE),)).fetchall()
        assert set(rows) == {(t, column) for t, (column, _) in CHECKS.items()}
    else:
        for name, model in BY_TABLE.items():
            [(sql,)] = store.db.execute_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchall()
            json_columns = [f for f in model._meta.sorted_fields if isinstance(f, JsonField)]
            expected = len(json_columns) + (name in CHECKS)
            assert len(re.findall(r"\bCHECK\s*\(", sql)) == expected, name
            for f in json_columns:
                assert f"json_valid({f.column_name})" in sql, (name, f.column_name)
