"""A plain-Python stand-in for the reference server's live objects.

The reference Liap Tui server (``andynenth/tui-backend``, ``backend/engine/``)
keeps each room in an ``AsyncRoom`` inside an ``AsyncRoomManager``, and each
running game in a ``GameStateMachine`` with one state object per phase. The
classes below have the attributes that server's objects have, with the same
names, types and meanings (written from what those objects hold, not from
its code), so examples and tests can build a live server without running it:

- ``AsyncRoomManager.rooms``: room id -> ``AsyncRoom`` (``room_id``,
  ``host_name``, ``players``: four slots of ``Player`` or None, ``started``,
  ``game``, ``game_state_machine``, ``game_ended``). New rooms seat their host
  and bots named "Bot 2", "Bot 3", "Bot 4", in every room alike.
- ``GameStateMachine``: ``game``, ``current_phase`` (a ``GamePhase``, a str
  enum with lowercase values), ``current_state`` and ``states`` (phase ->
  state object).
- ``Game``: ``players``, ``round_number``, ``max_score`` (the winning
  score), ``max_rounds``, ``redeal_multiplier``, ``turn_number`` and, as player
  names, ``round_starter``, ``current_player`` and ``last_turn_winner``;
  ``current_turn_plays`` stays empty (the turn state holds the turn).
- ``Player``: ``name``, ``is_bot``, ``hand`` (``Piece``s with ``kind`` and
  ``point``), ``score``, ``declared`` (0 until the seat declares),
  ``captured_piles``, ``zero_declares_in_a_row`` (counted when declaring).

``Table`` drives one such game the way the server moves it: it takes the
actions of a game played by liapstore's rules engine and bots and updates
the objects where the server would, including the server's in-between
moments: redeal decisions collected at once, played pieces leaving the hands
only when the turn completes, the pause after a turn's last play (phase
'turn_results', piles already awarded, the four plays still listed), and the
scoring phase (the round's score already added).
"""
import random
from enum import Enum

from liapstore.game import bots, rules


class GamePhase(str, Enum):
    WAITING = "waiting"
    PREPARATION = "preparation"
    ROUND_START = "round_start"
    DECLARATION = "declaration"
    TURN = "turn"
    TURN_RESULTS = "turn_results"
    SCORING = "scoring"
    GAME_OVER = "game_over"


class Piece:
    def __init__(self, kind):
        self.kind = kind
        self.point = rules.POINTS[kind]

    @property
    def name(self):
        return self.kind.split("_")[0]

    @property
    def color(self):
        return self.kind.split("_")[1]

    def __repr__(self):
        return f"{self.kind}({self.point})"

    def to_dict(self):
        return {"kind": self.kind, "point": self.point, "name": self.name, "color": self.color}


class Player:
    def __init__(self, name, is_bot=False):
        self.name = name
        self.hand = []
        self.score = 0
        self.declared = 0
        self.captured_piles = 0
        self.is_bot = is_bot
        self.zero_declares_in_a_row = 0
        self.avatar_color = None if is_bot else "blue"
        self.turns_won = 0
        self.perfect_rounds = 0
        self.is_connected = True
        self.disconnect_time = None
        self.original_is_bot = is_bot
        self.pending_bot_takeover = None
        self.bot_takeover_scheduled = False

    def record_declaration(self, value):
        self.declared = value
        self.zero_declares_in_a_row = self.zero_declares_in_a_row + 1 if value == 0 else 0


class Game:
    def __init__(self, players):
        self.players = players
        self.current_order = []
        self.round_number = 1
        self.max_score = 50
        self.max_rounds = 20
        self.last_round_winner = None
        self.redeal_multiplier = 1
        self.current_turn_plays = []
        self.required_piece_count = None
        self.turn_order = []
        self.last_turn_winner = None
        self.turn_number = 0
        self.current_player = None
        self.round_starter = None
        self.player_declarations = {}
        self.pile_counts = {}
        self.round_scores = {}
        self.turn_results = []
        self.start_time = None

    def get_player_order_from(self, name):
        names = [p.name for p in self.players]
        i = names.index(name)
        return self.players[i:] + self.players[:i]


class _State:
    phase = None

    def __init__(self, machine):
        self.state_machine = machine
        self.phase_data = {}


class WaitingState(_State):
    phase = GamePhase.WAITING


class PreparationState(_State):
    phase = GamePhase.PREPARATION

    def __init__(self, machine):
        super().__init__(machine)
        self.weak_players = set()
        self.redeal_decisions = {}
        self.weak_players_awaiting = set()
        self.decision_start_time = None
        self.decision_timeout = 30.0
        self.warning_sent = False
        self.redeal_requester = None
        self.initial_deal_complete = False


class RoundStartState(_State):
    phase = GamePhase.ROUND_START


class DeclarationState(_State):
    phase = GamePhase.DECLARATION


class TurnState(_State):
    phase = GamePhase.TURN

    def __init__(self, machine):
        super().__init__(machine)
        self.current_turn_starter = None
        self.required_piece_count = None
        self.turn_plays = {}
        self.turn_order = []
        self.current_player_index = 0
        self.turn_complete = False
        self.winner = None


class TurnResultsState(_State):
    phase = GamePhase.TURN_RESULTS

    def __init__(self, machine):
        super().__init__(machine)
        self.display_duration = 7.0
        self.turn_winner = None
        self.winning_play = None
        self.turn_plays = {}


class ScoringState(_State):
    phase = GamePhase.SCORING

    def __init__(self, machine):
        super().__init__(machine)
        self.round_scores = {}
        self.game_complete = False
        self.winners = []
        self.scores_calculated = False
        self.display_delay_complete = False


class GameOverState(_State):
    phase = GamePhase.GAME_OVER


class GameStateMachine:
    def __init__(self, game):
        self.game = game
        self.room_id = None
        self.action_queue = None
        self.current_state = None
        self.current_phase = None
        self.is_running = True
        self.broadcast_callback = None
        self.states = {cls.phase: cls(self) for cls in (
            WaitingState, PreparationState, RoundStartState, DeclarationState, TurnState,
            TurnResultsState, ScoringState, GameOverState)}

    def enter(self, phase):
        self.current_phase = phase
        self.current_state = self.states[phase]


class AsyncRoom:
    def __init__(self, room_id, host_name):
        self.room_id = room_id
        self.host_name = host_name
        self.players = [Player(host_name)] + [Player(f"Bot {i + 1}", is_bot=True) for i in range(1, 4)]
        self.started = False
        self.game = None
        self.game_state_machine = None
        self.game_ended = False


class AsyncRoomManager:
    def __init__(self):
        self.rooms = {}


# -------------------------------------------------------------- driving a game


class Table:
    """Moves a stand-in room's game forward the way the server does.

    ``feed(action, outcome)`` takes one rules-engine action and what
    ``rules.apply`` made of it. After a turn's last play the table stays in
    the server's pause until the next action (or ``advance()``) moves on.
    """

    def __init__(self, room, winning_score=50, max_rounds=20):
        self.room = room
        room.game = Game(list(room.players))
        room.game.max_score, room.game.max_rounds = winning_score, max_rounds
        room.game_state_machine = machine = GameStateMachine(room.game)
        machine.room_id = room.room_id
        room.started = True
        machine.enter(GamePhase.PREPARATION)
        self.game, self.machine = room.game, machine
        self.state = rules.new_game(winning_score, max_rounds)
        self.ended = False
        self.diverged = False
        self.steps = 0

    def names(self):
        return [p.name for p in self.game.players]

    def player(self, seat):
        return self.game.players[seat]

    def st(self, phase):
        return self.machine.states[phase]

    def feed(self, action, outcome):
        """Apply one engine action (and its outcome) to the server's objects."""
        while self.machine.current_phase in (GamePhase.TURN_RESULTS, GamePhase.SCORING):
            self.advance()
        handler = getattr(self, "_" + action["type"])
        handler(action, outcome)
        self.state = outcome.state

    def advance(self):
        """Leave a pause (turn results or scoring) as the server does after it."""
        phase = self.machine.current_phase
        if phase == GamePhase.TURN_RESULTS:
            if any(p.hand for p in self.game.players):
                self._start_turn(self.st(GamePhase.TURN).winner)
            else:
                self._score_round()
        elif phase == GamePhase.SCORING:
            if self.ended:
                self.machine.enter(GamePhase.GAME_OVER)
                self.room.game_ended = True
            else:
                self._next_round()

    # -- phases ------------------------------------------------------------------

    def _deal(self, action, outcome):
        game, prep = self.game, self.st(GamePhase.PREPARATION)
        if prep.redeal_decisions:
            # The server redeals once every weak seat has answered: those the
            # rules engine never asked (after the first accept) decline.
            for name in prep.weak_players_awaiting:
                prep.redeal_decisions[name] = False
            accepter = next(n for n, yes in prep.redeal_decisions.items() if yes)
            # The server makes the latest accepter the starter; RULES.md (and
            # liapstore) the round's first. Note when the two part ways.
            self.diverged |= prep.redeal_requester not in (None, accepter)
            prep.redeal_requester = accepter
            game.redeal_multiplier += 1
            game.current_player = game.round_starter = accepter
        for seat, hand in enumerate(action["hands"]):
            self.player(seat).hand = [Piece(k) for k in hand]
            self.player(seat).declared = self.player(seat).captured_piles = 0
        game.pile_counts = {n: 0 for n in self.names()}
        prep.initial_deal_complete = True
        prep.redeal_decisions = {}
        prep.weak_players = {p.name for p in game.players if all(x.point <= 9 for x in p.hand)}
        prep.weak_players_awaiting = set(prep.weak_players)
        if outcome.state.phase == "DECLARATION":
            prep.weak_players.clear()
            prep.weak_players_awaiting.clear()
            self._begin_declaration(outcome.state)

    def _redeal(self, action, outcome):
        prep = self.st(GamePhase.PREPARATION)
        name = self.player(action["seat"]).name
        prep.redeal_decisions[name] = action["accept"]
        prep.weak_players_awaiting.discard(name)
        if outcome.state.phase == "DECLARATION":
            prep.weak_players.clear()
            prep.redeal_decisions.clear()
            self._begin_declaration(outcome.state)

    def _begin_declaration(self, state):
        game = self.game
        game.current_player = game.round_starter = self.player(state.starter).name
        game.player_declarations = {}
        decl = self.st(GamePhase.DECLARATION)
        decl.phase_data = {"declaration_order": game.get_player_order_from(game.round_starter),
                           "current_declarer_index": 0, "declarations": {}, "declaration_total": 0}
        self.machine.enter(GamePhase.DECLARATION)

    def _declare(self, action, outcome):
        player, data = self.player(action["seat"]), self.st(GamePhase.DECLARATION).phase_data
        player.record_declaration(action["piles"])
        data["declarations"][player.name] = action["piles"]
        data["declaration_total"] += action["piles"]
        data["current_declarer_index"] += 1
        self.game.player_declarations[player.name] = action["piles"]
        if len(data["declarations"]) == 4:
            self._start_turn(self.game.round_starter)

    def _start_turn(self, starter):
        ts = self.st(GamePhase.TURN)
        self.game.turn_number += 1
        ts.current_turn_starter = starter
        ts.turn_order = [p.name for p in self.game.get_player_order_from(starter)]
        ts.turn_plays = {}
        ts.required_piece_count = None
        ts.current_player_index = 0
        ts.turn_complete = False
        ts.winner = None
        self.machine.enter(GamePhase.TURN)

    def _play(self, action, outcome):
        ts, player = self.st(GamePhase.TURN), self.player(action["seat"])
        pieces = list(action["pieces"])
        if ts.required_piece_count is None:
            ts.required_piece_count = len(pieces)
        # The pieces stay in the hand until the turn completes.
        held = list(player.hand)
        chosen = []
        for kind in pieces:
            piece = next(p for p in held if p.kind == kind)
            held.remove(piece)
            chosen.append(piece)
        ts.turn_plays[player.name] = {"pieces": chosen, "piece_count": len(chosen),
                                      "play_type": rules.play_type(pieces) or "INVALID",
                                      "play_value": rules.play_value(pieces), "is_valid": True}
        ts.current_player_index += 1
        if ts.current_player_index < 4:
            return
        result = next(e for e in outcome.events if e["type"] == "turn_result")
        winner = self.player(result["winner"])
        ts.turn_complete, ts.winner = True, winner.name
        winner.captured_piles += ts.required_piece_count
        winner.turns_won += 1
        self.game.pile_counts[winner.name] = self.game.pile_counts.get(winner.name, 0) + ts.required_piece_count
        by_name = {p.name: p for p in self.game.players}
        for name, play in ts.turn_plays.items():
            for piece in play["pieces"]:
                by_name[name].hand.remove(piece)
        ts.current_turn_starter = winner.name
        if not any(p.hand for p in self.game.players):
            self.game.last_turn_winner = winner.name
            self.round_result = next(e for e in outcome.events if e["type"] == "round_result")
            self.ended = any(e["type"] == "game_over" for e in outcome.events)
        results = self.st(GamePhase.TURN_RESULTS)
        results.turn_winner, results.turn_plays = winner.name, dict(ts.turn_plays)
        self.machine.enter(GamePhase.TURN_RESULTS)

    def _score_round(self):
        sc = self.st(GamePhase.SCORING)
        sc.round_scores = {}
        for seat, player in enumerate(self.game.players):
            final = self.round_result["scores"][seat]
            player.score += final
            sc.round_scores[player.name] = {
                "declared": player.declared, "actual": player.captured_piles,
                "multiplier": self.game.redeal_multiplier, "final_score": final,
                "total_score": player.score}
        sc.scores_calculated = True
        sc.game_complete = self.ended
        self.machine.enter(GamePhase.SCORING)

    def _next_round(self):
        game = self.game
        game.round_number += 1
        game.redeal_multiplier = 1
        game.round_starter = game.current_player = game.last_turn_winner
        game.turn_number = 0
        prep = self.st(GamePhase.PREPARATION)
        prep.redeal_requester = None
        for p in game.players:
            p.hand = []
        self.machine.enter(GamePhase.PREPARATION)


def play_into(table, seed, stop, script=()):
    """Play the table's game until ``stop(table)`` is true (checked before
    each action) or the game ends; return the number of actions made. The
    actions in ``script`` come first, then liapstore's bots choose."""
    steps, script = 0, list(script)
    while table.state.phase != "GAME_OVER" and not stop(table):
        action = script.pop(0) if script else bots.next_action(table.state, seed, steps + 1)
        table.feed(action, rules.apply(table.state, action))
        steps += 1
        table.steps += 1
    return steps


def weak_deal():
    """A deal action in which seats 1, 2 and 3 hold weak hands (seat 0 holds
    every piece over 9, GENERAL_RED among them, so seat 1 decides first)."""
    strong = [k for k in rules.DECK if rules.POINTS[k] > 9]
    weak = [k for k in rules.DECK if rules.POINTS[k] <= 9]
    return {"type": "deal", "hands": [strong] + [weak[i::3] for i in range(3)]}


def in_phase(phase, when=lambda table: True):
    """A stop condition: the server is in ``phase`` and ``when(table)`` holds."""
    return lambda table: table.machine.current_phase == phase and when(table)


def sample_server(seed=1):
    """A live server with a room in each phase a room passes through.

    LOBBY1 waits for players; PREP01 has redeal decisions half made;
    DECL01 has two declarations made; TURN01 a turn under way in round 2;
    PAUSE1 is in the pause after a turn's last play; SCORE1 shows a round's
    scores; OVER01 holds a finished game the server has not cleaned up yet.
    """
    manager = AsyncRoomManager()
    manager.rooms["LOBBY1"] = AsyncRoom("LOBBY1", "Alice")
    rooms = {
        "PREP01": (lambda t: True, [weak_deal(), {"type": "redeal", "seat": 1, "accept": False}]),
        "DECL01": (in_phase(GamePhase.DECLARATION, lambda t: t.state.declarations.count(None) == 2),
                   ()),
        "TURN01": (in_phase(GamePhase.TURN, lambda t: t.state.round == 2 and len(t.state.plays) == 2),
                   ()),
        "PAUSE1": (in_phase(GamePhase.TURN_RESULTS, lambda t: any(t.state.hands)), ()),
        "SCORE1": (in_phase(GamePhase.TURN_RESULTS, lambda t: not any(t.state.hands)), ()),
        "OVER01": (lambda t: False, ()),
    }
    for code, (stop, script) in rooms.items():
        room = manager.rooms[code] = AsyncRoom(code, f"Host {code}")
        table = Table(room)
        play_into(table, f"{seed}:{code}", lambda t, n=len(script): t.steps >= n and stop(t), script)
        if code == "SCORE1":
            table.advance()
        if code == "OVER01":
            table.advance()
            table.advance()
    return manager
