"""Play bot games through a store: the engine of ``liapstore simulate``.

Game ``i`` of a run with seed ``S`` is a pure function of ``(S, i)``: its
seats and every bot decision are drawn from generators seeded with them, so
the same seed plays the same games, in any store. Each simulated game keeps
its seed in its room's ``game_settings``, so a simulation that was
interrupted (Ctrl-C, a crash, a kill) is continued from the store by the
next run, exactly as the bots would have played it.
"""
import random
import time
import uuid
from dataclasses import dataclass, field

from .game import bots, rules

BOT_POOL = 8


@dataclass
class Summary:
    games: int = 0
    resumed: int = 0
    rounds: int = 0
    actions: int = 0
    seconds: float = 0.0
    standings: list = field(default_factory=list)  # Player records, best first

    @property
    def actions_per_second(self):
        return self.actions / self.seconds if self.seconds else 0.0

    @property
    def games_per_second(self):
        return self.games / self.seconds if self.seconds else 0.0


def bot_players(store, count=BOT_POOL):
    """The simulation's bot players, created on first use."""
    return [store.get_or_create_player(f"bot_{i}", f"Bot {i}") for i in range(1, count + 1)]


def play_on(store, game, state, seed, on_action=None):
    """Record bot actions for ``game`` until it is over; return (game, actions recorded)."""
    count = 0
    while state.phase != "GAME_OVER":
        step = game.version + 1
        action = bots.next_action(state, seed, step)
        game = store.record_action(game.id, step, action)
        state = rules.apply(state, action).state
        count += 1
        if on_action:
            on_action()
    return game, count


def simulate(store, games, *, seed=0, winning_score=50, max_rounds=20, on_game=None,
             on_action=None):
    """Finish any interrupted simulated games, then play ``games`` new ones.

    ``on_game`` and ``on_action`` are called after each game and action (for
    progress bars). Returns a Summary.
    """
    summary, started = Summary(), time.perf_counter()
    pool = bot_players(store)
    for saved in store.unfinished_games():
        settings = store.get_room(saved.game.room_id).game_settings
        if "simulation_seed" not in settings:
            continue  # A real game: not ours to play.
        game, n = play_on(store, saved.game, saved.state, settings["simulation_seed"], on_action)
        summary.resumed += 1
        summary.actions += n
        summary.rounds += game.current_round
    for i in range(games):
        game_seed = f"{seed}:{i}"
        # Room codes must be unique in the store, and a second run with the
        # same seed plays the same games again: the code is the one random part.
        room = store.create_room(f"sim-{uuid.uuid4().hex[:12]}", f"Simulated game {i + 1}",
                                 game_settings={"simulation_seed": game_seed})
        seats = random.Random(f"{game_seed}:seats").sample(pool, 4)
        game = store.start_game(room.id, [p.id for p in seats], bots=range(4),
                                winning_score=winning_score, max_rounds=max_rounds)
        game, n = play_on(store, game, rules.new_game(winning_score, max_rounds), game_seed, on_action)
        summary.games += 1
        summary.actions += n
        summary.rounds += game.current_round
        if on_game:
            on_game()
    summary.seconds = time.perf_counter() - started
    summary.standings = sorted((store.get_player(p.id) for p in pool),
                               key=lambda p: (-p.games_won, -p.total_score, p.username))
    return summary
