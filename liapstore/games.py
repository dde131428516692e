"""The game-recording half of the Store interface.

A game server starts a game, then records every decision (deal, redeal
choice, declaration, play) with ``record_action``. The store runs each action
through the rules engine before any I/O, and writes, in one transaction, the
action, the game's new snapshot (``games`` and the changed ``game_players``
rows) and whatever the action settled: a turn's result (``turns``), a round's
scores (``rounds``), the game's end (winner, ``final_scores``, the room's
status, the players' statistics). The server never records results itself,
so the log and the results cannot disagree unless the data is corrupted,
which ``verify_game`` detects.
"""
import functools
import json
import threading
import uuid
from collections import OrderedDict
from typing import NamedTuple

from . import validate as v
from .errors import Conflict, InvalidInput, NotFound
from .game import replay as replay_mod, rules
from .updates import Add, AtLeast
from .records import Action, Game, Round, SavedGame, Seat, Turn, from_row

# The in-process cache of game states: it saves one read per recorded action.
# It is only a hint: the version check in the write catches a stale entry.
_CACHE_SIZE = 4096


class Step(NamedTuple):
    """Every row change one recorded action makes, computed before any I/O."""
    game_id: uuid.UUID
    expected_version: int
    game_changes: dict
    action_row: dict
    seat_changes: list          # [(player_id, {column: value})]
    round_insert: dict | None
    round_update: tuple | None  # (round_id, {column: value})
    turn_inserts: list
    room_changes: tuple | None  # (room_id, {column: value})
    player_stats: list          # [(player_id, {column: Add/AtLeast})]; set when the game ends
    players: tuple              # player id by seat position


class _Cached(NamedTuple):
    game_row: dict
    state: rules.GameState
    players: tuple              # player id by seat position


class StaleVersion(Exception):
    """Internal: the games row was not at the expected version (or the game is over)."""


class StateCache:
    """The last known (row, rules state, seats) of recently used games, LRU.

    Only a hint that saves a read per action: the version check in the write
    catches an entry another process has made stale.
    """

    def __init__(self, size=_CACHE_SIZE):
        self.size = size
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def get(self, game_id):
        with self._lock:
            return self._entries.get(game_id)

    def put(self, cached):
        game_id = cached.game_row["id"]
        with self._lock:
            known = self._entries.get(game_id)
            # Two threads' commits can publish out of order; keep the newer.
            if known is None or known.game_row["version"] <= cached.game_row["version"]:
                self._entries[game_id] = cached
            self._entries.move_to_end(game_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def discard(self, game_id):
        with self._lock:
            return self._entries.pop(game_id, None)


class GameRecording:
    """Mixin of Store: games, their recording, recovery and replay."""

    # -- starting and reading games ----------------------------------------------

    def start_game(self, room_id, players, *, bots=(), winning_score=50, max_rounds=20):
        """Start a game in a room with four seats; return the Game (version 0).

        ``players`` lists the four player ids by seat position 0-3 (bots are
        players too; name their positions in ``bots``). The room becomes
        'playing' with this as its current game, in the same transaction.
        """
        new = self._new_game(room_id, players, bots, winning_score, max_rounds)
        with self.transaction():
            started = self._start(*new)
            self._publish(started)
        return from_row(Game, started.game_row)

    def _new_game(self, room_id, players, bots, winning_score, max_rounds):
        """Check start_game's arguments (no I/O); return ``_start``'s arguments."""
        room_id = v.uuid_(room_id, "room_id")
        if not isinstance(players, (list, tuple)) or len(players) != 4:
            raise InvalidInput("a game needs exactly 4 players, one per seat position 0-3")
        players = tuple(v.uuid_(p, "players[]") for p in players)
        if len(set(players)) != 4:
            raise InvalidInput("a player cannot take two seats in one game")
        if isinstance(bots, (str, bytes)) or not hasattr(bots, "__iter__"):
            raise InvalidInput(f"bots must be a list of seat positions, got {v._short(bots)}")
        bots = {v.integer(b, "bots[]", 0, 3) for b in bots}
        winning_score = v.integer(winning_score, "winning_score", 1, 10_000)
        max_rounds = v.integer(max_rounds, "max_rounds", 1, 1_000)
        try:
            state = rules.new_game(winning_score, max_rounds)
        except rules.RuleViolation as e:
            raise InvalidInput(str(e)) from None
        game_row = {"id": uuid.uuid4(), "room_id": room_id, "started_at": v.now(), "ended_at": None,
                    "winning_score": winning_score, "max_rounds": max_rounds,
                    "initial_multiplier": 1, "current_round": state.round,
                    "current_phase": state.phase, "phase_data": state.to_dict(),
                    "winner_id": None, "final_scores": None, "version": 0}
        return game_row, state, players, bots

    def _start(self, game_row, state, players, bots):
        """Write a new game's rows inside the caller's transaction; return its _Cached."""
        self._get("rooms", "id", game_row["room_id"])
        game_row = self._insert("games", game_row)
        for position, player_id in enumerate(players):
            self._insert("game_players", {
                "game_id": game_row["id"], "player_id": player_id, "position": position,
                "score": 0, "is_active": True, "is_bot": position in bots,
                "pieces_in_hand": [], "declared_piles": None, "captured_piles": 0})
        # After the seats: on PostgreSQL their foreign keys wait for an erasure
        # of one of these players under way (playerdata.py locks the row), so
        # this sees it committed.
        self._refuse_erased(players)
        self._update("rooms", [("id", "=", game_row["room_id"])],
                     {"status": "playing", "current_game_id": game_row["id"]})
        self._game_started_event(game_row, players, bots)
        return _Cached(game_row, state, players)

    def _publish(self, cached):
        """Remember a written game state for the next action, once it is committed."""
        self._after_commit(lambda: self._state_cache.put(cached))

    def import_game(self, room_id, players, state, *, bots=()):
        """Store a game that was already running elsewhere; return the Game.

        For moving a live in-memory server into the store (see
        ``liapstore.migration.DataMigrator``). ``state`` is a rules
        ``GameState``; it becomes the game's first logged action (type
        ``import``), so replay and verification start from it. The room
        becomes 'playing'. Continue with sequence number ``game.version + 1``.
        A finished state (GAME_OVER) is stored as a finished game with its
        result, counted in the players' statistics as a game ended here
        would be, and the room becomes 'finished'.
        """
        if not isinstance(state, rules.GameState):
            raise InvalidInput("state must be a liapstore.game.rules.GameState")
        try:
            data = state.to_dict()
        except TypeError as e:  # hands or plays that are not lists at all
            raise InvalidInput(f"malformed game state: {e}") from None
        try:
            state = rules.check_state(rules.GameState.from_dict(v.json_object(data, "state")))
        except ValueError as e:
            raise InvalidInput(f"inconsistent game state: {e}") from None
        # A game that already ended elsewhere is stored finished, with the
        # result its state holds, so the room's history keeps it.
        events = () if state.phase != "GAME_OVER" else (_imported_end(state),)
        new = self._new_game(room_id, players, bots, state.winning_score, state.max_rounds)
        with self._as_server(), self.transaction():
            fresh = self._start(*new)
            game_id = fresh.game_row["id"]
            imported = rules.Outcome(state, events)
            step = self._step(fresh, 1, {"type": "import", "state": state.to_dict()}, imported)
            if (state.dealt or state.multiplier > 1) and not events:
                # The round under way needs its row, which a deal would have made.
                self._insert("rounds", {
                    "id": uuid.uuid5(game_id, f"round:{state.round}"), "game_id": game_id,
                    "round_number": state.round, "started_at": v.now(), "ended_at": None,
                    "multiplier": state.multiplier, "had_redeal": state.multiplier > 1,
                    "round_data": {}})
            self._write_step(step)
            game_row = {**fresh.game_row, **step.game_changes}
            self._publish(_Cached(game_row, state, fresh.players))
        return from_row(Game, game_row)

    def get_game(self, game_id):
        """The game with this id, or NotFound."""
        return from_row(Game, self._get("games", "id", v.uuid_(game_id, "game_id")))

    def get_seats(self, game_id):
        """The game's four seats, by position. NotFound for an unknown game."""
        game_id = v.uuid_(game_id, "game_id")
        rows = self._select("game_players", [("game_id", "=", game_id)], ("position",))
        if not rows:
            self._get("games", "id", game_id)
        return [from_row(Seat, r) for r in rows]

    def list_games(self, *, room_id=None, player_id=None, active=None, limit=50, after=None):
        """Games, oldest first, filtered by room, seated player, or whether
        they are still running (``active=True``) (``Page``)."""
        where = []
        if room_id is not None:
            where.append(("room_id", "=", v.uuid_(room_id, "room_id")))
        if active is not None:
            where.append(("ended_at", "=" if v.boolean(active, "active") else "!=", None))
        select = None
        if player_id is not None:
            player_id = v.uuid_(player_id, "player_id")
            # A join (SQL) rather than the player's game ids, then IN.
            select = lambda _, *args, **kw: self._select_seated(player_id, *args, **kw)  # noqa: E731
        return self._page("games", where, ("started_at", "id"), limit, after, Game, select=select)

    def list_rounds(self, game_id):
        """The game's rounds so far, in order."""
        rows = self._select("rounds", [("game_id", "=", v.uuid_(game_id, "game_id"))], ("round_number",))
        return [from_row(Round, r) for r in rows]

    def list_turns(self, game_id, round_number=None):
        """The game's completed turns, in order (optionally of one round)."""
        if round_number is not None:
            round_number = v.integer(round_number, "round_number", 1)
        rounds = self.list_rounds(game_id)
        if round_number is not None:
            rounds = [r for r in rounds if r.round_number == round_number]
        by_round = {r.id: r.round_number for r in rounds}
        rows = self._select("turns", [("round_id", "in", list(by_round))], ())
        if not rows and by_round:
            # Archived (archive.py): only a game that has rounds and no turn
            # rows costs the pointer lookup.
            rows = self._archived_rows(rounds[0].game_id, "turns",
                                       lambda t: t["round_id"] in by_round)
        rows.sort(key=lambda t: (by_round[t["round_id"]], t["turn_number"]))
        return [from_row(Turn, r) for r in rows]

    def list_actions(self, game_id, *, after_sequence=0, limit=None):
        """The game's action log from ``after_sequence + 1`` on, in order."""
        where = [("game_id", "=", v.uuid_(game_id, "game_id")),
                 ("sequence_number", ">", v.integer(after_sequence, "after_sequence", 0))]
        limit = None if limit is None else v.limit(limit, 100_000)
        rows = self._select("player_actions", where, ("sequence_number",), limit=limit)
        if not rows:
            # Archived (archive.py): only an empty answer costs the pointer lookup.
            first = where[1][2]
            rows = self._archived_rows(where[0][2], "player_actions",
                                       lambda a: a["sequence_number"] > first)[:limit]
        return [from_row(Action, r) for r in rows]

    # -- recording -----------------------------------------------------------------

    def record_action(self, game_id, sequence_number, action):
        """Record the game's next action; return the Game after it.

        ``sequence_number`` is ``game.version + 1``: the log has no gaps. The
        action is a dict as the rules engine defines it (``deal``, ``redeal``,
        ``declare``, ``play``; see liapstore/game/rules.py). An illegal action
        raises InvalidInput and writes nothing. Re-sending an action already
        recorded under that number (a retry after a timeout) changes nothing
        and returns the game as it is; a *different* action under a used
        number, or a number computed from a stale version, raises Conflict.
        """
        game_id = v.uuid_(game_id, "game_id")
        seq = v.integer(sequence_number, "sequence_number", 1)
        action = v.json_object(action, "action")
        for attempt in (1, 2):
            cached = self._state_cache.get(game_id) if attempt == 1 else None
            current = cached or self._load(game_id)
            version = current.game_row["version"]
            if seq <= version:
                return self._replayed(game_id, seq, action)
            if seq > version + 1:
                if cached:
                    continue  # Another process may have advanced the game; reload.
                raise Conflict(f"game {game_id} is at version {version}; "
                               f"the next sequence number is {version + 1}, not {seq}")
            try:
                outcome = rules.apply(current.state, action)
            except rules.RuleViolation as e:
                if cached:
                    continue  # Judge the action against the stored state, not a stale copy.
                raise InvalidInput(f"illegal action #{seq} in game {game_id}: {e}") from None
            step = self._step(current, seq, action, outcome)
            game_row = {**current.game_row, **step.game_changes}
            try:
                # Recording is the server's work, whoever it is done for: the
                # game's end writes every seated player's statistics.
                with self._as_server(), self.transaction():
                    self._write_step(step)
                    self._publish(_Cached(game_row, outcome.state, current.players))
            except StaleVersion:
                self._state_cache.discard(game_id)
                return self._replayed(game_id, seq, action)
            return from_row(Game, game_row)

    def load_game(self, game_id):
        """Everything needed to continue a game: a SavedGame (game, seats, rules state)."""
        return self._read(v.uuid_(game_id, "game_id"))[1]

    def unfinished_games(self):
        """Every game not yet over, as SavedGames, ready to be continued after
        a restart (two queries, whatever the number of games)."""
        games = self._select("games", [("ended_at", "=", None)], ("started_at", "id"))
        seats = {}
        for row in self._select("game_players", [("game_id", "in", [g["id"] for g in games])], ()):
            seats.setdefault(row["game_id"], []).append(row)
        return [self._saved(g, sorted(seats.get(g["id"], ()), key=lambda s: s["position"]))
                for g in games]

    def abandon_game(self, game_id):
        """End a running game without a result; its room becomes 'abandoned'."""
        game = self.get_game(game_id)
        if game.finished:
            raise Conflict(f"game {game.id} is already over")
        with self._as_server(), self.transaction():
            # The version stays the length of the log; the write path refuses
            # any game whose ended_at is set.
            if not self._update("games", [("id", "=", game.id), ("version", "=", game.version),
                                          ("ended_at", "=", None)], {"ended_at": v.now()}):
                raise Conflict(f"game {game.id} moved on while it was being abandoned")
            self._update("rooms", [("id", "=", game.room_id)], {"status": "abandoned"})
        self._state_cache.discard(game.id)

    def replay(self, game_id):
        """Re-derive every state of a stored game from its log with the rules
        engine, and compare with what is stored (``replay.Replay``)."""
        saved = self.load_game(game_id)
        players = [s.player_id for s in saved.seats]
        return replay_mod.replay(
            settings={"winning_score": saved.game.winning_score, "max_rounds": saved.game.max_rounds},
            actions=[(a.sequence_number, a.action_data) for a in self.list_actions(game_id)],
            stored=replay_mod.Stored.from_records(saved.game, saved.seats, self.list_rounds(game_id),
                                                  self.list_turns(game_id), players))

    def verify_game(self, game_id):
        """The list of disagreements between a game's log and its stored
        results; empty when the game is intact."""
        return self.replay(game_id).problems

    # -- internals -------------------------------------------------------------------

    def _read(self, game_id):
        """The game's row and its SavedGame, from the database."""
        game_row = self._get("games", "id", game_id)
        seats = self._select("game_players", [("game_id", "=", game_id)], ("position",))
        return game_row, self._saved(game_row, seats)

    def _load(self, game_id):
        game_row, saved = self._read(game_id)
        if saved.game.finished and saved.state.phase != "GAME_OVER":
            raise Conflict(f"game {game_id} was abandoned")
        return _Cached(game_row, saved.state, tuple(s.player_id for s in saved.seats))

    def _saved(self, game_row, seat_rows):
        if not seat_rows:
            raise NotFound(f"game {game_row['id']} has no seats")
        try:
            state = rules.GameState.from_dict(game_row["phase_data"])
        except ValueError as e:
            raise Conflict(f"game {game_row['id']} has a corrupted snapshot: {e}") from None
        return SavedGame(from_row(Game, game_row), tuple(from_row(Seat, s) for s in seat_rows), state)

    def _replayed(self, game_id, seq, action):
        stored = self._select("player_actions", [("game_id", "=", game_id),
                                                 ("sequence_number", "=", seq)], (), limit=1)
        if not stored:  # the game may be archived (archive.py)
            stored = self._archived_rows(game_id, "player_actions",
                                         lambda a: a["sequence_number"] == seq)
        game = self.get_game(game_id)
        if stored and stored[0]["action_data"] == action:
            return game
        raise Conflict(f"game {game_id} is at version {game.version}: sequence number {seq} "
                       + ("already holds a different action" if stored else "is not next"))

    def _step(self, current, seq, action, outcome):
        """Translate one rules-engine outcome into row changes (no I/O)."""
        before, after, players = current.state, outcome.state, current.players
        game_id, now = current.game_row["id"], v.now()
        seat = action.get("seat")
        game_changes = {"version": seq, "current_phase": after.phase,
                        "current_round": after.round, "phase_data": after.to_dict()}
        seat_changes = []
        for pos, pid in enumerate(players):
            changes = {}
            if before.hands[pos] != after.hands[pos]:
                changes["pieces_in_hand"] = list(after.hands[pos])
            if before.declarations[pos] != after.declarations[pos]:
                changes["declared_piles"] = after.declarations[pos]
            if before.captured[pos] != after.captured[pos]:
                changes["captured_piles"] = after.captured[pos]
            if before.scores[pos] != after.scores[pos]:
                changes["score"] = after.scores[pos]
            if changes:
                seat_changes.append((pid, changes))
        # Only deals and actions that settle something touch the round's row.
        round_id = (_round_id(game_id, before.round)
                    if outcome.events or action["type"] == "deal" else None)
        round_insert = round_update = room_changes = None
        if action["type"] == "deal" and not before.dealt and before.multiplier == 1:
            round_insert = {"id": round_id, "game_id": game_id, "round_number": before.round,
                            "started_at": now, "ended_at": None, "multiplier": 1,
                            "had_redeal": False, "round_data": {}}
        elif action["type"] == "deal":
            round_update = (round_id, {"multiplier": after.multiplier, "had_redeal": True})
        turn_inserts, player_stats = [], []
        for event in outcome.events:
            if event["type"] == "turn_result":
                turn_inserts.append({
                    "id": uuid.uuid5(game_id, f"turn:{event['round']}:{event['turn']}"),
                    "round_id": round_id, "turn_number": event["turn"], "timestamp": now,
                    "leading_player_id": players[event["starter"]],
                    "required_piece_count": event["piles"],
                    "plays": [{"seat": s, "player_id": str(players[s]), "pieces": p}
                              for s, p in event["plays"]],
                    "winner_id": players[event["winner"]], "pile_count": event["piles"]})
            elif event["type"] == "round_result":
                round_update = (round_id, {"ended_at": now, "multiplier": event["multiplier"],
                                           "round_data": _without_type(event)})
            elif event["type"] == "game_over":
                winner = event["winner"]
                game_changes.update({
                    "ended_at": now, "winner_id": None if winner is None else players[winner],
                    "final_scores": {"totals": event["totals"], "rounds": event["rounds"],
                                     "by_player": {str(p): t for p, t in zip(players, event["totals"])}}})
                room_changes = (current.game_row["room_id"], {"status": "finished"})
                # Sorted by player id, not by seat: two games of the same
                # players ending at once then lock the players' rows in the
                # same order, and cannot deadlock on PostgreSQL.
                for pos, pid, total in sorted(zip(range(4), players, event["totals"]),
                                              key=lambda x: str(x[1])):
                    player_stats.append((pid, {
                        "games_played": Add(1), "games_won": Add(int(pos == winner)),
                        "total_score": Add(total), "highest_score": AtLeast(total)}))
        action_row = {"game_id": game_id, "player_id": None if seat is None else players[seat],
                      "action_type": action["type"], "action_data": action, "timestamp": now,
                      "sequence_number": seq}
        return Step(game_id, seq - 1, game_changes, action_row, seat_changes, round_insert,
                    round_update, turn_inserts, room_changes, player_stats, players)

    def _write_step(self, step):
        """Apply a Step inside the caller's transaction (SQL overrides the hot part)."""
        if not self._update("games", [("id", "=", step.game_id), ("ended_at", "=", None),
                                      ("version", "=", step.expected_version)], step.game_changes):
            raise StaleVersion()
        self._insert("player_actions", step.action_row)
        for player_id, changes in step.seat_changes:
            self._update("game_players", [("game_id", "=", step.game_id),
                                          ("player_id", "=", player_id)], changes)
        self._write_results(step)

    def _write_results(self, step):
        if step.round_insert:
            self._insert("rounds", step.round_insert)
        if step.round_update:
            self._update("rounds", [("id", "=", step.round_update[0])], step.round_update[1])
        for row in step.turn_inserts:
            self._insert("turns", row)
        if step.room_changes:
            self._update("rooms", [("id", "=", step.room_changes[0])], step.room_changes[1])
        for player_id, changes in step.player_stats:
            self._update("players", [("id", "=", player_id)], changes)
        self._after_step_rows(step)

    def _after_step_rows(self, step):
        """What a Step sets off once its rows are written, in the same
        transaction. Every backend's ``_write_step`` ends with it (the SQL
        backends write the rows their own way, see backends/sql.py)."""
        if step.player_stats:
            # After the statistics updates, which lock the players' rows.
            self._progress_at_game_end(step)
            self._award_achievements(step.game_id, step.players, step.game_changes["winner_id"],
                                     step.game_changes["ended_at"])
        # Rare (a round's or the game's end): the per-action path skips it.
        if step.round_update or step.room_changes:
            self._lifecycle_events(step)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _round_id(game_id, round_number):
    """A round's id, derived from its game's (the same in every process).
    Memoised: a uuid5 is a SHA-1, and a round's turns all need its id."""
    return uuid.uuid5(game_id, f"round:{round_number}")


def _imported_end(state):
    """The game_over event of a game imported already finished."""
    return {"type": "game_over", "winner": state.winner, "totals": list(state.scores),
            "rounds": state.round}


def _without_type(event):
    return json.loads(json.dumps({k: x for k, x in event.items() if k != "type"}))
