"""A catalogue of corruptions that ``verify_game`` must notice, one per kind
of stored fact, for the backend-specific tests that write them with their
own raw access (tests/sqlite, tests/postgres, tests/memory).

Each corruption is a change to one row, or one extra row, of a game played
through the public Store interface. The expected problem is named by where
``verify_game`` reports it and a word of its message, so a check that stops
comparing one fact (a mutant of liapstore/game/replay.py, for instance) fails
the test of that fact. Values are Python values (UUID, dict, int); each
backend's test converts them for its own driver.
"""
import uuid
from typing import NamedTuple, Optional

from liapstore.testing.support import MEDIUM, find_seed, play_recorded, record, start


class Corruption(NamedTuple):
    name: str
    table: str
    row_id: Optional[object]  # the row's id; None for an extra row
    changes: dict             # column -> bad value (for an extra row: the whole row)
    where: str                # Problem.where that verify_game must report
    word: str                 # ...with this word in its message

    @property
    def insert(self):
        return self.row_id is None


def _seed():
    """A MEDIUM game of at least three rounds with a winner and a redeal in round 2 or later."""
    def wanted(sc):
        over = sc.game_over
        redealt = [e["round"] for e in sc.events("round_result") if e["multiplier"] > 1]
        return over["rounds"] >= 3 and over["winner"] is not None and any(r >= 2 for r in redealt)
    return find_seed(wanted, settings=MEDIUM)


def finished_game_corruptions(store):
    """Play a finished game; return ``(game, originals, corruptions)``.

    ``originals`` maps a corruption's name to the row's original values of
    the columns it changes, so a test can put them back and see
    ``verify_game`` clean again.
    """
    seed, sc = _seed()
    table, sc, game = play_recorded(store, seed, settings=MEDIUM)
    assert store.verify_game(game.id) == []
    players = [p.id for p in table.players]
    rounds = store.list_rounds(game.id)
    redealt = next(r for r in rounds if r.round_number >= 2 and r.multiplier > 1)
    plain = next(r for r in rounds if r.multiplier == 1)
    second = rounds[1]
    turns = store.list_turns(game.id, round_number=2)
    turn = turns[1]
    last_turn = turns[-1]
    seats = store.get_seats(game.id)
    loser = next(p for p in players if p != game.winner_id)
    n = len(rounds)
    gid = game.id

    def other_than(pid):
        return next(p for p in players if p != pid)

    cases = [
        # The game's row.
        Corruption("winner", "games", gid, {"winner_id": loser}, "game result", "winner"),
        Corruption("no winner", "games", gid, {"winner_id": None}, "game result", "winner"),
        Corruption("version ahead", "games", gid, {"version": game.version + 1}, "games.version", "stored"),
        Corruption("version behind", "games", gid, {"version": game.version - 1}, "games.version", "stored"),
        Corruption("total", "games", gid,
                   {"final_scores": dict(game.final_scores,
                                         totals=[t + 1 for t in game.final_scores["totals"]])},
                   "game result", "totals"),
        Corruption("rounds played", "games", gid,
                   {"final_scores": dict(game.final_scores, rounds=game.final_scores["rounds"] + 1)},
                   "game result", "rounds"),
        Corruption("total by player", "games", gid,
                   {"final_scores": dict(game.final_scores, by_player={
                       **game.final_scores["by_player"],
                       str(game.winner_id): game.final_scores["by_player"][str(game.winner_id)] - 1})},
                   "game result", "by_seat"),
        Corruption("not ended", "games", gid, {"ended_at": None}, "game result", "ended_at"),
        Corruption("current round", "games", gid, {"current_round": game.current_round + 1},
                   "games", "current_round"),
        Corruption("current phase", "games", gid, {"current_phase": "TURN"}, "games", "current_phase"),
        Corruption("snapshot", "games", gid,
                   {"phase_data": dict(game.phase_data, scores=[0, 0, 0, 0])},
                   "games.phase_data", "scores"),
        # The seats.
        Corruption("seat score", "game_players", (gid, seats[1].player_id),
                   {"score": seats[1].score + 2}, "seat 1", "score"),
        # The rounds.
        Corruption("round scores", "rounds", second.id,
                   {"round_data": dict(second.round_data,
                                       scores=[s + 5 for s in second.round_data["scores"]])},
                   "round 2", "scores"),
        Corruption("round multiplier", "rounds", redealt.id,
                   {"round_data": dict(redealt.round_data, multiplier=1)},
                   f"round {redealt.round_number}", "multiplier"),
        Corruption("round multiplier column", "rounds", redealt.id, {"multiplier": redealt.multiplier + 1},
                   f"round {redealt.round_number}", "rounds.multiplier"),
        Corruption("redeal flag", "rounds", plain.id, {"had_redeal": True},
                   f"round {plain.round_number}", "rounds.had_redeal"),
        Corruption("round not ended", "rounds", second.id, {"ended_at": None}, "round 2", "rounds.ended"),
        Corruption("extra round", "rounds", None, {
            "id": uuid.uuid4(), "game_id": gid, "round_number": n + 1, "started_at": game.ended_at,
            "ended_at": None, "multiplier": 1, "had_redeal": False, "round_data": {}},
            f"round {n + 1}", "never finished"),
        # The turns.
        Corruption("turn winner", "turns", turn.id, {"winner_id": other_than(turn.winner_id)},
                   f"round 2 turn {turn.turn_number}", "winner"),
        Corruption("turn starter", "turns", turn.id,
                   {"leading_player_id": other_than(turn.leading_player_id)},
                   f"round 2 turn {turn.turn_number}", "starter"),
        Corruption("turn piles", "turns", turn.id, {"pile_count": turn.pile_count + 1},
                   f"round 2 turn {turn.turn_number}", "piles"),
        Corruption("turn required pieces", "turns", turn.id,
                   {"required_piece_count": turn.required_piece_count + 1},
                   f"round 2 turn {turn.turn_number}", "required"),
        Corruption("turn plays", "turns", turn.id, {"plays": list(reversed(turn.plays))},
                   f"round 2 turn {turn.turn_number}", "plays"),
        Corruption("turn player ids", "turns", turn.id,
                   {"plays": [dict(p, player_id=str(other_than(uuid.UUID(p["player_id"]))))
                              for p in turn.plays]},
                   f"round 2 turn {turn.turn_number}", "players"),
        Corruption("extra turn", "turns", None, {
            "id": uuid.uuid4(), "round_id": second.id, "turn_number": last_turn.turn_number + 1,
            "timestamp": last_turn.timestamp, "leading_player_id": last_turn.winner_id,
            "required_piece_count": 1, "plays": last_turn.plays[:1], "winner_id": last_turn.winner_id,
            "pile_count": 1},
            f"round 2 turn {last_turn.turn_number + 1}", "never played"),
    ]
    return game, _originals(store, game, cases), cases


def unfinished_game_corruptions(store):
    """Record a game into the turns of its second round; return ``(game, originals, corruptions)``.

    These are what only a game under way can get wrong: the round under way
    has a row but no results yet.
    """
    seed, sc = _seed()
    table = start(store, **MEDIUM)
    first_of_round_2 = next(i for i, (_, before, _, _) in enumerate(sc.steps) if before.round == 2)
    upto = next(i for i, (_, before, _, _) in enumerate(sc.steps)
                if i > first_of_round_2 and before.phase == "TURN")
    game = record(store, table.game.id, sc.steps[:upto])
    assert store.verify_game(game.id) == [] and not game.finished
    current = store.list_rounds(game.id)[-1]
    assert current.round_number == 2 and current.ended_at is None
    cases = [
        Corruption("results of the round under way", "rounds", current.id,
                   {"round_data": {"scores": [1, 2, 3, 4]}}, "round 2", "still under way"),
        Corruption("multiplier of the round under way", "rounds", current.id,
                   {"multiplier": current.multiplier + 1}, "round 2", "rounds.multiplier"),
        Corruption("round under way ended", "rounds", current.id, {"ended_at": game.started_at},
                   "round 2", "rounds.ended"),
        Corruption("game result of a game under way", "games", game.id,
                   {"final_scores": {"totals": [0, 0, 0, 0], "rounds": 2, "by_player": {}}},
                   "game result", "never ends"),
        Corruption("version ahead", "games", game.id, {"version": game.version + 1}, "games.version", "stored"),
    ]
    return game, _originals(store, game, cases), cases


def _originals(store, game, cases):
    """The original values of what each update changes, read through the Store."""
    by_table = {
        "games": {game.id: store.get_game(game.id)},
        "rounds": {r.id: r for r in store.list_rounds(game.id)},
        "turns": {t.id: t for t in store.list_turns(game.id)},
        "game_players": {(game.id, s.player_id): s for s in store.get_seats(game.id)},
    }
    assert len({c.name for c in cases}) == len(cases)
    return {c.name: {col: getattr(by_table[c.table][c.row_id], col) for col in c.changes}
            for c in cases if not c.insert}


def check_each(store, game, originals, cases, write, remove):
    """Apply each corruption with ``write(table, row_id, changes)`` (or, for
    an extra row, ``write(table, None, row)``), check that verify_game
    reports it, then undo it (``write`` with the original values, or
    ``remove(table, row_id)``) and check that verify_game is clean again."""
    for case in cases:
        write(case.table, case.row_id, case.changes)
        problems = store.verify_game(game.id)
        hits = [p for p in problems if p.where == case.where and case.word in p.message]
        assert hits, (case.name, [str(p) for p in problems])
        if case.insert:
            remove(case.table, case.changes["id"])
        else:
            write(case.table, case.row_id, originals[case.name])
        assert store.verify_game(game.id) == [], case.name


def raw_access(conn, param, value):
    """``(write, remove)`` for ``check_each`` over a raw DB-API connection:
    ``param`` is its placeholder ("?" or "%s"), ``value(table, column, x)``
    turns a Python value into what the driver takes for that column."""
    def key(table, row_id):
        if table == "game_players":
            return (f"game_id = {param} AND player_id = {param}",
                    [value(table, "game_id", row_id[0]), value(table, "player_id", row_id[1])])
        return f"id = {param}", [value(table, "id", row_id)]

    def write(table, row_id, changes):
        columns = list(changes)
        values = [value(table, c, changes[c]) for c in columns]
        if row_id is None:
            conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) "
                         f"VALUES ({', '.join([param] * len(columns))})", values)
            return
        where, params = key(table, row_id)
        sets = ", ".join(f'"{c}" = {param}' for c in columns)
        assert conn.execute(f"UPDATE {table} SET {sets} WHERE {where}", values + params).rowcount == 1

    def remove(table, row_id):
        where, params = key(table, row_id)
        assert conn.execute(f"DELETE FROM {table} WHERE {where}", params).rowcount == 1

    return write, remove
