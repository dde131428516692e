"""Players' progress: statistics per period, rank counts, seasons, report indexes.

Games finished before this step are counted in: their players' statistics
per period and the rank counts are computed from the stored games with the
rules of liapstore/ranking.py (SQLite cannot compute ISO weeks in SQL).
"""
from liapstore import ranking
from liapstore.schema.models import Game, GamePlayer, LeaderboardBucket, LeaderboardValue, Player, PlayerStats
from liapstore.schema.sqlfiles import run_sql_file

_BATCH = 500


def up(migrator, db):
    run_sql_file(db, "0005_progress.sql")
    results = {}
    query = (GamePlayer.select(Game.id, Game.ended_at, Game.winner_id, GamePlayer.player_id,
                               GamePlayer.score)
             .join(Game, on=(Game.id == GamePlayer.game_id))
             .where(Game.ended_at.is_null(False), Game.final_scores.is_null(False)))
    for row in query.tuples().execute(db):
        game_id, ended_at, winner_id, player_id, score = row
        entry = results.setdefault(game_id, (Game.ended_at.python_value(ended_at),
                                             Game.winner_id.python_value(winner_id), []))
        entry[2].append((GamePlayer.player_id.python_value(player_id), score))
    stats = ranking.expected_stats(results.values(), [])
    if not stats:
        return
    names = dict(Player.select(Player.id, Player.username).tuples().execute(db))
    rows = [{**s, "username": names[s["player_id"]]} for s in stats.values()]
    values, buckets = ranking.counts_of(rows)
    for model, data in ((PlayerStats, rows),
                        (LeaderboardValue, [dict(zip(("period", "board", "bucket", "value"), k),
                                                 players=n) for k, n in values.items()]),
                        (LeaderboardBucket, [dict(zip(("period", "board", "bucket"), k), players=n)
                                             for k, n in buckets.items()])):
        for first in range(0, len(data), _BATCH):
            model.insert_many(data[first:first + _BATCH]).execute(db)
