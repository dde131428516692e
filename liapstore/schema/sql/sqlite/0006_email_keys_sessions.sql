-- E-mail encrypted under a key per player, found and kept unique through a
-- blind index; sessions that slide on use up to an absolute limit. (The
-- audit triggers list their columns, so the new players column stays out of
-- the audit payload without a change.)

ALTER TABLE players ADD COLUMN email_blind_index VARCHAR(64);
CREATE UNIQUE INDEX idx_players_email_blind_index ON players (email_blind_index);

CREATE TABLE player_keys (
    player_id TEXT PRIMARY KEY NOT NULL REFERENCES players(id) ON DELETE CASCADE,
    wrapped_key BLOB NOT NULL,
    key_version INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX idx_player_keys_key_version ON player_keys (key_version);

ALTER TABLE player_sessions ADD COLUMN idle_seconds REAL;
ALTER TABLE player_sessions ADD COLUMN absolute_expires_at TEXT;
UPDATE player_sessions SET absolute_expires_at = expires_at;
