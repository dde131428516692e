-- Erased players and archive pointers; see ../postgres/0008_erasure_archive.sql.
CREATE TABLE erased_players (
    player_id TEXT PRIMARY KEY NOT NULL REFERENCES players(id) ON DELETE CASCADE,
    erased_at TEXT NOT NULL
);

CREATE INDEX idx_audit_log_player ON audit_log (json_extract(changed_data, '$.id'))
    WHERE table_name = 'players';

CREATE TABLE archived_games (
    game_id TEXT PRIMARY KEY NOT NULL REFERENCES games(id) ON DELETE CASCADE,
    archive_url TEXT NOT NULL,
    object_key TEXT NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    stored_bytes INTEGER NOT NULL,
    raw_bytes INTEGER NOT NULL,
    actions INTEGER NOT NULL,
    turns INTEGER NOT NULL,
    archived_at TEXT NOT NULL
);

CREATE TABLE archived_events (
    first_id INTEGER PRIMARY KEY NOT NULL,
    last_id INTEGER NOT NULL,
    month VARCHAR(7) NOT NULL,
    events INTEGER NOT NULL,
    archive_url TEXT NOT NULL,
    object_key TEXT NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    stored_bytes INTEGER NOT NULL,
    raw_bytes INTEGER NOT NULL,
    archived_at TEXT NOT NULL
);
