-- Players' progress (issue 8): statistics per period, the counts that serve
-- ranks, named seasons, and indexes for match history and analytics reports.

-- Named seasons; weeks and months need no row (their keys come from the date).
-- create_season checks that a season ends after it starts (CHECKs here are
-- single-column, with their Python copy in schema/constraints.py).
CREATE TABLE seasons (
    name VARCHAR(40) PRIMARY KEY,
    starts_at TIMESTAMP WITH TIME ZONE NOT NULL,
    ends_at TIMESTAMP WITH TIME ZONE NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL
);

-- One row per player and period ('all', 'week:2026-W48', 'month:2026-11',
-- 'season:NAME'), written in the transaction that ends each game. username
-- is copied (it never changes) so that the listing order, ties by username,
-- is served by the board indexes alone; COLLATE "C" makes that order the
-- code-point order every backend uses.
CREATE TABLE player_stats (
    period VARCHAR(60) NOT NULL,
    player_id UUID NOT NULL REFERENCES players(id) ON DELETE CASCADE,
    username VARCHAR(50) COLLATE "C" NOT NULL,
    games_played INTEGER NOT NULL DEFAULT 0,
    games_won INTEGER NOT NULL DEFAULT 0,
    total_score INTEGER NOT NULL DEFAULT 0,
    highest_score INTEGER NOT NULL DEFAULT 0,
    win_rate DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (period, player_id)
);
-- One index per board, holding only ranked players (10 games or more), in
-- listing order: the top of a board and the neighbours of a player are
-- index range scans.
CREATE INDEX idx_player_stats_wins ON player_stats (period, games_won DESC, username)
    WHERE games_played >= 10;
CREATE INDEX idx_player_stats_score ON player_stats (period, highest_score DESC, username)
    WHERE games_played >= 10;
CREATE INDEX idx_player_stats_winrate ON player_stats (period, win_rate DESC, username)
    WHERE games_played >= 10;
CREATE INDEX idx_player_stats_player ON player_stats (player_id);

-- How many ranked players hold each value of a board in a period, and each
-- bucket of values (see liapstore/ranking.py): a rank is two short sums.
CREATE TABLE leaderboard_values (
    period VARCHAR(60) NOT NULL,
    board VARCHAR(10) NOT NULL,
    bucket INTEGER NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    players INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (period, board, bucket, value)
);
CREATE TABLE leaderboard_buckets (
    period VARCHAR(60) NOT NULL,
    board VARCHAR(10) NOT NULL,
    bucket INTEGER NOT NULL,
    players INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (period, board, bucket)
);

-- Match history per room, and reports over finished games, newest first.
CREATE INDEX idx_games_room_ended ON games (room_id, ended_at, id);
CREATE INDEX idx_games_ended ON games (ended_at, id);
-- A player's events include their games' lifecycle events.
CREATE INDEX idx_analytics_events_game_id ON analytics_events (game_id);

-- Retention: drop every monthly partition that ends at or before cutoff,
-- and delete older rows from the default partition. Returns the number of
-- partitions dropped.
CREATE OR REPLACE FUNCTION liapstore_drop_analytics_partitions(cutoff timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    part record;
    month_end timestamptz;
    dropped integer := 0;
BEGIN
    FOR part IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'analytics_events'::regclass
          AND c.relname ~ '^analytics_events_[0-9]{4}_[0-9]{2}$'
    LOOP
        month_end := (to_date(substr(part.relname, 18), 'YYYY_MM') + interval '1 month')::timestamp
                     AT TIME ZONE 'UTC';
        CONTINUE WHEN month_end > cutoff;
        EXECUTE format('DROP TABLE %I', part.relname);
        dropped := dropped + 1;
    END LOOP;
    DELETE FROM analytics_events_default WHERE timestamp < cutoff;
    RETURN dropped;
END;
$$;
