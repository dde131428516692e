"""Kill a server mid-game, start a new one, and carry on where it stopped.

    python examples/recover_after_crash.py [URL]   (default: a SQLite file)

A child process records bot games and is killed with SIGKILL. The parent
then plays the role of the restarted server: it asks the store for every
unfinished game, and continues each one from its last recorded action.
"""
import os
import signal
import subprocess
import sys
import tempfile

import liapstore
from liapstore.game import bots, rules

CHILD = r"""
import sys, liapstore
from liapstore.game import bots
store = liapstore.connect(sys.argv[1])
players = [store.create_player(f"player{i}") for i in range(4)]
for g in range(3):
    room = store.create_room(f"T{g}", f"Table {g}", game_settings={"seed": g})
    game = store.start_game(room.id, [p.id for p in players], bots=range(4))
    for step, _, action, _ in bots.play_game(seed=g):
        game = store.record_action(game.id, step, action)
        print(f"table {g}: action {step} recorded", flush=True)
"""

url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tempfile.mkdtemp()}/crash.db"
liapstore.connect(url).close()
print(f"server starts recording games in {url}")
child = subprocess.Popen([sys.executable, "-c", CHILD, url], stdout=subprocess.PIPE, text=True)
# Let it get well into the second game, then pull the plug.
for _ in range(700):
    last = child.stdout.readline().strip()
os.kill(child.pid, signal.SIGKILL)
child.wait()
print(f"server killed with SIGKILL; the last thing it acknowledged: {last!r}")

with liapstore.connect(url) as store:
    unfinished = store.unfinished_games()
    print(f"a new server starts and finds {len(unfinished)} unfinished game(s)")
    for saved in unfinished:
        seed = store.get_room(saved.game.room_id).game_settings["seed"]
        game, state = saved.game, saved.state
        print(f"  table {seed}: resuming at action {game.version + 1}, round {state.round}, "
              f"phase {state.phase}, scores {list(state.scores)}")
        while state.phase != "GAME_OVER":
            action = bots.next_action(state, seed, game.version + 1)
            game = store.record_action(game.id, game.version + 1, action)
            state = rules.apply(state, action).state
        problems = store.verify_game(game.id)
        print(f"  table {seed}: finished after {game.version} actions, totals "
              f"{game.final_scores['totals']}, integrity {'intact' if not problems else problems}")
