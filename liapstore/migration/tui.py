"""Adapter for the reference server as it runs (``andynenth/tui-backend``).

What it reads, and where that server keeps it:

- ``manager.rooms``: room id -> room with ``host_name``, ``players`` (four
  slots, each a player or None), ``started`` and ``game_state_machine``
  (None until the game starts). Rooms carry no name and are all public.
- ``machine.current_phase``: a ``GamePhase`` whose value is lowercase
  ('waiting', 'preparation', 'round_start', 'declaration', 'turn',
  'turn_results', 'scoring', 'game_over'); ``machine.states`` maps each phase
  to its state object, which keeps what the phase has collected so far.
- ``machine.game``: ``players`` (``name``, ``is_bot``, ``hand`` of pieces
  with a ``kind``, ``score``, ``declared``, ``captured_piles``,
  ``zero_declares_in_a_row``), ``round_number``, ``max_score`` (the winning
  score), ``max_rounds``, ``redeal_multiplier``, ``turn_number``, and as player
  names ``round_starter`` and ``last_turn_winner`` (the winner of the last
  turn of the previous round: the server sets it when a round's hands empty).
- Preparation: the state's ``weak_players`` and ``weak_players_awaiting``
  (sets of names), ``redeal_decisions`` (name -> accepted) and
  ``redeal_requester`` (who accepted the redeal that dealt these hands).
  The server collects the decisions at once and, when all are in, redeals
  for the first accepter in seat order; the rules engine asks in that order
  and stops at the first accept. So an accept already made is kept
  (``redeal_accepted``) while seats before it still decide, and decisions
  that can no longer change the outcome are not asked again.
- Declaration: ``declared`` is 0 until a seat declares, so who has declared
  comes from the state's ``phase_data['declarations']`` (name -> piles). The
  server adds a declared 0 to ``zero_declares_in_a_row`` at once; the engine
  counts it at the round's end (``common.zero_streak_before``).
- Turn: the turn under way is the turn state's ``turn_plays`` (name ->
  {'pieces': [...]}, in play order) and ``current_turn_starter``;
  ``game.current_turn_plays`` stays empty. Played pieces may still be in the
  hands until the turn completes; the piece count tells which.
- The pause after a turn's last play (``turn_complete`` in the turn state, or
  the 'turn_results' phase): the piles are already awarded while the four
  plays are still listed. The migrator takes the piles back and lets the
  rules engine make the last play, so the turn's result, and the round's
  score if it was the last turn, come out exactly as the rules give them.
- Scoring: the scoring state's ``scores_calculated`` and ``round_scores``
  (name -> {'final_score': ...}) say whether the round's score is already in
  the totals; the engine scores the round itself and must agree.
"""
from collections import Counter
from dataclasses import replace

from ..game import rules
from .common import Reader, RoomSnapshot, show, weak_order, zero_streak_before

_PHASES = ("waiting", "preparation", "round_start", "declaration", "turn", "turn_results",
           "scoring", "game_over")


class TuiBackendAdapter:
    """Reads an ``AsyncRoomManager`` of the reference server."""

    shape = "tui-backend"

    @staticmethod
    def fits(manager):
        """Whether ``manager`` looks like this server's room manager."""
        return hasattr(manager, "rooms") and not hasattr(manager, "game_state_machines")

    def read(self, manager):
        """A RoomSnapshot per room, in the manager's order; reads only."""
        rooms = Reader(None).attr(manager, "rooms", "room_manager.rooms")
        if not isinstance(rooms, dict):
            Reader(None).fail("room_manager.rooms", "must be a dict of room id -> room")
        return [self.read_room(code, room) for code, room in list(rooms.items())]

    def read_room(self, code, room):
        """One room's RoomSnapshot."""
        r = Reader(code)
        host = r.attr(room, "host_name", "host_name", None)
        slots = r.items(r.attr(room, "players", "players"), "players", (list, tuple))
        people = [(i, p) for i, p in enumerate(slots) if p is not None]
        names = [r.name(r.attr(p, "name", f"players[{i}].name"), f"players[{i}].name")
                 for i, p in people]
        bots = {n for (i, p), n in zip(people, names)
                if r.attr(p, "is_bot", f"players[{i}].is_bot") is True}
        snap = RoomSnapshot(code=code, name=f"Room {code}", host=host and r.name(host, "host_name"),
                            members=[n for n in names if n not in bots], bots=bots)
        machine = r.attr(room, "game_state_machine", "game_state_machine", None)
        if machine is None:
            return snap
        phase = r.attr(machine, "current_phase", "game_state_machine.current_phase")
        phase = getattr(phase, "value", phase)
        if not isinstance(phase, str) or phase not in _PHASES:
            r.fail("game_state_machine.current_phase", f"is not a phase of this server: {show(phase)}")
        snap.phase = phase
        if phase != "waiting":
            snap.seats, snap.bots, snap.state = _Game(r, machine, phase).read()
        return snap


class _Game:
    """Reads one state machine's game into a rules GameState."""

    def __init__(self, r, machine, phase):
        self.r, self.machine, self.phase = r, machine, phase
        self.game = r.attr(machine, "game", "game_state_machine.game")

    def g(self, name, default=...):
        args = () if default is ... else (default,)
        return self.r.attr(self.game, name, f"game.{name}", *args)

    def state_of(self, phase):
        """The machine's state object for ``phase`` (keys are GamePhase members)."""
        states = self.r.mapping(self.r.attr(self.machine, "states", "game_state_machine.states"),
                                "game_state_machine.states")
        for key, state in states.items():
            if getattr(key, "value", key) == phase:
                return state
        self.r.fail("game_state_machine.states", f"has no {phase!r} state")

    def read(self):
        r = self.r
        players = r.items(self.g("players"), "game.players", (list, tuple))
        if len(players) != 4:
            r.fail("game.players", f"must hold 4 players, not {len(players)}")
        self.names = [r.name(r.attr(p, "name", f"game.players[{i}].name"), f"game.players[{i}].name")
                      for i, p in enumerate(players)]
        if len(set(self.names)) != 4:
            r.fail("game.players", f"must name 4 different players, not {self.names}")
        bots = {n for i, (n, p) in enumerate(zip(self.names, players))
                if r.attr(p, "is_bot", f"game.players[{i}].is_bot") is True}

        def each(attr, low=None):
            return tuple(r.integer(r.attr(p, attr, f"game.players[{i}].{attr}"),
                                   f"game.players[{i}].{attr}", low)
                         for i, p in enumerate(players))

        self.hands = tuple(tuple(r.kinds(r.attr(p, "hand", f"game.players[{i}].hand"),
                                         f"game.players[{i}].hand"))
                           for i, p in enumerate(players))
        self.scores, self.declared = each("score"), each("declared", 0)
        self.captured, self.counters = each("captured_piles", 0), each("zero_declares_in_a_row", 0)
        self.base = rules.GameState(
            winning_score=r.integer(self.g("max_score"), "game.max_score", 1),
            max_rounds=r.integer(self.g("max_rounds"), "game.max_rounds", 1),
            round=r.integer(self.g("round_number"), "game.round_number", 1),
            multiplier=r.integer(self.g("redeal_multiplier"), "game.redeal_multiplier", 1),
            scores=self.scores)
        read = {"preparation": self.preparation, "round_start": self.preparation,
                "declaration": self.declaration, "turn": self.turn, "turn_results": self.turn,
                "scoring": self.scoring, "game_over": self.game_over}[self.phase]
        return self.names, bots, r.check(read(), f"the game in phase {self.phase!r}")

    def seat_of(self, attr, value=...):
        value = self.g(attr) if value is ... else value
        return None if value is None else self.r.seat(self.names, value, f"game.{attr}")

    def previous_winner(self):
        """The engine's last_turn_winner at a round's start (None in round 1)."""
        if self.base.round == 1:
            return None
        seat = self.seat_of("last_turn_winner")
        if seat is None:
            self.r.fail("game.last_turn_winner", "is missing after round 1")
        return seat

    # -- phases ----------------------------------------------------------------

    def preparation(self):
        r, base = self.r, self.base
        prep = self.state_of("preparation")
        requester = r.attr(prep, "redeal_requester", "preparation.redeal_requester", None)
        accepter = None
        if base.multiplier > 1:
            # A redeal dealt these hands: its accepter starts the round.
            accepter = self.r.seat(self.names, requester or self.g("round_starter"),
                                   "preparation.redeal_requester")
        state = replace(base, redeal_starter=accepter, last_turn_winner=self.previous_winner(),
                        zero_streak=self.counters)
        if not any(self.hands):
            return state
        if Counter(p for h in self.hands for p in h) != Counter(rules.DECK) or any(self.captured):
            r.fail("game.players[].hand", "must hold the 32 pieces, just dealt, during preparation")
        state = replace(state, dealt=True, hands=tuple(rules.sort_hand(h) for h in self.hands))
        weak = {self.r.seat(self.names, n, "preparation.weak_players")
                for n in r.items(r.attr(prep, "weak_players", "preparation.weak_players"),
                                 "preparation.weak_players")}
        decisions = {}
        for name, accept in r.mapping(r.attr(prep, "redeal_decisions", "preparation.redeal_decisions"),
                                      "preparation.redeal_decisions").items():
            seat = self.r.seat(self.names, name, "preparation.redeal_decisions")
            if not isinstance(accept, bool) or seat not in weak:
                r.fail("preparation.redeal_decisions", f"holds {show(name)}: {show(accept)}, "
                       "which is no weak player's accept or decline")
            decisions[seat] = accept
        awaiting = {self.r.seat(self.names, n, "preparation.weak_players_awaiting")
                    for n in r.items(r.attr(prep, "weak_players_awaiting",
                                            "preparation.weak_players_awaiting"),
                                     "preparation.weak_players_awaiting")}
        if awaiting != weak - set(decisions):
            r.fail("preparation.weak_players_awaiting", "is not the weak players yet to decide")
        truly_weak = {s for s in range(4) if rules.is_weak(state.hands[s])}
        if weak and weak != truly_weak:
            r.fail("preparation.weak_players", "does not match the weak hands dealt")
        order = weak_order(state)
        first_accept = next((s for s in order if decisions.get(s) is True), None)
        stop = order.index(first_accept) if first_accept is not None else 4
        pending = tuple(s for s in order[:stop] if s in weak and s not in decisions)
        if first_accept is not None and not pending:
            # Nothing can change the outcome any more: the redeal happens.
            return rules.apply(replace(state, redeal_pending=(first_accept,)),
                               {"type": "redeal", "seat": first_accept, "accept": True}).state
        if pending:
            return replace(state, redeal_pending=pending, redeal_accepted=first_accept)
        # Every weak seat declined (or none is weak): declarations begin.
        return replace(state, phase="DECLARATION", starter=order[0],
                             declarations=(None,) * 4)

    def round_so_far(self, declaring=False):
        """Starter, declarations and streaks of the round under way.

        While seats declare, ``declared`` cannot tell a 0 from no declaration
        yet, so the declaration state's record says who has declared; after
        that every seat's ``declared`` is its declaration.
        """
        r = self.r
        declarations = list(self.declared)
        if declaring:
            decl = self.state_of("declaration")
            data = r.mapping(r.attr(decl, "phase_data", "declaration.phase_data"),
                             "declaration.phase_data")
            made = r.mapping(data.get("declarations"), "declaration.phase_data['declarations']")
            declarations = [None] * 4
            for name, piles in made.items():
                seat = r.seat(self.names, name, "declaration.phase_data['declarations']")
                declarations[seat] = r.integer(
                    piles, f"declaration.phase_data['declarations'][{name!r}]", 0)
                if declarations[seat] != self.declared[seat]:
                    r.fail(f"game.players[{seat}].declared",
                           f"is {self.declared[seat]}, but the declaration state says {piles}")
        for seat, d in enumerate(declarations):
            if d is None and self.declared[seat] != 0:
                r.fail(f"game.players[{seat}].declared", "is set for a seat that has not declared")
        starter = self.seat_of("round_starter")
        if starter is None:
            r.fail("game.round_starter", "is missing once the round has started")
        order = [(starter + i) % 4 for i in range(4)]
        done = [s for s in order if declarations[s] is not None]
        if done != order[:len(done)]:
            r.fail("declaration.phase_data['declarations']",
                   "is not a run of seats in order from the round starter")
        return starter, tuple(declarations), zero_streak_before(self.counters, declarations)

    def started_round(self, starter, declarations, streak):
        return replace(
            self.base, phase="DECLARATION", dealt=True, starter=starter,
            redeal_starter=starter if self.base.multiplier > 1 else None,
            declarations=declarations, zero_streak=streak, captured=self.captured,
            last_turn_winner=self.previous_winner(),
            hands=tuple(rules.sort_hand(h) for h in self.hands))

    def declaration(self):
        if any(self.captured):
            self.r.fail("game.players[].captured_piles", "must be 0 while declaring")
        return self.started_round(*self.round_so_far(declaring=True))

    def turn(self):
        r = self.r
        starter, declarations, streak = self.round_so_far()
        ts = self.state_of("turn")
        number = r.integer(self.g("turn_number"), "game.turn_number", 1)
        plays = []
        for name, play in r.mapping(r.attr(ts, "turn_plays", "turn.turn_plays"),
                                    "turn.turn_plays").items():
            seat = r.seat(self.names, name, "turn.turn_plays")
            pieces = r.kinds(r.mapping(play, f"turn.turn_plays[{name!r}]").get("pieces"),
                             f"turn.turn_plays[{name!r}]['pieces']")
            plays.append((seat, tuple(pieces)))
        complete = self.phase == "turn_results" or r.attr(ts, "turn_complete",
                                                          "turn.turn_complete", False) is True
        if complete and len(plays) != 4:
            r.fail("turn.turn_plays", f"must list the 4 plays of a completed turn, not {len(plays)}")
        if not complete and len(plays) == 4:
            r.fail("turn.turn_complete", "is false with all 4 plays made")
        if plays and not (rules.play_type(plays[0][1]) and
                          all(len(p) == len(plays[0][1]) for _, p in plays)):
            r.fail("turn.turn_plays", "does not start with a valid play followed by plays "
                   "of as many pieces")
        lead = plays[0][0] if plays else self.seat_of("current_turn_starter",
                                                        r.attr(ts, "current_turn_starter",
                                                               "turn.current_turn_starter"))
        if [s for s, _ in plays] != [(lead + i) % 4 for i in range(len(plays))]:
            r.fail("turn.turn_plays", "is not in seat order from the turn's starter")
        hands = [list(h) for h in self.hands]
        played = sum(len(p) for _, p in plays)
        awarded = len(plays[0][1]) if complete else 0
        held = sum(map(len, hands)) + 4 * (sum(self.captured) - awarded)
        if plays and held == len(rules.DECK):
            # The server removes played pieces from the hands only when the
            # turn completes: take them out here.
            for seat, pieces in plays:
                for piece in pieces:
                    if piece not in hands[seat]:
                        r.fail(f"game.players[{seat}].hand", f"lacks {piece}, which it played")
                    hands[seat].remove(piece)
        elif held + played != len(rules.DECK):
            r.fail("game.players[].hand", "with the turn's plays and the captured piles does "
                   "not add up to the 32-piece deck")
        captured = list(self.captured)
        if complete:
            # Take the awarded piles back; the rules engine awards them again
            # when it makes the last play below.
            winner = self.seat_of("winner", r.attr(ts, "winner", "turn.winner"))
            if winner is None or captured[winner] < len(plays[0][1]):
                r.fail("turn.winner", "has not been awarded the completed turn's piles")
            captured[winner] -= len(plays[0][1])
            last_seat, last = plays.pop()
            hands[last_seat] += list(last)
        state = replace(
            self.started_round(starter, declarations, streak), phase="TURN", turn=number,
            turn_starter=lead, plays=tuple(plays), captured=tuple(captured),
            hands=tuple(rules.sort_hand(h) for h in hands),
            last_turn_winner=lead if number > 1 else self.previous_winner())
        if not complete:
            return state
        r.check(state, "the turn before its last play")
        try:
            outcome = rules.apply(state, {"type": "play", "seat": last_seat, "pieces": list(last)})
        except rules.RuleViolation as e:
            r.fail("turn.turn_plays", f"holds a last play the rules reject: {e}")
        result = next(e for e in outcome.events if e["type"] == "turn_result")
        if result["winner"] != winner:
            r.fail("turn.winner", f"is {self.names[winner]!r}, but the rules give the turn "
                   f"to {self.names[result['winner']]!r}")
        return outcome.state

    def scoring(self):
        r = self.r
        starter, declarations, streak = self.round_so_far()
        sc = self.state_of("scoring")
        scores = list(self.scores)
        calculated = r.attr(sc, "scores_calculated", "scoring.scores_calculated", False) is True
        if calculated:
            # The round's score is already in the totals: take it out again.
            table = r.mapping(r.attr(sc, "round_scores", "scoring.round_scores"),
                              "scoring.round_scores")
            for seat, name in enumerate(self.names):
                row = r.mapping(table.get(name), f"scoring.round_scores[{name!r}]")
                scores[seat] -= r.integer(row.get("final_score"),
                                          f"scoring.round_scores[{name!r}]['final_score']")
        if any(self.hands):
            r.fail("game.players[].hand", "must be empty while the round is scored")
        state = replace(
            self.started_round(starter, declarations, streak), phase="TURN",
            turn=r.integer(self.g("turn_number"), "game.turn_number", 1),
            turn_starter=self.seat_of("last_turn_winner"), scores=tuple(scores),
            last_turn_winner=self.seat_of("last_turn_winner"))
        try:
            after = rules.finish_round(state).state
        except rules.RuleViolation as e:
            r.fail("game.players[].captured_piles", f"cannot be scored: {e}")
        if calculated and after.scores != self.scores:
            r.fail("scoring.round_scores", f"give totals {list(self.scores)}, but the rules "
                   f"give {list(after.scores)}")
        return after

    def game_over(self):
        starter, declarations, streak = self.round_so_far()
        top = max(self.scores)
        leaders = [s for s in range(4) if self.scores[s] == top]
        return replace(
            self.started_round(starter, declarations, streak), phase="GAME_OVER",
            hands=((),) * 4, zero_streak=self.counters,
            last_turn_winner=self.seat_of("last_turn_winner"),
            winner=leaders[0] if len(leaders) == 1 else None)
