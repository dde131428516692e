-- A player's erasure (liapstore/playerdata.py): the players row stays, with
-- every personal column cleared, as the anonymous placeholder of the seats
-- the player held; this row says that it is one (it leaves the boards,
-- cannot be seated again, and backfills skip it).
CREATE TABLE erased_players (
    player_id UUID PRIMARY KEY REFERENCES players(id) ON DELETE CASCADE,
    erased_at TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Audit rows about one player (erasure scrubs them, export lists them).
CREATE INDEX idx_audit_log_player ON audit_log ((changed_data ->> 'id'))
    WHERE table_name = 'players';

-- Archiving (liapstore/archive.py): a finished game's action log and turns
-- moved to one compressed, checksummed object; replay reads it back.
CREATE TABLE archived_games (
    game_id UUID PRIMARY KEY REFERENCES games(id) ON DELETE CASCADE,
    archive_url TEXT NOT NULL,
    object_key TEXT NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    stored_bytes BIGINT NOT NULL,
    raw_bytes BIGINT NOT NULL,
    actions INTEGER NOT NULL,
    turns INTEGER NOT NULL,
    archived_at TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Old analytics events, a month at a time, in objects of consecutive ids.
CREATE TABLE archived_events (
    first_id BIGINT PRIMARY KEY,
    last_id BIGINT NOT NULL,
    month VARCHAR(7) NOT NULL,
    events INTEGER NOT NULL,
    archive_url TEXT NOT NULL,
    object_key TEXT NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    stored_bytes BIGINT NOT NULL,
    raw_bytes BIGINT NOT NULL,
    archived_at TIMESTAMP WITH TIME ZONE NOT NULL
);
