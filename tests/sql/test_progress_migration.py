"""Migration 0005_progress counts in the games a database already holds:
statistics per period and rank counts computed from them, as if the games
had ended after it."""
import pytest

import liapstore
from liapstore.testing.support import SHORT, record, script

pytestmark = pytest.mark.backends("sqlite", "postgres")

_UNDO = {
    "sqlite": ["DROP TABLE player_stats", "DROP TABLE leaderboard_values",
               "DROP TABLE leaderboard_buckets", "DROP TABLE seasons",
               "DROP INDEX idx_games_room_ended", "DROP INDEX idx_games_ended",
               "DROP INDEX idx_analytics_events_game_id"],
    "postgres": ["DROP TABLE player_stats, leaderboard_values, leaderboard_buckets, seasons",
                 "DROP INDEX idx_games_room_ended, idx_games_ended, idx_analytics_events_game_id",
                 "DROP FUNCTION liapstore_drop_analytics_partitions(timestamptz)"],
}


def _boards(store):
    return {(by, season): [(e.username, e.rank, e.games_played, e.win_rate)
                           for e in store.leaderboard(by=by, season=season)]
            for by in ("wins", "score", "winrate") for season in (None, "week", "month")}


def test_games_stored_before_0005_are_counted(backend, store_url):
    with liapstore.connect(store_url) as store:
        ids = [store.create_player(f"mig_{i}").id for i in range(5)]
        for g in range(13):
            room = store.create_room(f"MIG{g}", "before 0005")
            game = store.start_game(room.id, [ids[(g + i) % 5] for i in range(4)], **SHORT)
            record(store, game.id, script(700 + g).steps)
        before = _boards(store)
        assert before[("wins", None)]
        # Back to the schema before 0005, games and players kept.
        with store.translate_errors(), store.db.atomic():
            for statement in _UNDO[backend]:
                store.db.execute_sql(statement)
            store.db.execute_sql("DELETE FROM schema_migration WHERE name = '0005_progress'")
        applied, latest = store.schema_version()
        assert applied == latest - 1
    with liapstore.connect(store_url) as store:
        assert store.verify_stats() == []
        assert _boards(store) == before
