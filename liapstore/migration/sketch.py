"""Adapter for the server as DATABASE_SCHEMA.md sketches it.

That document's ``RoomManager`` keeps everything in dicts keyed by room code
(``examples/room_manager.py`` is a plain-Python stand-in):

- ``rooms``: code -> room with ``name``, ``creator_id`` (a player name or
  None) and ``is_public``
- ``room_players``: code -> set of player names
- ``game_state_machines``: code -> machine with ``current_state.phase`` (a
  phase enum whose value, or a string, is an upper-case phase name) and
  ``game`` holding ``round_number``, ``winning_score``, ``max_rounds``,
  ``redeal_multiplier``, ``round_starter`` (a seat), ``players`` (``name``,
  ``is_bot``, ``score``, ``hand``, ``declared`` (None until declared),
  ``captured_piles``, optionally ``zero_declares_in_a_row``) and, in a turn,
  ``turn_number``, ``turn_starter`` and ``current_turn_plays`` ([(seat,
  [pieces])...] in play order). Optional: ``last_turn_winner`` (a seat),
  ``redeal_starter`` (the seat that accepted this round's first redeal) and
  ``pending_redeal_seats`` (weak seats still to decide, in order); without
  the last, every weak seat is taken to be still undecided.
"""
from dataclasses import replace

from ..game import rules
from .common import Reader, RoomSnapshot, show, weak_order

_PHASES = {"PREPARATION": "PREPARATION", "ROUND_START": "PREPARATION",
           "DECLARATION": "DECLARATION", "TURN": "TURN", "TURN_RESULTS": "TURN",
           "SCORING": "SCORING", "GAME_OVER": "GAME_OVER"}


class SketchAdapter:
    """Reads a RoomManager shaped like DATABASE_SCHEMA.md's sketch."""

    shape = "DATABASE_SCHEMA.md sketch"

    @staticmethod
    def fits(manager):
        """Whether ``manager`` has the sketch's dicts."""
        return hasattr(manager, "rooms") and hasattr(manager, "game_state_machines")

    def read(self, manager):
        """A RoomSnapshot per room, in the manager's order; reads only."""
        top = Reader(None)
        rooms = top.mapping(top.attr(manager, "rooms", "room_manager.rooms"), "room_manager.rooms")
        members = top.mapping(top.attr(manager, "room_players", "room_manager.room_players", {}),
                              "room_manager.room_players")
        machines = top.mapping(top.attr(manager, "game_state_machines",
                                        "room_manager.game_state_machines"),
                               "room_manager.game_state_machines")
        return [self.read_room(code, room, members.get(code, ()), machines.get(code))
                for code, room in list(rooms.items())]

    def read_room(self, code, room, members, machine):
        """One room's RoomSnapshot."""
        r = Reader(code)
        creator = r.attr(room, "creator_id", "creator_id")
        snap = RoomSnapshot(
            code=code, name=r.attr(room, "name", "name"), is_public=r.attr(room, "is_public", "is_public"),
            host=None if creator is None else r.name(creator, "creator_id"),
            members=sorted(r.name(n, "room_players[]") for n in r.items(members, "room_players")))
        if machine is None:
            return snap
        current = r.attr(machine, "current_state", "game_state_machine.current_state")
        phase = r.attr(current, "phase", "game_state_machine.current_state.phase")
        phase = getattr(phase, "value", phase)
        if not isinstance(phase, str) or phase not in _PHASES:
            r.fail("game_state_machine.current_state.phase", f"is not a phase: {show(phase)}")
        snap.phase = phase
        game = r.attr(machine, "game", "game_state_machine.game")
        players = r.items(r.attr(game, "players", "game.players"), "game.players", (list, tuple))
        if len(players) != 4:
            r.fail("game.players", f"must hold 4 players, not {len(players)}")
        snap.seats = [r.name(r.attr(p, "name", f"game.players[{i}].name"), f"game.players[{i}].name")
                      for i, p in enumerate(players)]
        if len(set(snap.seats)) != 4:
            r.fail("game.players", f"must name 4 different players, not {snap.seats}")
        snap.bots = {n for i, (n, p) in enumerate(zip(snap.seats, players))
                     if r.attr(p, "is_bot", f"game.players[{i}].is_bot") is True}
        snap.state = r.check(_state(r, game, players, _PHASES[phase]), f"the game in phase {phase!r}")
        return snap


def _state(r, game, players, phase):
    def g(name, *default):
        return r.attr(game, name, f"game.{name}", *default)

    def seat(name, *default):
        value = g(name, *default)
        if value is None:
            return None
        if isinstance(value, bool) or value not in range(4):
            r.fail(f"game.{name}", f"must be a seat 0-3, not {show(value)}")
        return value

    def each(attr, *default, low=None, optional=False):
        values = []
        for i, p in enumerate(players):
            value = r.attr(p, attr, f"game.players[{i}].{attr}", *default)
            values.append(value if optional and value is None
                          else r.integer(value, f"game.players[{i}].{attr}", low))
        return tuple(values)

    hands = tuple(rules.sort_hand(r.kinds(r.attr(p, "hand", f"game.players[{i}].hand"),
                                          f"game.players[{i}].hand"))
                  for i, p in enumerate(players))
    plays = tuple((seat_, tuple(r.kinds(pieces, f"game.current_turn_plays[{i}]")))
                  for i, (seat_, pieces) in enumerate(
                      _pairs(r, g("current_turn_plays", ()) or (), "game.current_turn_plays")))
    state = rules.GameState(
        winning_score=r.integer(g("winning_score"), "game.winning_score", 1),
        max_rounds=r.integer(g("max_rounds"), "game.max_rounds", 1),
        phase=phase if phase in ("PREPARATION", "DECLARATION", "TURN", "GAME_OVER") else "TURN",
        round=r.integer(g("round_number"), "game.round_number", 1),
        multiplier=r.integer(g("redeal_multiplier", 1), "game.redeal_multiplier", 1),
        dealt=any(hands), hands=hands, starter=seat("round_starter", None),
        redeal_starter=seat("redeal_starter", None),
        declarations=each("declared", low=0, optional=True),
        zero_streak=each("zero_declares_in_a_row", 0, low=0),
        turn=r.integer(g("turn_number", 1 if phase == "TURN" else 0), "game.turn_number", 0),
        turn_starter=seat("turn_starter", None) if phase == "TURN" else None,
        plays=plays, captured=each("captured_piles", low=0), scores=each("score"),
        last_turn_winner=seat("last_turn_winner", None))
    if phase == "PREPARATION" and state.dealt:
        if state.round > 1 and state.last_turn_winner is None and state.redeal_starter is None:
            r.fail("game.last_turn_winner", "is missing after round 1")
        pending = g("pending_redeal_seats", None)
        if pending is None:
            pending = [s for s in weak_order(state) if rules.is_weak(state.hands[s])]
        pending = tuple(r.items(pending, "game.pending_redeal_seats", (list, tuple)))
        if pending:
            return replace(state, redeal_pending=pending)
        return replace(state, phase="DECLARATION", starter=weak_order(state)[0],
                       declarations=(None,) * 4)
    if phase == "GAME_OVER":
        leaders = [s for s in range(4) if state.scores[s] == max(state.scores)]
        return replace(state, winner=leaders[0] if len(leaders) == 1 else None)
    if phase == "SCORING":
        try:
            return rules.finish_round(replace(state, turn_starter=state.last_turn_winner)).state
        except rules.RuleViolation as e:
            r.fail("game.players[].captured_piles", f"cannot be scored: {e}")
    return state


def _pairs(r, plays, path):
    pairs = []
    for i, play in enumerate(r.items(plays, path, (list, tuple))):
        if not isinstance(play, (list, tuple)) or len(play) != 2:
            r.fail(f"{path}[{i}]", f"must be a (seat, pieces) pair, not {show(play)}")
        if isinstance(play[0], bool) or play[0] not in range(4):
            r.fail(f"{path}[{i}]", f"names no seat 0-3: {show(play[0])}")
        pairs.append(play)
    return pairs
