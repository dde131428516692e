"""What acting on a player's behalf costs (``store.acting_as``), beside the
same work done as the server, in one run.

On PostgreSQL the identity travels with each transaction's BEGIN (two
``set_config`` calls in the same pipeline) and, outside a transaction, in the
same pipeline as the statement: no round trip is added
(tests/postgres/test_postgres_rls.py counts them); what remains is the
server's work on two more statements per transaction and the policies'
checks. Elsewhere it is a ContextVar read and the store's checks.

Groups: ``security-record`` (a short game, one transaction per action,
recorded inside ``acting_as`` or not), ``security-read`` (200
``get_session`` calls, each a statement outside any transaction on
PostgreSQL) and, on PostgreSQL, ``security-role`` (the game recorded acting
as a player by the tables' owner, which no policy binds, and by an
application role granted by ``migrate --grant-to``, which the policies and
the profile trigger bind).
"""
import contextlib
import itertools

import pytest

import liapstore
from liapstore.game import bots
from support.approle import application_role

SEED = 7
SETTINGS = {"winning_score": 15, "max_rounds": 3}
ROUNDS = {"memory": 10, "sqlite": 8, "postgres": 8}
READS = 200
_codes = itertools.count()


@pytest.fixture(scope="module")
def short_game():
    return [action for _, _, action, _ in bots.play_game(SEED, **SETTINGS)]


def _who(store, mode, player_id):
    return store.acting_as(player_id, "192.0.2.1") if mode == "acting_as" else \
        contextlib.nullcontext()


@pytest.mark.parametrize("mode", ["server", "acting_as"])
def test_record_game_acting_as(benchmark, backend, store, short_game, mode, figures):
    players = [store.create_player(f"sec-{i}").id for i in range(4)]

    def new_game():
        room = store.create_room(f"SEC-{next(_codes)}", "benchmark")
        return (store.start_game(room.id, players, **SETTINGS).id,), {}

    def record(game_id):
        with _who(store, mode, players[0]):
            for seq, action in enumerate(short_game, 1):
                store.record_action(game_id, seq, action)

    benchmark.group = f"security-record-{backend}"
    benchmark.extra_info.update(backend=backend, mode=mode, actions=len(short_game))
    benchmark.pedantic(record, setup=new_game, rounds=ROUNDS[backend], warmup_rounds=1)
    if benchmark.stats is not None:
        per_action = benchmark.stats.stats.mean / len(short_game) * 1e6
        benchmark.extra_info["us_per_action"] = round(per_action, 1)
        figures(f"[bench security-record {backend} {mode}] {per_action:.0f} µs/action")
    # Every game's end wrote all four players' statistics, whoever it was recorded for.
    played = {store.get_player(p).games_played for p in players}
    assert len(played) == 1 and played.pop() >= 1


@pytest.mark.parametrize("mode", ["server", "acting_as"])
def test_read_acting_as(benchmark, backend, store, mode, figures):
    alice = store.create_player("alice")
    with store.acting_as(alice.id):
        session, token = store.create_session(alice.id)

    def read():
        with _who(store, mode, alice.id):
            for _ in range(READS):
                store.get_session(token)

    benchmark.group = f"security-read-{backend}"
    benchmark.extra_info.update(backend=backend, mode=mode, reads=READS)
    benchmark.pedantic(read, rounds=ROUNDS[backend], warmup_rounds=1)
    if benchmark.stats is not None:
        per_read = benchmark.stats.stats.mean / READS * 1e6
        benchmark.extra_info["us_per_read"] = round(per_read, 1)
        figures(f"[bench security-read {backend} {mode}] {per_read:.0f} µs/read")
    with store.acting_as(alice.id):
        assert store.get_session(token) == session


@pytest.mark.backends("postgres")
@pytest.mark.parametrize("role", ["owner", "application"])
def test_record_game_as_the_application_role(benchmark, backend, store, store_url, short_game,
                                             role, figures):
    with contextlib.ExitStack() as stack:
        url = store_url if role == "owner" else stack.enter_context(application_role(store_url))
        s = stack.enter_context(liapstore.connect(url, migrate=False))
        players = [s.create_player(f"role-{i}").id for i in range(4)]

        def new_game():
            room = s.create_room(f"ROLE-{next(_codes)}", "benchmark")
            return (s.start_game(room.id, players, **SETTINGS).id,), {}

        def record(game_id):
            with s.acting_as(players[0], "192.0.2.1"):
                for seq, action in enumerate(short_game, 1):
                    s.record_action(game_id, seq, action)

        benchmark.group = "security-role-postgres"
        benchmark.extra_info.update(role=role, actions=len(short_game))
        benchmark.pedantic(record, setup=new_game, rounds=ROUNDS[backend], warmup_rounds=1)
        if benchmark.stats is not None:
            per_action = benchmark.stats.stats.mean / len(short_game) * 1e6
            figures(f"[bench security-role postgres {role}] {per_action:.0f} µs/action")
        assert s.verify_stats() == []
