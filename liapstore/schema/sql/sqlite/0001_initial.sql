-- The schema of DATABASE_SCHEMA.md, in the parts SQLite can express.
-- Types: UUIDs are canonical 36-character text, times fixed-width UTC ISO text
-- (see schema/fields.py), JSON columns are text checked by json_valid().
-- What SQLite lacks (INET, partitions, materialized views, GIN, row-level
-- security, pgcrypto) is listed in liapstore/schema/README.md.

CREATE TABLE players (
    id TEXT PRIMARY KEY NOT NULL,
    username VARCHAR(50) UNIQUE NOT NULL,
    display_name VARCHAR(100) NOT NULL,
    email VARCHAR(255) UNIQUE,
    created_at TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    games_played INTEGER NOT NULL DEFAULT 0,
    games_won INTEGER NOT NULL DEFAULT 0,
    total_score INTEGER NOT NULL DEFAULT 0,
    highest_score INTEGER NOT NULL DEFAULT 0,
    settings JSON NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),
    email_encrypted BLOB,
    -- SQLite has no regular expressions in CHECK; GLOB says the same thing.
    CONSTRAINT username_valid CHECK (
        length(username) BETWEEN 3 AND 50 AND username NOT GLOB '*[^a-zA-Z0-9_-]*')
);

CREATE TABLE rooms (
    id TEXT PRIMARY KEY NOT NULL,
    room_code VARCHAR(20) UNIQUE NOT NULL,
    name VARCHAR(100) NOT NULL,
    created_by TEXT REFERENCES players(id),
    created_at TEXT NOT NULL,
    is_public BOOLEAN NOT NULL DEFAULT 1,
    max_players INTEGER NOT NULL DEFAULT 4,
    game_settings JSON NOT NULL DEFAULT '{}' CHECK (json_valid(game_settings)),
    status VARCHAR(20) NOT NULL DEFAULT 'waiting',
    current_game_id TEXT,
    CONSTRAINT status_valid CHECK (status IN ('waiting', 'playing', 'finished', 'abandoned'))
);

CREATE TABLE games (
    id TEXT PRIMARY KEY NOT NULL,
    room_id TEXT REFERENCES rooms(id) ON DELETE CASCADE,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    winning_score INTEGER NOT NULL DEFAULT 50,
    max_rounds INTEGER NOT NULL DEFAULT 20,
    initial_multiplier INTEGER NOT NULL DEFAULT 1,
    current_round INTEGER NOT NULL DEFAULT 0,
    current_phase VARCHAR(20) NOT NULL DEFAULT 'NOT_STARTED',
    phase_data JSON NOT NULL DEFAULT '{}' CHECK (json_valid(phase_data)),
    winner_id TEXT REFERENCES players(id),
    final_scores JSON CHECK (final_scores IS NULL OR json_valid(final_scores)),
    CONSTRAINT phase_valid CHECK (current_phase IN (
        'NOT_STARTED', 'PREPARATION', 'DECLARATION', 'TURN', 'SCORING', 'GAME_OVER'))
);

CREATE TABLE game_players (
    game_id TEXT NOT NULL REFERENCES games(id) ON DELETE CASCADE,
    player_id TEXT NOT NULL REFERENCES players(id),
    position INTEGER NOT NULL CHECK (position BETWEEN 0 AND 3),
    score INTEGER NOT NULL DEFAULT 0,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    is_bot BOOLEAN NOT NULL DEFAULT 0,
    pieces_in_hand JSON NOT NULL DEFAULT '[]' CHECK (json_valid(pieces_in_hand)),
    declared_piles INTEGER,
    captured_piles INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (game_id, player_id),
    UNIQUE (game_id, position)
);

CREATE TABLE rounds (
    id TEXT PRIMARY KEY NOT NULL,
    game_id TEXT REFERENCES games(id) ON DELETE CASCADE,
    round_number INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    multiplier INTEGER NOT NULL DEFAULT 1,
    had_redeal BOOLEAN NOT NULL DEFAULT 0,
    round_data JSON NOT NULL CHECK (json_valid(round_data)),
    UNIQUE (game_id, round_number)
);

CREATE TABLE turns (
    id TEXT PRIMARY KEY NOT NULL,
    round_id TEXT REFERENCES rounds(id) ON DELETE CASCADE,
    turn_number INTEGER NOT NULL,
    timestamp TEXT NOT NULL,
    leading_player_id TEXT REFERENCES players(id),
    required_piece_count INTEGER,
    plays JSON NOT NULL CHECK (json_valid(plays)),
    winner_id TEXT REFERENCES players(id),
    pile_count INTEGER,
    UNIQUE (round_id, turn_number)
);

CREATE TABLE player_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    game_id TEXT REFERENCES games(id) ON DELETE CASCADE,
    player_id TEXT REFERENCES players(id),
    action_type VARCHAR(50) NOT NULL,
    action_data JSON NOT NULL CHECK (json_valid(action_data)),
    timestamp TEXT NOT NULL,
    sequence_number INTEGER NOT NULL
);
CREATE INDEX idx_player_actions_game_id ON player_actions (game_id);
CREATE INDEX idx_player_actions_player_id ON player_actions (player_id);
CREATE INDEX idx_player_actions_timestamp ON player_actions (timestamp);
CREATE INDEX idx_player_actions_recent ON player_actions (game_id, timestamp DESC);

CREATE TABLE active_connections (
    connection_id TEXT PRIMARY KEY NOT NULL,
    player_id TEXT REFERENCES players(id),
    room_id TEXT REFERENCES rooms(id),
    connected_at TEXT NOT NULL,
    last_heartbeat TEXT NOT NULL,
    ip_address TEXT,
    user_agent TEXT
);
CREATE INDEX idx_active_connections_player_id ON active_connections (player_id);
CREATE INDEX idx_active_connections_room_id ON active_connections (room_id);
-- The stale-connection sweep scans by heartbeat.
CREATE INDEX idx_active_connections_heartbeat ON active_connections (last_heartbeat);

CREATE TABLE player_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    player_id TEXT REFERENCES players(id) ON DELETE CASCADE,
    token_hash VARCHAR(64) NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ip_address TEXT,
    user_agent TEXT
);
CREATE UNIQUE INDEX idx_player_sessions_token_hash ON player_sessions (token_hash);
CREATE INDEX idx_player_sessions_expires_at ON player_sessions (expires_at);

CREATE TABLE analytics_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_type VARCHAR(50) NOT NULL,
    player_id TEXT REFERENCES players(id),
    game_id TEXT REFERENCES games(id),
    room_id TEXT REFERENCES rooms(id),
    event_data JSON NOT NULL CHECK (json_valid(event_data)),
    timestamp TEXT NOT NULL
);
CREATE INDEX idx_analytics_events_timestamp ON analytics_events (timestamp);
CREATE INDEX idx_analytics_events_player_id ON analytics_events (player_id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name VARCHAR(50) NOT NULL,
    operation VARCHAR(10) NOT NULL,
    user_id TEXT,
    changed_data JSON,
    timestamp TEXT NOT NULL,
    ip_address TEXT
);

CREATE INDEX idx_game_players_player_games ON game_players (player_id, game_id) WHERE is_active = 1;
CREATE INDEX idx_games_active_rooms ON games (room_id) WHERE ended_at IS NULL;

-- Full-text search on room names: an FTS5 index kept in step by triggers.
CREATE VIRTUAL TABLE rooms_name_search USING fts5 (name, content='rooms', content_rowid='rowid');
CREATE TRIGGER rooms_name_search_insert AFTER INSERT ON rooms BEGIN
    INSERT INTO rooms_name_search (rowid, name) VALUES (NEW.rowid, NEW.name);
END;
CREATE TRIGGER rooms_name_search_delete AFTER DELETE ON rooms BEGIN
    INSERT INTO rooms_name_search (rooms_name_search, rowid, name) VALUES ('delete', OLD.rowid, OLD.name);
END;
CREATE TRIGGER rooms_name_search_update AFTER UPDATE OF name ON rooms BEGIN
    INSERT INTO rooms_name_search (rooms_name_search, rowid, name) VALUES ('delete', OLD.rowid, OLD.name);
    INSERT INTO rooms_name_search (rowid, name) VALUES (NEW.rowid, NEW.name);
END;

-- SQLite has no materialized views; a plain view gives the same rows,
-- computed when read.
CREATE VIEW player_leaderboard AS
SELECT
    p.id, p.username, p.display_name, p.games_won, p.games_played, p.highest_score,
    CASE WHEN p.games_played > 0 THEN CAST(p.games_won AS REAL) / p.games_played ELSE 0 END AS win_rate,
    RANK() OVER (ORDER BY p.games_won DESC) AS wins_rank,
    RANK() OVER (ORDER BY p.highest_score DESC) AS score_rank
FROM players p
WHERE p.games_played >= 10;

-- The audit trail, as on PostgreSQL (without the e-mail columns).
CREATE TRIGGER audit_players_insert AFTER INSERT ON players BEGIN
    INSERT INTO audit_log (table_name, operation, changed_data, timestamp)
    VALUES ('players', 'INSERT', json_object(
        'id', NEW.id, 'username', NEW.username, 'display_name', NEW.display_name,
        'is_active', NEW.is_active, 'games_played', NEW.games_played, 'games_won', NEW.games_won,
        'total_score', NEW.total_score, 'highest_score', NEW.highest_score,
        'settings', json(NEW.settings)),
        strftime('%Y-%m-%d %H:%M:%f000+00:00', 'now'));
END;
CREATE TRIGGER audit_players_update AFTER UPDATE ON players BEGIN
    INSERT INTO audit_log (table_name, operation, changed_data, timestamp)
    VALUES ('players', 'UPDATE', json_object(
        'id', NEW.id, 'username', NEW.username, 'display_name', NEW.display_name,
        'is_active', NEW.is_active, 'games_played', NEW.games_played, 'games_won', NEW.games_won,
        'total_score', NEW.total_score, 'highest_score', NEW.highest_score,
        'settings', json(NEW.settings)),
        strftime('%Y-%m-%d %H:%M:%f000+00:00', 'now'));
END;
CREATE TRIGGER audit_players_delete AFTER DELETE ON players BEGIN
    INSERT INTO audit_log (table_name, operation, changed_data, timestamp)
    VALUES ('players', 'DELETE', json_object('id', OLD.id, 'username', OLD.username),
        strftime('%Y-%m-%d %H:%M:%f000+00:00', 'now'));
END;
