"""Coherence across processes: two server processes (tests/cache/cache_worker.py)
share one database and one Redis, and take turns writing and reading the
same games, rooms and players. Right after one process's write returns, the
other, which had the old value in its near cache, must read the new one."""
import uuid

import pytest

import liapstore
from .helpers import Worker, new_game

pytestmark = [pytest.mark.servers, pytest.mark.backends("sqlite", "postgres")]

def test_two_processes_never_read_older_than_the_last_write(store_url, redis_url, figures):
    truth = liapstore.connect(store_url, cache=False)   # the database, read uncached
    games = [new_game(truth, f"two{i}") for i in range(3)]
    rooms = [truth.get_room(g.room_id) for g in games]
    players = [truth.get_player(s.player_id) for s in truth.get_seats(games[0].id)]
    cache_url = f"{redis_url}?prefix=liapstore-test-{uuid.uuid4().hex[:12]}:"
    workers = [Worker(store_url, cache_url), Worker(store_url, cache_url)]
    try:
        def read_all(worker):
            for g in games:
                worker("game", game=str(g.id))
            for r in rooms:
                worker("room", room=str(r.id))
            for p in players:
                worker("player", player=str(p.id))

        def room_of(i):
            room = truth.get_room(rooms[i].id)
            return {"name": room.name, "status": room.status, "by_code": room.name}

        def player_of(i):
            player = truth.get_player(players[i].id)
            n = player.settings.get("n")
            return {"n": n, "games_played": player.games_played, "by_name": n}
        for w in workers:
            read_all(w)
        ended = 0
        for i in range(300):
            writer, reader = workers[i % 2], workers[1 - i % 2]
            game = games[i % 3]
            step = writer("step", game=str(game.id))
            ended += step["over"]
            seen = reader("game", game=str(game.id))
            assert seen["version"] == seen["get"] == step["version"], (i, seen)
            assert seen["scores"] == seen["saved_scores"] == \
                [s.score for s in truth.get_seats(game.id)]
            assert writer("game", game=str(game.id)) == seen
            # A game's end changes its room and its players: read right after.
            assert reader("room", room=str(rooms[i % 3].id)) == room_of(i % 3)
            assert all(reader("player", player=str(p.id)) == player_of(k)
                       for k, p in enumerate(players))
            writer("rename_room", room=str(rooms[i % 3].id), name=f"name {i}")
            assert reader("room", room=str(rooms[i % 3].id)) == room_of(i % 3)
            writer("set_player", player=str(players[i % 4].id), n=i)
            assert reader("player", player=str(players[i % 4].id)) == player_of(i % 4)
            read_all(reader)   # the reader holds everything again before the next write
        stats = [w("stats") for w in workers]
    finally:
        for w in workers:
            w.close()
        truth.close()
    assert ended > 0, "no game ended: the test saw no game end"
    for family in ("game_state", "game_players", "room_info", "player_stats"):
        for s in stats:
            assert s[family]["near_hits"] > 100, (family, s[family])
    hits = sum(s["game_state"]["hits"] for s in stats)
    reads = hits + sum(s["game_state"]["misses"] + s["game_state"]["bypassed"] for s in stats)
    figures(f"cache, two processes ({store_url.split(':')[0]}): game-state hit ratio "
            f"{hits / reads:.2f} while they alternate writes")
