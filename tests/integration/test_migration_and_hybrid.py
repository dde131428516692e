"""Moving a live in-memory server into the store, and the HybridStorage read path."""
import sys
import uuid
from types import SimpleNamespace
from pathlib import Path

import pytest
import redis

from liapstore import InvalidInput
from liapstore.game import bots
from liapstore.hybrid import HybridStorage
from liapstore.migration import DataMigrator
from liapstore.simulate import play_on

sys.path.insert(0, str(Path(__file__).parents[2] / "examples"))
from room_manager import running_game, sample_server  # noqa: E402


def test_migration_moves_rooms_and_running_games(store):
    manager = sample_server(seed=3)
    report = DataMigrator(store).migrate_active_games(manager)
    assert sorted(report.rooms) == ["LOBBY1", "ROOM42", "ROOM77"]
    assert len(report.games) == 2
    assert store.get_room_by_code("LOBBY1").status == "waiting"
    for code in ("ROOM42", "ROOM77"):
        room = store.get_room_by_code(code)
        assert room.status == "playing"
        saved = store.load_game(room.current_game_id)
        legacy = manager.game_state_machines[code].game
        assert [s.score for s in saved.seats] == [p.score for p in legacy.players]
        assert [sorted(s.pieces_in_hand) for s in saved.seats] == [sorted(p.hand) for p in legacy.players]
        assert saved.state.round == legacy.round_number
        assert [s.is_bot for s in saved.seats] == [p.is_bot for p in legacy.players]
        assert store.verify_game(saved.game.id) == []
        game, _ = play_on(store, saved.game, saved.state, "on")
        assert game.current_phase == "GAME_OVER"
        assert store.verify_game(game.id) == []
    # Legacy names with spaces become valid usernames; the display name keeps them.
    alice = store.get_player_by_username("Alice_Chen")
    assert alice.display_name == "Alice Chen"


def test_migration_is_idempotent(store):
    manager = sample_server(seed=4)
    DataMigrator(store).migrate_active_games(manager)
    counts = store.status()["rows"]
    again = DataMigrator(store).migrate_active_games(manager)
    assert again.rooms == [] and len(again.skipped) == 3
    assert store.status()["rows"] == counts


def test_migrated_game_continues_exactly_like_the_original(store):
    names = ["Ann", "Ben", "Cat", "Dan"]
    machine, state = running_game(names, seed="same", actions=40)
    manager = sample_server(seed=5)
    manager.rooms.clear()
    manager.add_room("X1", "table", "Ann", names)
    manager.game_state_machines["X1"] = machine
    DataMigrator(store).migrate_active_games(manager)
    saved = store.load_game(store.get_room_by_code("X1").current_game_id)
    assert saved.state == state


def test_inconsistent_legacy_state_is_rejected_and_nothing_written(store):
    manager = sample_server(seed=6)
    machine = manager.game_state_machines["ROOM42"]
    machine.game.players[0].hand.append("GENERAL_RED")  # a 33rd piece
    before = store.status()["rows"]
    with pytest.raises(InvalidInput, match="room 'ROOM42'"):
        DataMigrator(store).migrate_active_games(manager)
    # Every room is read before any is written: LOBBY1 did not move either.
    assert store.status()["rows"] == before


def test_sketch_shape_errors_name_the_room_and_attribute(store):
    manager = sample_server(seed=8)
    machine = manager.game_state_machines["ROOM77"]
    machine.game = SimpleNamespace(**{k: x for k, x in vars(machine.game).items() if k != "winning_score"})
    with pytest.raises(InvalidInput, match="room 'ROOM77'.*game.winning_score"):
        DataMigrator(store).migrate_active_games(manager)
    manager = sample_server(seed=8)
    manager.game_state_machines["ROOM77"].game.current_turn_plays = [(9, ["SOLDIER_RED"])]
    with pytest.raises(InvalidInput, match="room 'ROOM77'.*game.current_turn_plays"):
        DataMigrator(store).migrate_active_games(manager)
    manager = sample_server(seed=8)
    manager.rooms["ROOM77"].is_public = "yes"
    with pytest.raises(InvalidInput, match="room 'ROOM77'.*is_public"):
        DataMigrator(store).migrate_active_games(manager)
    assert store.status()["rows"]["rooms"] == 0


@pytest.fixture
def cache(redis_url):
    client = redis.Redis.from_url(redis_url)
    prefix = f"test:{uuid.uuid4().hex}:"
    yield client, prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def test_hybrid_reads_memory_then_cache_then_database(store, cache):
    client, prefix = cache
    report = DataMigrator(store).migrate_active_games(sample_server(seed=7))
    game_id = report.games[0]
    live = {"somewhere": {"in": "memory"}}
    hybrid = HybridStorage(store, memory={"g-live": live}, cache=client, prefix=prefix)
    try:
        assert hybrid.get_game_state("g-live") is live
        first = hybrid.get_game_state(game_id)
        assert first["version"] == 1 and first["state"] == store.load_game(game_id).state.to_dict()
        assert hybrid.get_game_state(game_id) == first
        assert hybrid.store.cache_stats()["game_state"]["near_hits"] >= 1   # cached
        assert any(client.ttl(k) > 0 for k in client.scan_iter(f"{prefix}*:game:{game_id}:state"))
        # An action recorded through the cached store is seen at once: never stale.
        saved = store.load_game(game_id)
        hybrid.store.record_action(game_id, 2, bots.next_action(saved.state, 1, 2))
        assert hybrid.get_game_state(game_id)["version"] == 2
        # A write made around the cache is seen once invalidated.
        saved = store.load_game(game_id)
        store.record_action(game_id, 3, bots.next_action(saved.state, 1, 3))
        hybrid.invalidate(game_id)
        assert hybrid.get_game_state(game_id)["version"] == 3
        assert hybrid.get_game_state(uuid.uuid4()) is None
    finally:
        hybrid.close()
