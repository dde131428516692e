"""A server process for the two-process coherence test: a CachedStore that
records and reads what the test's JSON commands on stdin say, one JSON
answer per line on stdout.

    python cache_worker.py STORE_URL CACHE_URL
"""
import json
import sys
import threading
import time

import liapstore
from liapstore.game import bots


def answer(store, command):
    op = command["op"]
    if op == "step":
        saved = store.load_game(command["game"])
        game = saved.game
        if game.ended_at is None:
            action = bots.next_action(saved.state, "two-processes", game.version + 1)
            game = store.record_action(game.id, game.version + 1, action)
        return {"version": game.version, "over": game.ended_at is not None}
    if op == "game":
        saved = store.load_game(command["game"])
        return {"version": saved.game.version, "get": store.get_game(command["game"]).version,
                "scores": [s.score for s in store.get_seats(command["game"])],
                "saved_scores": [s.score for s in saved.seats]}
    if op == "rename_room":
        return {"name": store.update_room(command["room"], name=command["name"]).name}
    if op == "room":
        room = store.get_room(command["room"])
        return {"name": room.name, "status": room.status,
                "by_code": store.get_room_by_code(room.room_code).name}
    if op == "set_player":
        with store.acting_as(command["player"]):  # a profile is its player's to change
            return {"n": store.update_player(command["player"], settings={"n": command["n"]})
                    .settings["n"]}
    if op == "player":
        player = store.get_player(command["player"])
        return {"n": player.settings.get("n"), "games_played": player.games_played,
                "by_name": store.get_player_by_username(player.username).settings.get("n")}
    if op == "hammer":
        return hammer(store, command["game"], command["threads"], command["seconds"])
    if op == "stats":
        return store.cache_stats()
    raise ValueError(f"unknown op {op}")


def counting(store):
    """Count the reads of game states that reach the database (the wrapped
    store's load_game), truthfully: every call of it, whoever makes it."""
    calls, lock, read = [0], threading.Lock(), store._inner.load_game

    def load_game(game_id):
        with lock:
            calls[0] += 1
        return read(game_id)
    store._inner.load_game = load_game
    return calls


def hammer(store, game_id, threads, seconds):
    """``threads`` threads reading the game's state for ``seconds``; how many
    reads there were, and how many reached the database."""
    calls, reads, deadline = counting(store), [0] * threads, time.monotonic() + seconds

    def reader(i):
        while time.monotonic() < deadline:
            store.load_game(game_id)
            reads[i] += 1
            time.sleep(0.001)
    started = [threading.Thread(target=reader, args=(i,)) for i in range(threads)]
    for t in started:
        t.start()
    for t in started:
        t.join()
    store._inner.load_game = type(store._inner).load_game.__get__(store._inner)
    return {"reads": sum(reads), "database": calls[0]}


def main(store_url, cache_url):
    with liapstore.connect(store_url, cache=cache_url) as store:
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            try:
                reply = answer(store, json.loads(line))
            except Exception as e:  # noqa: BLE001 - reported to the test, which fails
                reply = {"error": f"{type(e).__name__}: {e}"}
            print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
