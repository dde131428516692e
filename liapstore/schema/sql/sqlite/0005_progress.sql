-- Players' progress (issue 8): statistics per period, the counts that serve
-- ranks, named seasons, and indexes for match history and analytics reports.
-- See ../postgres/0005_progress.sql for the reasons.

CREATE TABLE seasons (
    name VARCHAR(40) PRIMARY KEY NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE player_stats (
    period VARCHAR(60) NOT NULL,
    player_id TEXT NOT NULL REFERENCES players(id) ON DELETE CASCADE,
    username VARCHAR(50) NOT NULL,
    games_played INTEGER NOT NULL DEFAULT 0,
    games_won INTEGER NOT NULL DEFAULT 0,
    total_score INTEGER NOT NULL DEFAULT 0,
    highest_score INTEGER NOT NULL DEFAULT 0,
    win_rate REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (period, player_id)
) WITHOUT ROWID;
CREATE INDEX idx_player_stats_wins ON player_stats (period, games_won DESC, username)
    WHERE games_played >= 10;
CREATE INDEX idx_player_stats_score ON player_stats (period, highest_score DESC, username)
    WHERE games_played >= 10;
CREATE INDEX idx_player_stats_winrate ON player_stats (period, win_rate DESC, username)
    WHERE games_played >= 10;
CREATE INDEX idx_player_stats_player ON player_stats (player_id);

CREATE TABLE leaderboard_values (
    period VARCHAR(60) NOT NULL,
    board VARCHAR(10) NOT NULL,
    bucket INTEGER NOT NULL,
    value REAL NOT NULL,
    players INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (period, board, bucket, value)
) WITHOUT ROWID;
CREATE TABLE leaderboard_buckets (
    period VARCHAR(60) NOT NULL,
    board VARCHAR(10) NOT NULL,
    bucket INTEGER NOT NULL,
    players INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (period, board, bucket)
) WITHOUT ROWID;

CREATE INDEX idx_games_room_ended ON games (room_id, ended_at, id);
CREATE INDEX idx_games_ended ON games (ended_at, id);
CREATE INDEX idx_analytics_events_game_id ON analytics_events (game_id);
