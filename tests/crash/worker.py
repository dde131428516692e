"""A game server stand-in for the crash tests: plays many games through a store.

    python worker.py URL ACK_PATH --games N --run R [--winning-score S] [--max-rounds M]
                     [--seed-base B] [--parallel K]

It is SIGKILLed at random moments by tests/crash/test_crash_recovery.py and
started again, so everything it does must be resumable from the database alone:

1. Recovery: every unfinished game (``store.unfinished_games()``) is picked up
   where the database says it stands. A game's seed lives in its room's
   ``game_settings`` ({"seed": s}); with it, ``bots.next_action(state, seed,
   version + 1)`` continues the game exactly as an uninterrupted run would.
2. Games are created in rooms CRASH-0000, CRASH-0001, ... until ``--games`` of
   them exist; a room left "waiting" by a kill between create_room and
   start_game gets its game now.
3. Actions are recorded one at a time, interleaving up to ``--parallel`` games.
   After each call returns, one line is appended to ACK_PATH with a single
   os.write on an O_APPEND descriptor (atomic with respect to SIGKILL):

       <game_id> <sequence_number> <sha256 of the action's canonical JSON> <run>

   A game's creation is acknowledged as ``<game_id> 0 start:<k> <run>``. A line
   is written only after the store returned, i.e. after the commit: it is an
   acknowledgement the parent later holds the database to.

The worker prints "recovering" once connected and "ready" once it has
recovered, so the parent can time kills to land during recovery or while it
records (and tell afterwards which phase a kill interrupted), and a JSON
summary as its last stdout line when all games are over. The players
(PLAYER_NAMES) are created by the parent. Rooms are created in order, so the
first missing room code ends the scan of existing rooms: ``--games`` can be
far more than will ever be played.
"""
import argparse
import hashlib
import json
import os
import random
import sys
from collections import deque

import liapstore
from liapstore import NotFound
from liapstore.game import bots, rules

PLAYER_NAMES = ("crash-north", "crash-east", "crash-south", "crash-west")
ROOM_PREFIX = "CRASH-"


def room_code(k):
    return f"{ROOM_PREFIX}{k:04d}"


def canonical(action):
    return json.dumps(action, sort_keys=True, separators=(",", ":"))


def action_sha(action):
    return hashlib.sha256(canonical(action).encode()).hexdigest()


def game_seed(seed_base, k):
    return seed_base + k


class Live:
    """A game this worker is playing: rules state, seed, next sequence number."""

    __slots__ = ("state", "seed", "seq")

    def __init__(self, state, seed, seq):
        self.state, self.seed, self.seq = state, seed, seq


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("ack_path")
    parser.add_argument("--games", type=int, required=True)
    parser.add_argument("--run", type=int, required=True)
    parser.add_argument("--winning-score", type=int, default=20)
    parser.add_argument("--max-rounds", type=int, default=5)
    parser.add_argument("--seed-base", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=6)
    args = parser.parse_args(argv)

    ack = os.open(args.ack_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def acknowledge(game_id, seq, digest):
        os.write(ack, f"{game_id} {seq} {digest} {args.run}\n".encode())

    store = liapstore.connect(args.url)
    print("recovering", flush=True)
    players = [store.get_player_by_username(name).id for name in PLAYER_NAMES]

    # 1. Recover every unfinished game from the database alone.
    live = {}
    for saved in store.unfinished_games():
        seed = store.get_room(saved.game.room_id).game_settings["seed"]
        live[saved.game.id] = Live(saved.state, seed, saved.game.version + 1)
    recovered = len(live)

    # 2. Which games are still to be created (or started in their room).
    pending = deque()
    for k in range(args.games):
        try:
            room = store.get_room_by_code(room_code(k))
        except NotFound:
            # Rooms are created one after the other: none exists after this one.
            pending.extend((j, None) for j in range(k, args.games))
            break
        if room.current_game_id is None:
            pending.append((k, room))

    print("ready", flush=True)

    def start_next():
        k, room = pending.popleft()
        seed = game_seed(args.seed_base, k)
        if room is None:
            room = store.create_room(room_code(k), f"crash test game {k}",
                                     game_settings={"seed": seed})
        game = store.start_game(room.id, players, bots=range(4),
                                winning_score=args.winning_score, max_rounds=args.max_rounds)
        acknowledge(game.id, 0, f"start:{k}")
        live[game.id] = Live(rules.new_game(args.winning_score, args.max_rounds), seed, 1)

    # 3. Record actions one by one, interleaving the live games.
    rng = random.Random(f"worker:{args.seed_base}:{args.run}")
    recorded = started = 0
    while live or pending:
        while pending and len(live) < args.parallel:
            start_next()
            started += 1
        game_id = rng.choice(list(live))
        g = live[game_id]
        action = bots.next_action(g.state, g.seed, g.seq)
        outcome = rules.apply(g.state, action)
        game = store.record_action(game_id, g.seq, action)
        if game.version != g.seq:
            raise AssertionError(f"record_action({game_id}, {g.seq}) returned version {game.version}")
        acknowledge(game_id, g.seq, action_sha(action))
        recorded += 1
        g.state, g.seq = outcome.state, g.seq + 1
        if outcome.state.phase == "GAME_OVER":
            if not game.finished:
                raise AssertionError(f"game {game_id} is over by the rules but not in the store")
            del live[game_id]

    store.close()
    os.close(ack)
    print(json.dumps({"recovered": recovered, "started": started, "recorded": recorded}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
