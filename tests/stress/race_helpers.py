"""The racers of tests/stress/test_racing_writers.py, for threads and processes alike.

Each task takes a Store, the racer's index ``me``, a barrier shared by every
racer and a queue for its outcomes; the same function runs in a thread (one
Store shared by all, as in a game server) or in a process of its own (its own
Store). Nothing here imports pytest: with the "spawn" start method a child
process imports this module by name, and the test asserts on what the racers
put in the queue.

An outcome is what the call returned (a version, an id) or, for a failure,
``"conflict"`` for liapstore's Conflict and ``"<module.Class>: message"`` for
anything else, which every test treats as a failure: a raw driver error,
"database is locked", a deadlock reported as StorageUnavailable.
"""
import json
import traceback

import liapstore
from liapstore import Conflict
from liapstore.game import bots, rules

# Each racer waits at most this long for the others at a barrier; a racer
# that hangs (a lock never released) breaks the barrier instead of the run.
BARRIER_TIMEOUT = 60.0

RANDOM_TABLE = ("random",) * 4


def canonical(action):
    return json.dumps(action, sort_keys=True, separators=(",", ":"))


def failure(e):
    """How an unexpected exception shows in an outcome (and in the assertion message)."""
    return f"{type(e).__module__}.{type(e).__name__}: {e}"


def candidates(state, step, n=4):
    """Up to ``n`` distinct legal next actions, in a fixed order.

    Every racer computes the same list from the same stored state; racer
    ``me`` sends ``candidates[me % len]``, so several racers send each
    candidate: one of them writes it, the others sending it get the
    idempotent no-op, and the racers sending another candidate get Conflict.
    """
    found = {}
    for j in range(n):
        action = bots.next_action(state, f"race:{j}", step, bots=RANDOM_TABLE)
        found.setdefault(canonical(action), action)
    return [found[key] for key in sorted(found)]


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except Conflict:
        return "conflict"
    except Exception as e:  # noqa: BLE001 - reported, and failed on, by the test
        return failure(e)


# -- the tasks ------------------------------------------------------------------------


def same_game(store, me, barrier, out, game_id):
    """Every racer records the same game's next action at every step."""
    while True:
        barrier.wait()  # everyone is done with the previous step
        saved = store.load_game(game_id)
        if rules.expected(saved.state).kind == "none":
            return
        step = saved.game.version + 1
        options = candidates(saved.state, step)
        action = options[me % len(options)]
        barrier.wait()  # everyone has its action ready: go
        result = _call(lambda: store.record_action(game_id, step, action).version)
        out.put(("step", me, step, canonical(action), result))


def start_games(store, me, barrier, out, room_ids, players, imported_state):
    """Start (even racers) or import (odd racers) a game in each of one's rooms, all at once."""
    for room_id in room_ids:
        barrier.wait()
        if me % 2 == 0 or imported_state is None:
            result = _call(lambda: str(store.start_game(room_id, players, winning_score=1,
                                                        max_rounds=1).id))
        else:
            state = rules.GameState.from_dict(imported_state)
            result = _call(lambda: str(store.import_game(room_id, players, state).id))
        out.put(("start", me, str(room_id), result))


def end_games(store, me, barrier, out, game_id, seq, action):
    """Record the last action of one's own game, all at once: games of the same
    players end together, each updating the same four players' statistics."""
    barrier.wait()
    result = _call(lambda: store.record_action(game_id, seq, action).finished)
    out.put(("end", me, str(game_id), result))


def create_players(store, me, barrier, out, names, prefix):
    """Create players at once: clashing usernames, clashing e-mails, and one
    get_or_create_player that every racer calls for the same name."""
    barrier.wait()
    name = f"{prefix}_{me % names}"
    out.put(("username", me, name, _call(lambda: str(store.create_player(name).id))))
    barrier.wait()
    email = f"{prefix}@example.com"
    out.put(("email", me, email, _call(
        lambda: str(store.create_player(f"{prefix}_mail_{me}", email=email).id))))
    barrier.wait()
    shared = f"{prefix}_shared"
    out.put(("get_or_create", me, shared,
             _call(lambda: str(store.get_or_create_player(shared).id))))


def abandon_or_record(store, me, barrier, out, rounds):
    """On each of the given games at once: even racers abandon it, odd racers
    record its next action (the same one)."""
    for game_id, seq, action in rounds:
        barrier.wait()
        if me % 2 == 0:
            result = _call(lambda: store.abandon_game(game_id) or "abandoned")
            out.put(("abandon", me, str(game_id), result))
        else:
            result = _call(lambda: store.record_action(game_id, seq, action).version)
            out.put(("record", me, str(game_id), result))


def first_connect(store, me, barrier, out, url):
    """Open the store at once, on a database never migrated: every racer
    migrates it or finds it migrated, then writes to it."""
    del store  # each racer opens its own, after the barrier
    barrier.wait()

    def connect_and_write():
        with liapstore.connect(url) as own:
            own.create_player(f"first_{me}")
            return list(own.schema_version())

    out.put(("connect", me, url, _call(connect_and_write)))


TASKS = {"same_game": same_game, "start_games": start_games, "end_games": end_games,
         "create_players": create_players, "first_connect": first_connect,
         "abandon_or_record": abandon_or_record}
#: Tasks whose racers open their own Store inside the race.
OWN_STORE = {"first_connect"}


def run_racer(task, store, me, barrier, out, args):
    """Run one racer; whatever happens, say "done" last so the test never waits forever."""
    try:
        TASKS[task](store, me, barrier, out, *args)
    except BaseException as e:  # noqa: BLE001 - a broken racer breaks the barrier, not the run
        barrier.abort()
        out.put(("crashed", me, failure(e), traceback.format_exc()))
    finally:
        out.put(("done", me))


def process_main(task, url, me, barrier, out, args):
    """Entry point of a racer process: its own Store on the shared database."""
    if task in OWN_STORE:
        run_racer(task, None, me, barrier, out, args)
        return
    try:
        store = liapstore.connect(url, migrate=False)
    except BaseException as e:  # noqa: BLE001
        barrier.abort()
        out.put(("crashed", me, failure(e), traceback.format_exc()))
        out.put(("done", me))
        return
    with store:
        run_racer(task, store, me, barrier, out, args)
