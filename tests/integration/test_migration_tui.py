"""DataMigrator against the reference server's real shape, phase by phase.

The live server is examples/tui_server.py: stand-ins with the attributes of
the reference server's AsyncRoomManager, AsyncRoom, Game, Player, Piece and
GameStateMachine with its phase states, driven the way that server moves a
game. Each test stops a game in one phase, migrates it, and checks field by
field that the stored state is the server's, that it equals the rules
engine's state at that point, and that the game then plays to its end and
verifies.
"""
import copy
import os
import subprocess
import sys
from dataclasses import replace
from enum import Enum
from pathlib import Path

import pytest

from liapstore import InvalidInput
from liapstore.game import bots, rules
from liapstore.migration import DataMigrator
from liapstore.simulate import play_on

sys.path.insert(0, str(Path(__file__).parents[2] / "examples"))
import tui_server as tui  # noqa: E402
from tui_server import GamePhase, in_phase  # noqa: E402


def table_in(code, stop, script=(), seed="s", host="Ann"):
    """A one-room server whose game is stopped where ``stop`` says."""
    manager = tui.AsyncRoomManager()
    room = manager.rooms[code] = tui.AsyncRoom(code, host)
    table = tui.Table(room)
    tui.play_into(table, f"{seed}:{code}", lambda t: t.steps >= len(script) and stop(t), script)
    assert not table.diverged
    return manager, table


def unknowable(state):
    """``state`` without what a server that counts zeros at declaring has lost:
    the old streak of a seat that has declared more than 0 this round (the
    rules reset it at the round's end whatever it was)."""
    if state.phase not in ("DECLARATION", "TURN"):
        return state
    return replace(state, zero_streak=tuple(0 if d not in (None, 0) else z
                                            for z, d in zip(state.zero_streak, state.declarations)))


def migrate_one(store, manager, code):
    report = DataMigrator(store).migrate_active_games(manager)
    assert report.rooms == [code] and report.skipped == []
    room = store.get_room_by_code(code)
    return report, store.load_game(room.current_game_id)


def assert_mirrors(saved, table):
    """The stored game holds what the server's objects hold, field by field."""
    game, state = table.game, saved.state
    names = [p.name for p in game.players]
    ts = table.st(GamePhase.TURN)
    in_turn = table.machine.current_phase == GamePhase.TURN
    # In the pause after a round's last turn the server has not added the
    # round's scores yet (its scoring phase does); the stored game has.
    round_over = table.machine.current_phase == GamePhase.TURN_RESULTS and not any(state.hands)
    added = table.round_result["scores"] if round_over else [0] * 4
    for seat, (p, s) in enumerate(zip(game.players, saved.seats)):
        hand = [x.kind for x in p.hand]
        if in_turn:  # Played pieces stay in the server's hands until the turn completes.
            for x in ts.turn_plays.get(p.name, {}).get("pieces", []):
                hand.remove(x.kind)
        assert sorted(s.pieces_in_hand) == sorted(hand) == sorted(state.hands[seat])
        assert s.score == p.score + added[seat] == state.scores[seat]
        if state.dealt:  # The server clears last round's piles only when it deals.
            assert s.captured_piles == p.captured_piles == state.captured[seat]
        assert s.is_bot == p.is_bot
        if table.machine.current_phase == GamePhase.DECLARATION:
            made = table.st(GamePhase.DECLARATION).phase_data["declarations"]
            assert state.declarations[seat] == made.get(p.name)
            # The server has already counted a declared 0; the rules count it later.
            want = {None: p.zero_declares_in_a_row, 0: p.zero_declares_in_a_row - 1}
            assert state.zero_streak[seat] == want.get(made.get(p.name), 0)
    assert state.multiplier == game.redeal_multiplier or round_over
    assert state.winning_score == game.max_score and state.max_rounds == game.max_rounds
    if state.phase in ("DECLARATION", "TURN"):
        assert names[state.starter] == game.round_starter
    if in_turn:
        assert [(names[s], list(p)) for s, p in state.plays] == \
            [(n, [x.kind for x in play["pieces"]]) for n, play in ts.turn_plays.items()]
        assert names[state.turn_starter] == ts.current_turn_starter
        assert state.turn == game.turn_number
    assert state.round == game.round_number + (round_over and state.phase == "PREPARATION")
    if table.machine.current_phase == GamePhase.PREPARATION and state.phase == "PREPARATION":
        prep = table.st(GamePhase.PREPARATION)
        assert {names[s] for s in state.redeal_pending} | set(prep.redeal_decisions) \
            >= prep.weak_players_awaiting
        assert not {names[s] for s in state.redeal_pending} & set(prep.redeal_decisions)


def finish_and_verify(store, saved):
    assert store.verify_game(saved.game.id) == []
    game, _ = play_on(store, saved.game, saved.state, "after")
    assert game.current_phase == "GAME_OVER"
    assert store.verify_game(game.id) == []


def continues_alike(a, b, seed="both"):
    """Play two states with the same bots; the actions and scores must agree."""
    for step in range(1, 2000):
        if a.phase == "GAME_OVER" or b.phase == "GAME_OVER":
            break
        action = bots.next_action(a, seed, step)
        assert rules.expected(a) == rules.expected(b)
        assert bots.next_action(b, seed, step) == action
        a, b = rules.apply(a, action).state, rules.apply(b, action).state
    assert (a.phase, a.scores, a.winner) == (b.phase, b.scores, b.winner)


ROUND_OVER = in_phase(GamePhase.TURN_RESULTS, lambda t: not any(t.state.hands) and t.state.phase != "GAME_OVER")
PAUSE = in_phase(GamePhase.TURN_RESULTS, lambda t: any(t.state.hands))

# name -> (where to stop, seed, how many times the server then moves on by itself)
PHASES = {
    "declaration, two made": (in_phase(GamePhase.DECLARATION,
                                       lambda t: t.state.declarations.count(None) == 2), "d", 0),
    "declaration in round 3": (in_phase(GamePhase.DECLARATION, lambda t: t.state.round == 3
                                        and t.state.declarations.count(None) == 1), "d3", 0),
    "turn 1, none played": (in_phase(GamePhase.TURN, lambda t: not t.state.plays), "t0", 0),
    "next turn, none played": (PAUSE, "t1", 1),
    "turn, three played": (in_phase(GamePhase.TURN, lambda t: len(t.state.plays) == 3), "t3", 0),
    "turn in round 2": (in_phase(GamePhase.TURN, lambda t: t.state.round == 2
                                 and len(t.state.plays) == 1), "t2", 0),
    "pause after a turn": (PAUSE, "p", 0),
    "pause after a round's last turn": (ROUND_OVER, "pr", 0),
    "next round, before its deal": (ROUND_OVER, "n", 2),
}


@pytest.mark.parametrize("where", sorted(PHASES))
def test_each_phase_migrates_exactly(store, where):
    stop, seed, moves = PHASES[where]
    manager, table = table_in("ROOM1", stop, seed=seed)
    assert stop(table)  # The game stopped there, not at its end.
    for _ in range(moves):
        table.advance()
    _, saved = migrate_one(store, manager, "ROOM1")
    assert unknowable(saved.state) == unknowable(table.state)
    assert_mirrors(saved, table)
    continues_alike(saved.state, table.state)
    finish_and_verify(store, saved)


def test_redeal_decisions_already_made_are_not_asked_again(store):
    decline = {"type": "redeal", "seat": 1, "accept": False}
    manager, table = table_in("PREP1", lambda t: True, [tui.weak_deal(), decline])
    prep = table.st(GamePhase.PREPARATION)
    assert prep.redeal_decisions == {"Bot 2": False} and prep.weak_players_awaiting == {"Bot 3", "Bot 4"}
    _, saved = migrate_one(store, manager, "PREP1")
    assert saved.state == table.state and saved.state.redeal_pending == (2, 3)
    assert rules.expected(saved.state).seat == 2  # Seat 1 is not asked again.
    assert_mirrors(saved, table)
    finish_and_verify(store, saved)


def test_an_accept_made_while_earlier_seats_still_decide_is_kept(store):
    # The server collects decisions at once: seat 3 ("Bot 4") has accepted
    # while seats 1 and 2, before it in order, have not answered yet.
    manager, table = table_in("PREP2", lambda t: True, [tui.weak_deal()])
    prep = table.st(GamePhase.PREPARATION)
    prep.redeal_decisions["Bot 4"] = True
    prep.weak_players_awaiting.discard("Bot 4")
    _, saved = migrate_one(store, manager, "PREP2")
    state = saved.state
    assert (state.redeal_pending, state.redeal_accepted) == ((1, 2), 3)
    # Seats 1 and 2 decline: seat 3's redeal happens, seat 3 starts the round.
    after = state
    for seat in (1, 2):
        after = rules.apply(after, {"type": "redeal", "seat": seat, "accept": False}).state
    assert (after.dealt, after.multiplier, after.redeal_starter) == (False, 2, 3)
    # Seat 1 accepts: it is first in order, so its redeal wins.
    first = rules.apply(state, {"type": "redeal", "seat": 1, "accept": True}).state
    assert (first.multiplier, first.redeal_starter, first.redeal_accepted) == (2, 1, None)
    finish_and_verify(store, saved)


def test_the_accepter_of_a_redeal_starts_the_round(store):
    # Seat 1 accepted a redeal; in the new deal every weak seat declines:
    # seat 1, not the GENERAL_RED holder, starts the round.
    script = [tui.weak_deal(), {"type": "redeal", "seat": 1, "accept": True}, tui.weak_deal()]
    manager, table = table_in("PREP3", lambda t: True, script)
    assert table.st(GamePhase.PREPARATION).redeal_requester == "Bot 2"
    _, saved = migrate_one(store, manager, "PREP3")
    assert saved.state == table.state
    assert (saved.state.redeal_starter, saved.state.redeal_pending) == (1, (1, 2, 3))
    state = saved.state
    for seat in (1, 2, 3):
        state = rules.apply(state, {"type": "redeal", "seat": seat, "accept": False}).state
    assert (state.phase, state.starter, state.multiplier) == ("DECLARATION", 1, 2)
    finish_and_verify(store, saved)


def test_an_accept_that_nothing_can_overturn_redeals_at_once(store):
    # Seat 1 accepted; seats 2 and 3 come after it and cannot change who redeals.
    script = [tui.weak_deal(), {"type": "redeal", "seat": 1, "accept": True}]
    manager, table = table_in("PREP4", lambda t: True, script)
    assert table.st(GamePhase.PREPARATION).weak_players_awaiting == {"Bot 3", "Bot 4"}
    _, saved = migrate_one(store, manager, "PREP4")
    assert saved.state == table.state and rules.expected(saved.state).kind == "deal"
    finish_and_verify(store, saved)


def test_played_pieces_already_out_of_the_hands_are_read_too(store):
    manager, table = table_in("TURN2", in_phase(GamePhase.TURN, lambda t: len(t.state.plays) == 2), seed="o")
    by_name = {p.name: p for p in table.game.players}
    for name, play in table.st(GamePhase.TURN).turn_plays.items():
        for piece in play["pieces"]:
            by_name[name].hand.remove(piece)
    _, saved = migrate_one(store, manager, "TURN2")
    assert unknowable(saved.state) == unknowable(table.state)
    finish_and_verify(store, saved)


def test_the_pause_read_while_the_machine_still_says_turn(store):
    # Servers without a turn_results phase pause in 'turn' with turn_complete set.
    manager, table = table_in("PAUSE", in_phase(GamePhase.TURN_RESULTS, lambda t: any(t.state.hands)),
                              seed="q")
    table.machine.enter(GamePhase.TURN)
    _, saved = migrate_one(store, manager, "PAUSE")
    assert unknowable(saved.state) == unknowable(table.state)
    assert saved.state.turn_starter == table.names().index(table.st(GamePhase.TURN).winner)
    finish_and_verify(store, saved)


def test_scoring_migrates_with_the_round_scored_once(store):
    manager, table = table_in("SCORE", ROUND_OVER, seed="sc")
    table.advance()
    assert table.machine.current_phase == GamePhase.SCORING
    _, saved = migrate_one(store, manager, "SCORE")
    assert saved.state == table.state and saved.state.phase == "PREPARATION"
    assert list(saved.state.scores) == [p.score for p in table.game.players]
    assert list(saved.state.zero_streak) == [p.zero_declares_in_a_row for p in table.game.players]
    continues_alike(saved.state, table.state)
    finish_and_verify(store, saved)


def test_a_finished_game_is_stored_finished(store):
    manager, table = table_in("OVER", lambda t: False, seed="f")
    table.advance()
    table.advance()
    assert table.machine.current_phase == GamePhase.GAME_OVER and table.room.game_ended
    report, saved = migrate_one(store, manager, "OVER")
    assert saved.state == table.state
    assert saved.game.finished and store.get_room_by_code("OVER").status == "finished"
    assert [s.score for s in saved.seats] == [p.score for p in table.game.players]
    assert report.entries[0].detail.startswith("finished game")
    assert store.verify_game(saved.game.id) == []
    stats = [store.get_player(s.player_id) for s in saved.seats]
    assert [p.games_played for p in stats] == [1] * 4
    assert [p.total_score for p in stats] == [p.score for p in table.game.players]


def test_a_waiting_room_moves_without_a_game(store):
    manager = tui.AsyncRoomManager()
    room = manager.rooms["WAIT"] = tui.AsyncRoom("WAIT", "Zoë Ng")
    room.players[2] = None
    report = DataMigrator(store).migrate_active_games(manager)
    stored = store.get_room_by_code("WAIT")
    assert report.rooms == ["WAIT"] and report.games == []
    assert stored.status == "waiting" and stored.current_game_id is None
    assert store.get_player(stored.created_by).display_name == "Zoë Ng"


def snapshot(obj, seen=None):
    """Every attribute reachable from a live object, for telling it is unchanged."""
    seen = set() if seen is None else seen
    if isinstance(obj, (str, int, float, bool, type(None), GamePhase)):
        return obj
    if id(obj) in seen:
        return "<seen>"
    seen.add(id(obj))
    if isinstance(obj, dict):
        return {repr(k): snapshot(v, seen) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = [snapshot(v, seen) for v in obj]
        return sorted(items, key=repr) if isinstance(obj, (set, frozenset)) else items
    return {type(obj).__name__: snapshot(vars(obj), seen)}


def test_a_live_server_in_every_phase_moves_in_one_call(store):
    manager = tui.sample_server(seed=2)
    before = snapshot(manager)
    rows = store.status()["rows"]
    dry = DataMigrator(store).migrate_active_games(manager, dry_run=True)
    assert store.status()["rows"] == rows
    assert [e.outcome for e in dry.entries] == ["would move"] * 7
    report = DataMigrator(store).migrate_active_games(manager)
    assert snapshot(manager) == before  # Read only: nothing changed in the live objects.
    assert report.rooms == list(manager.rooms) == [e.code for e in dry.entries]
    assert [e.phase for e in report.entries] == ["waiting", "preparation", "declaration", "turn",
                                                 "turn_results", "scoring", "game_over"]
    assert len(report.games) == 6 and "PREP01" in str(report)
    for code, room in manager.rooms.items():
        stored = store.get_room_by_code(code)
        if room.game_state_machine is None:
            assert stored.status == "waiting"
            continue
        saved = store.load_game(stored.current_game_id)
        if saved.game.finished:
            assert stored.status == "finished" and store.verify_game(saved.game.id) == []
        else:
            finish_and_verify(store, saved)
    again = DataMigrator(store).migrate_active_games(manager)
    assert again.rooms == [] and [c for c, _ in again.skipped] == list(manager.rooms)
    assert all(why == "already in the store" for _, why in again.skipped)


def test_bots_of_different_rooms_stay_different_players(store):
    manager = tui.AsyncRoomManager()
    for code in ("AAA111", "BBB222"):
        room = manager.rooms[code] = tui.AsyncRoom(code, "Same Human" if code == "AAA111" else "Other")
        tui.play_into(tui.Table(room), code, in_phase(GamePhase.DECLARATION))
    DataMigrator(store).migrate_active_games(manager)
    seats = {code: store.load_game(store.get_room_by_code(code).current_game_id).seats
             for code in manager.rooms}
    bots_a = {s.player_id for s in seats["AAA111"] if s.is_bot}
    bots_b = {s.player_id for s in seats["BBB222"] if s.is_bot}
    assert len(bots_a) == len(bots_b) == 3 and not bots_a & bots_b
    names = {store.get_player(p).display_name for p in bots_a | bots_b}
    assert names == {"Bot 2", "Bot 3", "Bot 4"}
    # Each stored bot sits in exactly one running game.
    for pid in bots_a | bots_b:
        assert len(store.list_games(player_id=pid, active=True).items) == 1


def _declaring():
    return table_in("BAD1", in_phase(GamePhase.DECLARATION, lambda t: t.state.declarations.count(None) == 2),
                    seed="bad")


def _turning():
    return table_in("BAD1", in_phase(GamePhase.TURN, lambda t: len(t.state.plays) == 2), seed="bad")


def _preparing():
    return table_in("BAD1", lambda t: True, [tui.weak_deal()])


BAD = {
    "no max_score": (_declaring, lambda t: delattr(t.game, "max_score"), "game.max_score"),
    "hand is None": (_declaring, lambda t: setattr(t.player(0), "hand", None), "game.players[0].hand"),
    "a piece of no kind": (_declaring, lambda t: t.player(1).hand.append("JOKER"), "game.players[1].hand[8]"),
    "bad phase": (_declaring, lambda t: setattr(t.machine, "current_phase", "lunch"),
                  "game_state_machine.current_phase"),
    "no declaration state": (_declaring, lambda t: t.machine.states.pop(GamePhase.DECLARATION),
                             "game_state_machine.states"),
    "declared but not recorded": (_declaring, lambda t: setattr(
        next(p for p in t.game.players if p.name not in
             t.st(GamePhase.DECLARATION).phase_data["declarations"]), "declared", 3), ".declared"),
    "unknown round starter": (_declaring, lambda t: setattr(t.game, "round_starter", "Ghost"),
                              "game.round_starter"),
    "play by a stranger": (_turning, lambda t: t.st(GamePhase.TURN).turn_plays.update(
        {"Ghost": {"pieces": []}}), "turn.turn_plays"),
    "a lead that is no play": (_turning, lambda t: next(iter(t.st(GamePhase.TURN).turn_plays.values()))
                               .update(pieces=[tui.Piece("SOLDIER_RED"), tui.Piece("CANNON_BLACK")]),
                               "turn.turn_plays"),
    "plays not a dict": (_turning, lambda t: setattr(t.st(GamePhase.TURN), "turn_plays", [1, 2]),
                         "turn.turn_plays"),
    "weak player unknown": (_preparing, lambda t: t.st(GamePhase.PREPARATION).weak_players.add("Ghost"),
                            "preparation.weak_players"),
    "decision by a strong hand": (_preparing, lambda t: t.st(GamePhase.PREPARATION).redeal_decisions.update(
        {"Ann": False}), "preparation.redeal_decisions"),
    "decided yet awaited": (_preparing, lambda t: t.st(GamePhase.PREPARATION).redeal_decisions.update(
        {"Bot 2": False}), "preparation.weak_players_awaiting"),
    "two red generals": (_preparing, lambda t: t.player(1).hand.__setitem__(0, tui.Piece("GENERAL_RED")),
                         "game.players[].hand"),
    "names alike once stored": (_declaring, lambda t: (setattr(t.player(0), "name", "Bot 2"),
                                                       setattr(t.player(0), "is_bot", True),
                                                       setattr(t.player(1), "name", "Bot_2")),
                                "game.players"),
    "three players": (_declaring, lambda t: t.game.players.pop(), "game.players"),
    "multiplier 1.5": (_declaring, lambda t: setattr(t.game, "redeal_multiplier", 1.5),
                       "game.redeal_multiplier"),
    "a 33rd piece": (_turning, lambda t: t.player(0).hand.append(tui.Piece("GENERAL_RED")), "hand"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_shapes_name_the_room_and_the_attribute(store, case):
    build, spoil, attribute = BAD[case]
    manager, table = build()
    good = manager.rooms["GOOD"] = tui.AsyncRoom("GOOD", "Kim")
    tui.play_into(tui.Table(good), "good", in_phase(GamePhase.TURN))
    spoil(table)
    rows = store.status()["rows"]
    with pytest.raises(InvalidInput) as caught:
        DataMigrator(store).migrate_active_games(manager)
    assert "room 'BAD1'" in str(caught.value) and attribute in str(caught.value)
    assert store.status()["rows"] == rows  # Every room is read before any is written.


def test_a_manager_of_no_known_shape_is_refused(store):
    with pytest.raises(InvalidInput, match="neither"):
        DataMigrator(store).migrate_active_games(object())
    broken = tui.AsyncRoomManager()
    broken.rooms = ["not", "a", "dict"]
    with pytest.raises(InvalidInput, match="room_manager.rooms"):
        DataMigrator(store).migrate_active_games(broken)


def test_the_stand_in_is_left_unchanged_by_a_failed_read(store):
    manager, table = _turning()
    table.player(0).hand.append(tui.Piece("GENERAL_RED"))
    before = copy.deepcopy(snapshot(manager))
    with pytest.raises(InvalidInput):
        DataMigrator(store).migrate_active_games(manager)
    assert snapshot(manager) == before


def test_the_example_migrates_a_live_server_and_finishes_every_game(tmp_path):
    example = Path(__file__).parents[2] / "examples" / "migrate_room_manager.py"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    out = subprocess.run([sys.executable, str(example), f"sqlite:///{tmp_path / 'x.db'}"],
                         capture_output=True, text=True, env=env, timeout=600, check=True).stdout
    assert "7 rooms moved, 0 skipped (tui-backend)" in out
    assert out.count("verify -> intact") == 6 and "verify -> [" not in out
    assert "second run: moved []" in out


def _reachable(obj, path="manager", seen=None):
    """(container, key, path) for every attribute, dict entry and list item."""
    seen = set() if seen is None else seen
    # Enum members are shared by every copy: spoiling one would spoil them all.
    if id(obj) in seen or isinstance(obj, (str, int, float, bool, type(None), Enum)):
        return
    seen.add(id(obj))
    if isinstance(obj, dict):
        children = [(k, obj[k], f"{path}[{k!r}]") for k in list(obj)]
    elif isinstance(obj, list):
        children = [(i, x, f"{path}[{i}]") for i, x in enumerate(obj)]
    elif hasattr(obj, "__dict__"):
        children = [(k, x, f"{path}.{k}") for k, x in vars(obj).items()]
    else:
        return
    for key, child, where in children:
        yield obj, key, where
        yield from _reachable(child, where, seen)


SPOILERS = {"None": None, "a string": "x", "a list": [], "a dict": {}, "-1": -1, "1.5": 1.5,
            "an object": object(), "deleted": "delete"}


@pytest.mark.parametrize("phase", ["prep", "decl", "turn", "pause", "score", "sketch"])
def test_any_spoiled_attribute_gives_invalid_input_naming_the_room(phase):
    if phase == "sketch":  # DATABASE_SCHEMA.md's shape, a game in its turn phase
        from room_manager import RoomManager, running_game
        original = RoomManager()
        original.add_room("R1", "table", "Ann", ["Ann", "Ben", "Bot 1", "Bot 2"])
        original.game_state_machines["R1"], _ = running_game(["Ann", "Ben", "Bot 1", "Bot 2"], "x", 25)
        return _spoil_each(original)
    stop, script = {
        "prep": (lambda t: True, [tui.weak_deal()]),
        "decl": (in_phase(GamePhase.DECLARATION, lambda t: t.state.declarations.count(None) == 2), ()),
        "turn": (in_phase(GamePhase.TURN, lambda t: len(t.state.plays) == 2), ()),
        "pause": (PAUSE, ()),
        "score": (ROUND_OVER, ()),
    }[phase]
    original, table = table_in("R1", stop, script, seed=phase)
    if phase == "score":
        table.advance()
    _spoil_each(original)


def _spoil_each(original):
    count = len(list(_reachable(original)))
    for index in range(count):
        for spoiler in SPOILERS.values():
            manager = copy.deepcopy(original)
            obj, key, where = list(_reachable(manager))[index]
            if spoiler == "delete":
                obj.pop(key) if isinstance(obj, (dict, list)) else delattr(obj, key)
            elif isinstance(obj, (dict, list)):
                obj[key] = spoiler
            else:
                setattr(obj, key, spoiler)
            try:
                DataMigrator(None).read(manager)
            except InvalidInput as e:
                # Only the manager's own dicts, spoiled, have no room to name.
                assert "room 'R1'" in str(e) or where.count(".") == 1 and (
                    "room_manager." in str(e) or "neither" in str(e)), (where, e)


def test_round_start_migrates_as_the_declarations_about_to_begin(store):
    # After preparation the server shows the round's starter (round_start)
    # before its declaration state is set up.
    manager, table = table_in("START", in_phase(GamePhase.DECLARATION,
                                                lambda t: t.state.round == 2 and
                                                t.state.declarations.count(None) == 4), seed="rs")
    table.st(GamePhase.DECLARATION).phase_data = {}
    table.machine.enter(GamePhase.ROUND_START)
    _, saved = migrate_one(store, manager, "START")
    assert saved.state == table.state and rules.expected(saved.state).kind == "declare"
    finish_and_verify(store, saved)
