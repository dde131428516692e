"""Helpers of the conformance suite (liapstore.testing.contract), also used by
liapstore's own backend-specific tests (tests/sqlite, tests/postgres).

Nothing here asks which backend a store is: every helper works through the
public Store interface only. Expected game results are derived from the
rules engine (``liapstore.game``), never hard-coded, so the tests stay right
whatever the seeds produce.
"""
from datetime import timezone
from typing import NamedTuple

from liapstore.game import bots

UTC = timezone.utc

# Short games keep the suite fast: about 25-35 actions each.
SHORT = {"winning_score": 1, "max_rounds": 1}
# A few rounds: long enough for several rounds and, usually, a redeal.
MEDIUM = {"winning_score": 10, "max_rounds": 3}


def rows(store):
    """Row counts per table, from ``status()``."""
    return dict(store.status()["rows"])


def make_players(store, n=4, prefix="player"):
    return [store.create_player(f"{prefix}_{i:02d}") for i in range(n)]


def make_room(store, code="ROOM1", name="Test Room", **kwargs):
    return store.create_room(code, name, **kwargs)


class Table(NamedTuple):
    game: object
    players: list
    room: object


def start(store, players=None, room=None, code="ROOM1", **kwargs):
    """Start a game with four fresh players (or the given ones) in a fresh room."""
    players = players if players is not None else make_players(store, prefix=f"p{code.lower()}")
    room = room if room is not None else make_room(store, code=code)
    game = store.start_game(room.id, [p.id for p in players], **kwargs)
    return Table(game, players, room)


class Script(NamedTuple):
    """A whole seeded bot game, as the rules engine plays it."""
    steps: list        # [(step, state_before, action, outcome)]

    @property
    def actions(self):
        return [a for _, _, a, _ in self.steps]

    def events(self, kind):
        return [e for *_, o in self.steps for e in o.events if e["type"] == kind]

    @property
    def final_state(self):
        return self.steps[-1][3].state

    @property
    def game_over(self):
        return self.events("game_over")[0]


def script(seed, winning_score=1, max_rounds=1):
    return Script(list(bots.play_game(seed, winning_score=winning_score, max_rounds=max_rounds)))


def record(store, game_id, steps):
    """Record ``steps`` (from a Script) one by one; return the last Game."""
    game = None
    for step, _, action, _ in steps:
        game = store.record_action(game_id, step, action)
    return game


def play_recorded(store, seed, settings=SHORT, table=None, code="ROOM1"):
    """Start a game with ``settings``, record a whole seeded game; return (table, script, game)."""
    table = table or start(store, code=code, **settings)
    sc = script(seed, **settings)
    game = record(store, table.game.id, sc.steps)
    return table, sc, game


def find_seed(predicate, settings=SHORT, start_at=0, tries=500):
    """The first seed whose scripted game satisfies ``predicate(script)``."""
    for seed in range(start_at, start_at + tries):
        sc = script(seed, **settings)
        if predicate(sc):
            return seed, sc
    raise AssertionError("no seed found for the predicate")


def step_of_kind(sc, kind, after=1):
    """Index (0-based) of the first step > ``after`` whose action has type ``kind``."""
    for i, (step, _, action, _) in enumerate(sc.steps):
        if step > after and action["type"] == kind:
            return i
    raise AssertionError(f"no {kind} action in the script")


def update_own(store, player_id, **changes):
    """``store.update_player`` as the player themself: changing a profile
    needs the player's identity (``store.acting_as``)."""
    with store.acting_as(player_id):
        return store.update_player(player_id, **changes)


def innermost(store):
    """The store object whose own code does the work: ``store`` itself, or
    what a wrapper (the Redis cache, the async store, the async test facade)
    wraps, through each wrapper's ``wrapped``. A test that replaces one of a
    store's methods to inject a failure replaces it there."""
    while getattr(type(store), "wrapped", None) is not None:
        store = store.wrapped
    return store


def expect(exc, fn, *args, **kwargs):
    """Call ``fn``; it must raise ``exc``. The message names the call that did not."""
    call = f"{getattr(fn, '__name__', fn)}(*{args!r}, **{kwargs!r})"
    try:
        fn(*args, **kwargs)
    except exc as e:
        return e
    except Exception as e:  # noqa: BLE001 - turned into a readable failure
        raise AssertionError(f"{call} raised {type(e).__module__}.{type(e).__name__}: {e}; "
                             f"expected {exc.__name__}") from e
    raise AssertionError(f"{call} did not raise {exc.__name__}")


def corruption_cases(store):
    """Play a multi-round game and describe three corruptions of its results.

    Returns ``(game, cases)``; each case is ``(table, row_id, column, bad_value,
    good_value, where, word)``: writing ``bad_value`` into ``table.column`` of
    the row ``row_id`` must make ``verify_game`` report a problem whose
    ``where`` is ``where`` and whose message names ``word``. Values are Python
    values (UUID, dict); the caller writes them with its own raw connection.
    """
    seed, _ = find_seed(lambda s: s.game_over["rounds"] >= 3 and s.game_over["winner"] is not None,
                        settings=MEDIUM)
    table, sc, game = play_recorded(store, seed, settings=MEDIUM)
    assert store.verify_game(game.id) == []
    rounds = store.list_rounds(game.id)
    second = rounds[1]
    turn = store.list_turns(game.id, round_number=2)[1]
    other = next(p.id for p in table.players if p.id != turn.winner_id)
    scores = dict(second.round_data, scores=[s + 5 for s in second.round_data["scores"]])
    totals = dict(game.final_scores, totals=[t + 1 for t in game.final_scores["totals"]])
    cases = [
        ("turns", turn.id, "winner_id", other, turn.winner_id,
         f"round 2 turn {turn.turn_number}", "winner"),
        ("rounds", second.id, "round_data", scores, second.round_data, "round 2", "scores"),
        ("games", game.id, "final_scores", totals, game.final_scores, "game result", "totals"),
    ]
    return game, cases


def assert_detects(store, game_id, where, word):
    problems = store.verify_game(game_id)
    assert problems, f"verify_game found nothing wrong after corrupting {where}"
    hits = [p for p in problems if p.where == where and word in p.message]
    assert hits, [str(p) for p in problems]
    assert where in str(hits[0])


def audit_payload(player):
    """The audit log's ``changed_data`` for ``player`` as it now is, on every
    backend: the whole row without the e-mail columns, ids as canonical text,
    timestamps as fixed-width UTC text, booleans as JSON booleans."""
    def utc(t):
        return t.astimezone(UTC).isoformat(sep=" ", timespec="microseconds")
    return {"id": str(player.id), "username": player.username,
            "display_name": player.display_name, "created_at": utc(player.created_at),
            "last_seen": utc(player.last_seen), "is_active": player.is_active,
            "games_played": player.games_played, "games_won": player.games_won,
            "total_score": player.total_score, "highest_score": player.highest_score,
            "settings": player.settings}
