"""A SQLite database of many finished games, built fast for the copy benchmark.

``liapstore simulate`` records about 30 games a second here; 10,000 games
would take several minutes before the benchmark starts. So a few games are
simulated (into memory), and the rest are clones of them: the same rows
under new ids (rooms, games, rounds, turns, actions, events), written with
``_load_rows`` in large transactions. Every clone is a real, whole game:
``verify_game`` replays it like the original.
"""
import itertools
import uuid

import liapstore
from liapstore.ops import copy
from liapstore.simulate import simulate

TEMPLATES = 20
SETTINGS = {"winning_score": 20, "max_rounds": 4}  # about 170 rows per game
CHUNK = 250  # clones per transaction


def build(path, games):
    """Fill the SQLite file ``path`` with ``games`` finished games; return its URL."""
    url = f"sqlite:///{path}?synchronous=OFF"
    with liapstore.connect("memory://") as memory, liapstore.connect(url) as target:
        simulate(memory, min(games, TEMPLATES), seed=42, **SETTINGS)
        copy.copy(memory, target)
        templates = [_game_rows(memory, g) for g in memory._select("games", [], ("id",))]
        ids = {t: itertools.count(memory._count(t) + 1) for t in ("player_actions", "analytics_events")}
        clones = range(games - len(templates))
        for start in range(0, len(clones), CHUNK):
            rows = {}
            for k in clones[start:start + CHUNK]:
                for table, new in _clone(templates[k % len(templates)], k, ids).items():
                    rows.setdefault(table, []).extend(new)
            with target.transaction():
                for table in ("rooms", "games", "game_players", "rounds", "turns",
                              "player_actions", "analytics_events"):
                    target._load_rows(table, rows.get(table, []))
    return url


def _game_rows(store, game):
    rounds = store._select("rounds", [("game_id", "=", game["id"])], ("id",))
    return {"rooms": store._select("rooms", [("id", "=", game["room_id"])], ()),
            "games": [game],
            "game_players": store._select("game_players", [("game_id", "=", game["id"])], ()),
            "rounds": rounds,
            "turns": store._select("turns", [("round_id", "in", [r["id"] for r in rounds])], ("id",)),
            "player_actions": store._select("player_actions", [("game_id", "=", game["id"])], ("id",)),
            "analytics_events": store._select("analytics_events", [("game_id", "=", game["id"])],
                                              ("id",))}


def _clone(template, k, ids):
    new = {}

    def fresh(old):
        return new.setdefault(old, uuid.uuid4())

    def mapped(row, **columns):
        out = dict(row)
        for column, how in columns.items():
            out[column] = how(row[column]) if row[column] is not None else None
        return out

    return {
        "rooms": [mapped(r, id=fresh, current_game_id=fresh, room_code=lambda _: f"clone-{k}")
                  for r in template["rooms"]],
        "games": [mapped(g, id=fresh, room_id=fresh) for g in template["games"]],
        "game_players": [mapped(s, game_id=fresh) for s in template["game_players"]],
        "rounds": [mapped(r, id=fresh, game_id=fresh) for r in template["rounds"]],
        "turns": [mapped(t, id=fresh, round_id=fresh) for t in template["turns"]],
        "player_actions": [mapped(a, game_id=fresh, id=lambda _: next(ids["player_actions"]))
                           for a in template["player_actions"]],
        "analytics_events": [mapped(e, game_id=fresh, room_id=fresh,
                                    id=lambda _: next(ids["analytics_events"]))
                             for e in template["analytics_events"]],
    }
