-- Game recording (optimistic concurrency and an action log without gaps).
-- Each game carries the number of actions recorded so far; a write names
-- the version it was computed from, so two server processes can never both
-- advance the same game.
ALTER TABLE games ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
-- One action per sequence number per game: a retried write finds its twin.
CREATE UNIQUE INDEX idx_player_actions_game_sequence ON player_actions (game_id, sequence_number);
