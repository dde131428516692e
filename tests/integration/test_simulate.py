"""liapstore simulate: the same seed plays the same games, and an interrupted
simulation is finished by the next run exactly as it would have been played."""
import liapstore
from liapstore.simulate import simulate

SETTINGS = {"winning_score": 8, "max_rounds": 2}


def _games(store):
    """Every game in the store, oldest first: (seat usernames, action log,
    totals, phase); ids differ from store to store, so none are compared."""
    out = []
    for game in store.list_games(limit=1000):
        seats = [store.get_player(s.player_id).username for s in store.get_seats(game.id)]
        log = [(a.sequence_number, a.action_data) for a in store.list_actions(game.id, limit=1000)]
        totals = game.final_scores and game.final_scores["totals"]
        out.append((seats, log, totals, game.current_phase))
    return out


def test_the_same_seed_plays_the_same_games():
    with liapstore.connect("memory://") as a, liapstore.connect("memory://") as b, \
            liapstore.connect("memory://") as c:
        simulate(a, 4, seed=7, **SETTINGS)
        simulate(b, 4, seed=7, **SETTINGS)
        simulate(c, 4, seed=8, **SETTINGS)
        games = _games(a)
        assert len(games) == 4 and all(phase == "GAME_OVER" for *_, phase in games)
        assert games == _games(b)
        assert games != _games(c)
        # Within a run, games differ from one another.
        assert len({str(log) for _, log, *_ in games}) == 4


def test_an_interrupted_simulation_is_finished_as_it_would_have_been_played():
    class Interrupted(Exception):
        pass

    count = 0

    def interrupt_at_action_40():
        nonlocal count
        count += 1
        if count == 40:
            raise Interrupted()

    with liapstore.connect("memory://") as whole, liapstore.connect("memory://") as broken:
        simulate(whole, 3, seed=7, **SETTINGS)
        try:
            simulate(broken, 3, seed=7, on_action=interrupt_at_action_40, **SETTINGS)
        except Interrupted:
            pass
        [saved] = broken.unfinished_games()
        summary = simulate(broken, 0, seed=7, **SETTINGS)
        assert summary.resumed == 1 and broken.unfinished_games() == []
        # The games the interrupted run got to, each exactly as in the whole run.
        finished = _games(broken)
        assert finished == _games(whole)[:len(finished)]
        assert saved.game.id in [g.id for g in broken.list_games(limit=1000)]


def test_the_cli_seed_reproduces_the_games(tmp_path):
    from click.testing import CliRunner
    from liapstore.cli import main
    urls = [f"sqlite:///{tmp_path / name}" for name in ("one.db", "two.db")]
    for url in urls:
        result = CliRunner().invoke(main, ["simulate", "--url", url, "--games", "2", "--seed", "7",
                                           "--winning-score", "8", "--max-rounds", "2"])
        assert result.exit_code == 0, result.output
    with liapstore.connect(urls[0]) as one, liapstore.connect(urls[1]) as two:
        assert len(_games(one)) == 2 and _games(one) == _games(two)
