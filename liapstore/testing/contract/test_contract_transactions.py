"""Transaction boundaries: what the store keeps because of a write (the cached
game state today) follows the outermost commit and is dropped on rollback,
nested blocks included; and after any error the same Store keeps working."""
import pytest

from liapstore import Conflict, NotFound
from liapstore.testing.support import SHORT, play_recorded, record, script, start


class Boom(Exception):
    """The caller's own failure inside its transaction."""


def test_a_rolled_back_action_can_be_recorded_again(store):
    table, sc = start(store, **SHORT), script(3)
    (step, _, action, _), rest = sc.steps[0], sc.steps[1:]
    with pytest.raises(Boom):
        with store.transaction():
            assert store.record_action(table.game.id, step, action).version == 1
            raise Boom
    assert store.get_game(table.game.id).version == 0
    assert store.list_actions(table.game.id) == []
    # The retry a server makes after its own failure goes through.
    assert store.record_action(table.game.id, step, action).version == 1
    game = record(store, table.game.id, rest)
    assert game.finished and store.verify_game(game.id) == []


def test_several_actions_in_one_transaction_roll_back_together(store):
    table, sc = start(store, **SHORT), script(4)
    with pytest.raises(Boom):
        with store.transaction():
            record(store, table.game.id, sc.steps[:5])
            raise Boom
    assert store.get_game(table.game.id).version == 0
    game = record(store, table.game.id, sc.steps)
    assert game.version == len(sc.steps) and store.verify_game(game.id) == []


def test_a_failed_inner_block_drops_only_its_own_actions(store):
    table, sc = start(store, **SHORT), script(5)
    with store.transaction():
        record(store, table.game.id, sc.steps[:2])
        with pytest.raises(Boom):
            with store.transaction():
                record(store, table.game.id, sc.steps[2:4])
                raise Boom
        # Inside the outer transaction the game is where its committed part left it.
        assert store.get_game(table.game.id).version == 2
    assert [a.sequence_number for a in store.list_actions(table.game.id)] == [1, 2]
    game = record(store, table.game.id, sc.steps[2:])
    assert game.finished and store.verify_game(game.id) == []


def test_actions_recorded_in_a_committed_transaction_continue_from_there(store):
    table, sc = start(store, **SHORT), script(6)
    with store.transaction():
        record(store, table.game.id, sc.steps[:3])
    assert store.get_game(table.game.id).version == 3
    # Re-sending a committed action is the idempotent no-op; the next one follows.
    step, _, action, _ = sc.steps[2]
    assert store.record_action(table.game.id, step, action).version == 3
    game = record(store, table.game.id, sc.steps[3:])
    assert game.finished and store.verify_game(game.id) == []


def test_a_rolled_back_game_start_leaves_nothing_behind(store):
    players = [store.create_player(f"rb_{i}") for i in range(4)]
    room = store.create_room("RBACK", "Rolled back")
    with pytest.raises(Boom):
        with store.transaction():
            game = store.start_game(room.id, [p.id for p in players], winning_score=1, max_rounds=1)
            raise Boom
    with pytest.raises(NotFound):
        store.get_game(game.id)
    step, _, action, _ = script(1).steps[0]
    with pytest.raises(NotFound):
        store.record_action(game.id, step, action)
    assert store.get_room(room.id).status == "waiting"
    assert list(store.list_games(room_id=room.id).items) == []


def test_a_rolled_back_game_end_changes_no_statistics(store):
    table, sc = start(store, **SHORT), script(7)
    record(store, table.game.id, sc.steps[:-1])
    step, _, action, _ = sc.steps[-1]
    with pytest.raises(Boom):
        with store.transaction():
            assert store.record_action(table.game.id, step, action).finished
            raise Boom
    assert not store.get_game(table.game.id).finished
    assert all(store.get_player(p.id).games_played == 0 for p in table.players)
    assert store.record_action(table.game.id, step, action).finished
    assert all(store.get_player(p.id).games_played == 1 for p in table.players)


def test_the_store_keeps_working_after_errors_inside_a_transaction(store):
    store.create_player("taken")
    with store.transaction():
        with pytest.raises(Conflict):
            store.create_player("taken")
        # The caught error spoiled nothing: the transaction goes on (PostgreSQL
        # runs each write of a transaction in its own savepoint for this).
        store.create_player("fresh")
    assert store.get_player_by_username("fresh")
    table, sc, game = play_recorded(store, 8, code="AFTER")
    assert store.verify_game(game.id) == []
