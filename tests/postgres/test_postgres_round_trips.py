"""Round trips to the PostgreSQL server, counted in the protocol itself.

libpq traces every protocol message of a connection (PQtrace, which
psycopg exposes as ``pgconn.trace``); each round trip ends with the server's
ReadyForQuery, so counting those counts the round trips. The store runs with
a pool of one connection, so that connection carries every statement.

Recording an action costs two: BEGIN travels with the one statement that
writes every row of the action (psycopg's pipeline mode), then COMMIT.
A count is deterministic, so these are plain tests.
"""
import tempfile
import time
import uuid
from contextlib import contextmanager

import psycopg
import pytest

import liapstore
from liapstore.game import bots, rules
from liapstore.games import StaleVersion

pytestmark = pytest.mark.backends("postgres")

SEED = 20240611
# Round trips per recorded action: its one statement (BEGIN travelling with it)
# and COMMIT. Raw psycopg writing the same rows takes 5.67: BEGIN, the versioned
# UPDATE of the game, the action's INSERT, the seats' UPDATEs, COMMIT (see
# docs/benchmarks.md).
MAX_PER_ACTION = 2
TABLES = ("players", "rooms", "games", "game_players", "rounds", "turns", "player_actions",
          "player_achievements", "audit_log")


@pytest.fixture
def single(backend, store_url):
    """A store whose pool holds one connection, and that connection."""
    del backend
    with liapstore.connect(store_url + "?max_connections=1") as store:
        with store.db.connection_context():
            conn = store.db.connection()
        yield store, conn
        with store.db.connection_context():  # still the same one: nothing escaped the count
            assert store.db.connection() is conn


@contextmanager
def counting(conn):
    """Count the round trips made on ``conn`` inside the block: ``box[0]``."""
    box = [None]
    with tempfile.TemporaryFile() as log:
        conn.pgconn.trace(log.fileno())
        conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            yield box
        finally:
            conn.pgconn.untrace()  # flushes libpq's buffer into the file
            log.seek(0)
            # Lines read "B<TAB>length<TAB>ReadyForQuery<TAB>status" (B: from the server).
            box[0] = sum(1 for line in log if line.split(b"\t")[:3:2] == [b"B", b"ReadyForQuery"])


def _start(store, name="rt"):
    players = [store.create_player(f"{name}-{i}").id for i in range(4)]
    room = store.create_room(f"{name.upper()}-{uuid.uuid4().hex[:6]}", "round trips")
    return players, store.start_game(room.id, players)


def test_the_trace_counts_round_trips(single):
    """The counter itself: one simple query is one round trip, a
    three-statement pipeline is one."""
    _, conn = single
    with counting(conn) as n:
        conn.execute("SELECT 1", prepare=False)
    assert n[0] == 1
    with counting(conn) as n:
        with conn.pipeline():
            for i in range(3):
                conn.execute("SELECT %s::int", (i,), prepare=False)
    assert n[0] == 1


def test_each_action_takes_two_round_trips(single, figures):
    """A whole game, deals, turns, rounds and the end with the players'
    statistics: every action two round trips, never more. The last action
    also counts the players' achievements (reads and writes of its own)."""
    store, conn = single
    players, game = _start(store)
    actions = [a for _, _, a, _ in bots.play_game(SEED)]
    per_action = []
    for seq, action in enumerate(actions, 1):
        with counting(conn) as n:
            store.record_action(game.id, seq, action)
        per_action.append(n[0])
    assert store.get_game(game.id).current_phase == "GAME_OVER"
    assert store.verify_game(game.id) == []
    *playing, ending = per_action
    assert max(playing) <= MAX_PER_ACTION, [
        (seq, n) for seq, n in enumerate(playing, 1) if n > MAX_PER_ACTION]
    assert sum(playing) == MAX_PER_ACTION * len(playing)
    # The game's end: the action's statement and COMMIT, plus the players'
    # progress: per-period statistics and rank counts (a few reads and
    # upserts), then two reads (the rounds, the achievement rows) and one
    # write per achievement that progressed. Rare (once per game), and
    # written row by row; this bound only catches a regression.
    awarded = sum(len([1 for code, n in store.achievement_progress(p).items() if n])
                  for p in players)
    assert MAX_PER_ACTION + 2 + awarded <= ending <= MAX_PER_ACTION + 2 + awarded + 12
    assert store.get_player(players[0]).games_played == 1
    figures(f"[round trips postgres] {sum(per_action)} round trips for {len(actions)} actions "
            f"({sum(per_action) / len(actions):.3f} per action; {ending} for the game-ending "
            f"action, achievements included)")


def test_writes_inside_a_transaction_take_one_round_trip_each(single):
    """In a caller's transaction each write runs in a savepoint of its own
    (so that a caller can catch its Conflict and go on): BEGIN and the
    savepoint travel with the write's statement, the RELEASE with the next
    one, and COMMIT comes once at the end: one round trip per write, not
    three."""
    store, conn = single
    with counting(conn) as n:
        with store.transaction():
            for i in range(5):
                store.create_player(f"batch-{i}")
    assert n[0] == 5 + 1
    assert len(store.list_players()) == 5


def test_a_transaction_with_no_statement_sends_nothing(single):
    store, conn = single
    with counting(conn) as n:
        with store.transaction():
            pass
    assert n[0] == 0
    with counting(conn) as n:
        with pytest.raises(ZeroDivisionError):
            with store.transaction():
                1 / 0
    assert n[0] == 0
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_a_failing_first_statement_rolls_the_transaction_back(single):
    """The first statement travels with BEGIN; when it fails, the error is
    the usual liapstore error and nothing of the transaction stays."""
    store, conn = single
    store.create_player("taken")
    with pytest.raises(liapstore.Conflict):
        with store.transaction():
            store.create_player("taken")  # the first statement: a duplicate
    with pytest.raises(liapstore.Conflict):
        with store.transaction():
            store.create_player("fresh")
            store.create_player("taken")
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert [p.username for p in store.list_players()] == ["taken"]


def test_nested_blocks_roll_back_only_their_own_writes(single):
    """Savepoints whose SAVEPOINT travelled with a later statement, or was
    never sent at all, still roll back exactly their own block."""
    store, conn = single
    with store.transaction():
        store.create_player("outer")
        with pytest.raises(ZeroDivisionError):
            with store.transaction():
                store.create_player("inner")
                1 / 0
        with pytest.raises(ZeroDivisionError):
            with store.transaction():
                1 / 0  # nothing written: the savepoint is never sent
        with store.transaction():
            with store.transaction():
                store.create_player("nested")
        with pytest.raises(liapstore.Conflict):
            store.create_player("outer")
        store.create_player("after")
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert sorted(p.username for p in store.list_players()) == ["after", "nested", "outer"]


def _rows(store_url):
    with psycopg.connect(store_url, autocommit=True) as conn:
        return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in TABLES}


def _stale_step(store, game, seq, action):
    """The Step of ``action`` as the store computes it for the game as it is now."""
    current = store._load(game.id)
    return store._step(current, seq, action, rules.apply(current.state, action))


@pytest.mark.parametrize("where", ["mid-game", "end"])
def test_a_stale_version_writes_nothing(single, store_url, where):
    """The version-checked UPDATE gates every write of the statement: a Step
    computed from a version another writer has since moved past raises
    StaleVersion and leaves every table as it was, whatever the Step holds
    (a turn's result, the game's end with the players' statistics)."""
    store, _ = single
    _, game = _start(store)
    actions = [a for _, _, a, _ in bots.play_game(SEED)]
    last = len(actions) if where == "end" else next(
        i for i, (_, _, _, o) in enumerate(bots.play_game(SEED), 1)
        if any(e["type"] == "turn_result" for e in o.events))
    for seq, action in enumerate(actions[:last - 1], 1):
        store.record_action(game.id, seq, action)
    step = _stale_step(store, game, last, actions[last - 1])
    assert step.turn_inserts or step.player_stats
    # Another process records the same action first.
    with liapstore.connect(store_url) as other:
        other.record_action(game.id, last, actions[last - 1])
    before = _rows(store_url)
    with pytest.raises(StaleVersion):
        with store.transaction():
            store._write_step(step)
    assert _rows(store_url) == before


def test_an_abandoned_game_takes_no_write(single, store_url):
    """A game whose ended_at is set refuses the write, even at its version."""
    store, _ = single
    _, game = _start(store)
    actions = [a for _, _, a, _ in bots.play_game(SEED)]
    for seq, action in enumerate(actions[:3], 1):
        store.record_action(game.id, seq, action)
    step = _stale_step(store, game, 4, actions[3])
    store.abandon_game(game.id)
    before = _rows(store_url)
    with pytest.raises(StaleVersion):
        with store.transaction():
            store._write_step(step)
    assert _rows(store_url) == before


def test_a_connection_the_server_dropped_is_not_handed_out(backend, store_url, postgres_admin_url):
    """The pool checks an idle connection without a round trip (its socket
    is readable only if the server spoke); a connection the server closed
    must still be replaced before use, not fail the next call."""
    del backend
    with liapstore.connect(store_url + "?max_connections=1") as store:
        _check_dropped_connection_is_replaced(store, postgres_admin_url)


def test_an_idle_connection_is_checked_without_a_round_trip(single):
    store, conn = single
    _, game = _start(store)
    with counting(conn) as n:
        store.get_game(game.id)
    assert n[0] == 1


def _check_dropped_connection_is_replaced(store, postgres_admin_url):
    _, game = _start(store)
    with store.db.connection_context():
        conn = store.db.connection()
    pid = conn.info.backend_pid
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
        deadline = time.monotonic() + 10
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                            (pid,)).fetchone()[0]:
            assert time.monotonic() < deadline, "the backend did not go away"
            time.sleep(0.01)
    assert store.get_game(game.id).id == game.id
    with store.db.connection_context():
        replacement = store.db.connection()
    assert replacement is not conn and replacement.info.backend_pid != pid
