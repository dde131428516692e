"""What the metrics cost: one full game recorded with metrics off (the
recorder prometheus_client's absence leaves) and with them on (a
prometheus_client registry), side by side per backend (group
"metrics-<backend>"). Every record_action is one operation: a counter, a
histogram observation and, after the commit, the actions counter."""
import itertools

import pytest
from prometheus_client import CollectorRegistry

from liapstore import metrics
from liapstore.game import bots

_codes = itertools.count()


@pytest.fixture(scope="module")
def actions():
    return [action for _, _, action, _ in bots.play_game(20240611)]


@pytest.mark.parametrize("recording", ["off", "prometheus"])
def test_record_a_game_with_and_without_metrics(benchmark, backend, store, actions, recording,
                                                figures):
    before = metrics._recorder
    registry = CollectorRegistry()
    if recording == "off":
        metrics.disable()
    else:
        metrics.use(registry)
    players = [store.create_player(f"metrics-{i}").id for i in range(4)]

    def new_game():
        room = store.create_room(f"METRICS-{next(_codes)}", "benchmark")
        return (store.start_game(room.id, players).id,), {}

    def record(game_id):
        for seq, action in enumerate(actions, 1):
            store.record_action(game_id, seq, action)

    try:
        benchmark.group = f"metrics-{backend}"
        benchmark.pedantic(record, setup=new_game, rounds=3, warmup_rounds=1)
    finally:
        metrics._recorder = before
    if recording == "prometheus":
        recorded = registry.get_sample_value("liapstore_actions_recorded_total",
                                             {"backend": store.backend})
        assert recorded == len(actions) * (1 if benchmark.stats is None else 4)
    if benchmark.stats is not None:
        rate = len(actions) / benchmark.stats.stats.mean
        figures(f"[bench metrics {backend}] metrics {recording}: {rate:.0f} actions/s")
