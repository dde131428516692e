-- Friends. A request is one 'pending' row from the requester to the
-- addressee; an accepted friendship is two 'accepted' rows, one each way, so
-- "my friends" is one index range whichever side asked; a block is one
-- 'blocked' row from the blocker (it replaces any rows between the two).
CREATE TABLE friendships (
    player_id UUID NOT NULL REFERENCES players(id) ON DELETE CASCADE,
    friend_id UUID NOT NULL REFERENCES players(id) ON DELETE CASCADE,
    status VARCHAR(20) NOT NULL CHECK (status IN ('pending', 'accepted', 'blocked')),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    -- Nobody befriends or blocks themselves: the store refuses it before any
    -- I/O (InvalidInput); constraints.CHECKS holds single-column CHECKs only.
    PRIMARY KEY (player_id, friend_id)
);
-- Incoming requests and "who blocked me".
CREATE INDEX idx_friendships_incoming ON friendships (friend_id, status);

-- Achievements: the catalogue is code (liapstore/achievements.py); a row is
-- one player's progress towards one achievement, awarded once progress
-- reaches its target (awarded_at and the game that earned it are then set).
CREATE TABLE player_achievements (
    player_id UUID NOT NULL REFERENCES players(id) ON DELETE CASCADE,
    achievement VARCHAR(50) NOT NULL,
    progress INTEGER NOT NULL DEFAULT 0,
    game_id UUID REFERENCES games(id) ON DELETE SET NULL,
    awarded_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (player_id, achievement)
);
-- The holders of one achievement, in the order they earned it.
CREATE INDEX idx_player_achievements_holders ON player_achievements (achievement, awarded_at)
    WHERE awarded_at IS NOT NULL;
