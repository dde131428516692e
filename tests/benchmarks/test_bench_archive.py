"""Archiving throughput: ``store.archive`` of finished games to a directory,
beside a plain export of the same rows (SELECT, JSON, gzip, one file per
game, nothing deleted) in the same run.

Setup (untimed): ``simulate`` plays GAMES full games (to 50 points or 20
rounds). Each timed round archives every game; the next round's setup
restores them (untimed). The figures: actions archived per second, and the
space the rows take as JSON against the compressed objects.
"""
import gzip
import json
import time

import pytest

import liapstore
from liapstore.simulate import simulate

GAMES = 20


def _plain_export(store, target):
    """The baseline: the same rows out to gzip files, without checksums, pointers or deletes."""
    games = [g.id for g in store.list_games(limit=1000)]
    for game_id in games:
        actions = [a.__dict__ for a in store.list_actions(game_id)]
        turns = [t.__dict__ for t in store.list_turns(game_id)]
        data = json.dumps({"actions": actions, "turns": turns}, default=str).encode()
        (target / f"{game_id}.json.gz").write_bytes(gzip.compress(data, 6, mtime=0))
    return len(games)


@pytest.mark.backends("sqlite", "postgres")
@pytest.mark.parametrize("kind", ["archive", "plain_export"])
def test_archive_throughput(benchmark, store_url, tmp_path, kind, figures):
    setup_url = store_url + ("?synchronous=OFF" if store_url.startswith("sqlite") else "")
    with liapstore.connect(setup_url) as store:
        simulate(store, GAMES, seed=3)
    with liapstore.connect(store_url) as store:
        actions = store.status()["rows"]["player_actions"]
        target = tmp_path / "objects"
        target.mkdir()
        reports = []

        def archive():
            reports.append(store.archive(target.as_uri(), older_than=0, events=False))

        restored = []

        def restore():
            if store.status()["rows"]["archived_games"]:
                t0 = time.perf_counter()
                store.restore_archived()
                restored.append(time.perf_counter() - t0)
            return (), {}

        benchmark.group = f"archive {store.backend}"
        if kind == "archive":
            benchmark.pedantic(archive, setup=restore, rounds=3)
            assert all(r["games"] == GAMES and r["actions"] == actions for r in reports)
            assert all(store.verify_game(g.id) == [] for g in store.list_games(limit=1000))
        else:
            assert benchmark.pedantic(_plain_export, args=(store, target), rounds=3) == GAMES
        if benchmark.stats is not None:
            mean = benchmark.stats.stats.mean
            line = f"[bench archive] {store.backend} {kind}: {GAMES} games, {actions} actions " \
                   f"in {mean * 1000:.0f} ms = {actions / mean:,.0f} actions/s"
            if reports:
                r = reports[-1]
                line += (f"; {r['raw_bytes']:,} bytes of JSON stored in {r['stored_bytes']:,} "
                         f"({r['raw_bytes'] / r['stored_bytes']:.1f}x)")
            if restored:
                line += f"; restore {actions / (sum(restored) / len(restored)):,.0f} actions/s"
            figures(line)
