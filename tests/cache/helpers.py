"""Helpers of the cache tests: bot games, their checks, and a server process
(``cache_worker.py``) driven over stdin/stdout."""
import json
import os
import subprocess
import sys

from liapstore.game import bots

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cache_worker.py")


def new_game(store, code, winning_score=15):
    """A four-bot game in a new room; returns the Game."""
    players = [store.get_or_create_player(f"bot_{code}_{i}") for i in range(4)]
    room = store.create_room(code, f"room {code}")
    return store.start_game(room.id, [p.id for p in players], bots=range(4),
                            winning_score=winning_score, max_rounds=3)


def step(store, game, seed="s"):
    """Record the game's next bot action through ``store``; the Game after it."""
    state = store.load_game(game.id).state
    action = bots.next_action(state, seed, game.version + 1)
    return store.record_action(game.id, game.version + 1, action)


def assert_intact(store, games):
    """Every action recorded once, in order, and the results agree with them."""
    for game in games:
        stored = store.get_game(game.id)
        actions = store.list_actions(game.id)
        assert [a.sequence_number for a in actions] == list(range(1, stored.version + 1))
        assert store.verify_game(game.id) == []


class Worker:
    def __init__(self, store_url, cache_url):
        self.proc = subprocess.Popen([sys.executable, WORKER, store_url, cache_url],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert json.loads(self.proc.stdout.readline()) == {"ready": True}

    def __call__(self, op, **args):
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        assert "error" not in reply, reply
        return reply

    def close(self):
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0
