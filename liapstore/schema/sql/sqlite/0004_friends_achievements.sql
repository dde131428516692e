-- Friends and achievements; see the PostgreSQL file for the design.
CREATE TABLE friendships (
    player_id TEXT NOT NULL REFERENCES players(id) ON DELETE CASCADE,
    friend_id TEXT NOT NULL REFERENCES players(id) ON DELETE CASCADE,
    status VARCHAR(20) NOT NULL CHECK (status IN ('pending', 'accepted', 'blocked')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    -- Nobody befriends or blocks themselves: the store refuses it before any
    -- I/O (InvalidInput); constraints.CHECKS holds single-column CHECKs only.
    PRIMARY KEY (player_id, friend_id)
);
CREATE INDEX idx_friendships_incoming ON friendships (friend_id, status);

CREATE TABLE player_achievements (
    player_id TEXT NOT NULL REFERENCES players(id) ON DELETE CASCADE,
    achievement VARCHAR(50) NOT NULL,
    progress INTEGER NOT NULL DEFAULT 0,
    game_id TEXT REFERENCES games(id) ON DELETE SET NULL,
    awarded_at TEXT,
    PRIMARY KEY (player_id, achievement)
);
CREATE INDEX idx_player_achievements_holders ON player_achievements (achievement, awarded_at)
    WHERE awarded_at IS NOT NULL;
