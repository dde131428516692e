-- Game recording: a version per game and one action per sequence number.
ALTER TABLE games ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX idx_player_actions_game_sequence ON player_actions (game_id, sequence_number);
