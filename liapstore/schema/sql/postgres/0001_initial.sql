-- The schema of DATABASE_SCHEMA.md, as PostgreSQL 15 runs it.
-- Every departure from the document is listed, with its reason, in
-- liapstore/schema/README.md.

CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- The document's policies and audit trigger call current_user_id() without
-- defining it. The application names the acting player per transaction with
-- SET LOCAL app.user_id = '<uuid>'; unset means "no player" (NULL).
CREATE OR REPLACE FUNCTION current_user_id() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.user_id', true), '')::uuid $$;

CREATE TABLE players (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    -- COLLATE "C": usernames sort by code point, whatever the database's
    -- collation, as they do on SQLite and memory.
    username VARCHAR(50) COLLATE "C" UNIQUE NOT NULL,
    display_name VARCHAR(100) NOT NULL,
    email VARCHAR(255) UNIQUE,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    last_seen TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    is_active BOOLEAN NOT NULL DEFAULT true,
    games_played INTEGER NOT NULL DEFAULT 0,
    games_won INTEGER NOT NULL DEFAULT 0,
    total_score INTEGER NOT NULL DEFAULT 0,
    highest_score INTEGER NOT NULL DEFAULT 0,
    settings JSONB NOT NULL DEFAULT '{}',
    email_encrypted BYTEA,
    CONSTRAINT username_valid CHECK (username ~ '^[a-zA-Z0-9_-]{3,50}$')
);

CREATE TABLE rooms (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    room_code VARCHAR(20) UNIQUE NOT NULL,
    name VARCHAR(100) NOT NULL,
    created_by UUID REFERENCES players(id),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    is_public BOOLEAN NOT NULL DEFAULT true,
    max_players INTEGER NOT NULL DEFAULT 4,
    game_settings JSONB NOT NULL DEFAULT '{}',
    status VARCHAR(20) NOT NULL DEFAULT 'waiting',
    current_game_id UUID,
    CONSTRAINT status_valid CHECK (status IN ('waiting', 'playing', 'finished', 'abandoned'))
);

CREATE TABLE games (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    room_id UUID REFERENCES rooms(id) ON DELETE CASCADE,
    started_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    ended_at TIMESTAMP WITH TIME ZONE,
    winning_score INTEGER NOT NULL DEFAULT 50,
    max_rounds INTEGER NOT NULL DEFAULT 20,
    initial_multiplier INTEGER NOT NULL DEFAULT 1,
    current_round INTEGER NOT NULL DEFAULT 0,
    current_phase VARCHAR(20) NOT NULL DEFAULT 'NOT_STARTED',
    phase_data JSONB NOT NULL DEFAULT '{}',
    winner_id UUID REFERENCES players(id),
    final_scores JSONB,
    CONSTRAINT phase_valid CHECK (current_phase IN (
        'NOT_STARTED', 'PREPARATION', 'DECLARATION', 'TURN', 'SCORING', 'GAME_OVER'
    ))
);

CREATE TABLE game_players (
    game_id UUID REFERENCES games(id) ON DELETE CASCADE,
    player_id UUID REFERENCES players(id),
    position INTEGER NOT NULL CHECK (position BETWEEN 0 AND 3),
    score INTEGER NOT NULL DEFAULT 0,
    is_active BOOLEAN NOT NULL DEFAULT true,
    is_bot BOOLEAN NOT NULL DEFAULT false,
    pieces_in_hand JSONB NOT NULL DEFAULT '[]',
    declared_piles INTEGER,
    captured_piles INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (game_id, player_id),
    UNIQUE (game_id, position)
);

CREATE TABLE rounds (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    game_id UUID REFERENCES games(id) ON DELETE CASCADE,
    round_number INTEGER NOT NULL,
    started_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    ended_at TIMESTAMP WITH TIME ZONE,
    multiplier INTEGER NOT NULL DEFAULT 1,
    had_redeal BOOLEAN NOT NULL DEFAULT false,
    round_data JSONB NOT NULL,
    UNIQUE (game_id, round_number)
);

CREATE TABLE turns (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    round_id UUID REFERENCES rounds(id) ON DELETE CASCADE,
    turn_number INTEGER NOT NULL,
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    leading_player_id UUID REFERENCES players(id),
    required_piece_count INTEGER,
    plays JSONB NOT NULL,
    winner_id UUID REFERENCES players(id),
    pile_count INTEGER,
    UNIQUE (round_id, turn_number)
);

CREATE TABLE player_actions (
    id BIGSERIAL PRIMARY KEY,
    game_id UUID REFERENCES games(id) ON DELETE CASCADE,
    player_id UUID REFERENCES players(id),
    action_type VARCHAR(50) NOT NULL,
    action_data JSONB NOT NULL,
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    sequence_number INTEGER NOT NULL
);
CREATE INDEX idx_player_actions_game_id ON player_actions (game_id);
CREATE INDEX idx_player_actions_player_id ON player_actions (player_id);
CREATE INDEX idx_player_actions_timestamp ON player_actions (timestamp);

CREATE TABLE active_connections (
    connection_id UUID PRIMARY KEY,
    player_id UUID REFERENCES players(id),
    room_id UUID REFERENCES rooms(id),
    connected_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    last_heartbeat TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    ip_address INET,
    user_agent TEXT
);
CREATE INDEX idx_active_connections_player_id ON active_connections (player_id);
CREATE INDEX idx_active_connections_room_id ON active_connections (room_id);

CREATE TABLE player_sessions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    player_id UUID REFERENCES players(id) ON DELETE CASCADE,
    token_hash VARCHAR(64) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    ip_address INET,
    user_agent TEXT,
    -- The UNIQUE constraint's own index carries the document's index name,
    -- instead of a second, redundant index on the same column.
    CONSTRAINT idx_player_sessions_token_hash UNIQUE (token_hash)
);
CREATE INDEX idx_player_sessions_expires_at ON player_sessions (expires_at);

-- A partitioned table's primary key must include the partition key.
CREATE TABLE analytics_events (
    id BIGSERIAL,
    event_type VARCHAR(50) NOT NULL,
    player_id UUID REFERENCES players(id),
    game_id UUID REFERENCES games(id),
    room_id UUID REFERENCES rooms(id),
    event_data JSONB NOT NULL,
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    PRIMARY KEY (id, timestamp)
) PARTITION BY RANGE (timestamp);
CREATE INDEX idx_analytics_events_timestamp ON analytics_events (timestamp);
CREATE INDEX idx_analytics_events_player_id ON analytics_events (player_id);

-- The default partition catches any month nobody created ahead of time, so
-- an insert never fails; liapstore_ensure_analytics_partitions() moves such
-- rows into their month's partition when it creates it.
CREATE TABLE analytics_events_default PARTITION OF analytics_events DEFAULT;

CREATE OR REPLACE FUNCTION liapstore_ensure_analytics_partitions(first_month date, months integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    month_start timestamptz;
    month_end timestamptz;
    part text;
    created integer := 0;
BEGIN
    FOR i IN 0 .. months - 1 LOOP
        month_start := (date_trunc('month', first_month) + make_interval(months => i))::timestamp
                       AT TIME ZONE 'UTC';
        month_end := (date_trunc('month', first_month) + make_interval(months => i + 1))::timestamp
                     AT TIME ZONE 'UTC';
        part := 'analytics_events_' || to_char(month_start AT TIME ZONE 'UTC', 'YYYY_MM');
        CONTINUE WHEN to_regclass(part) IS NOT NULL;
        EXECUTE format('CREATE TABLE %I (LIKE analytics_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
        EXECUTE format(
            'WITH moved AS (DELETE FROM analytics_events_default WHERE timestamp >= %L AND timestamp < %L RETURNING *) '
            'INSERT INTO %I SELECT * FROM moved', month_start, month_end, part);
        EXECUTE format('ALTER TABLE analytics_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       part, month_start, month_end);
        created := created + 1;
    END LOOP;
    RETURN created;
END;
$$;

SELECT liapstore_ensure_analytics_partitions((now() AT TIME ZONE 'UTC')::date - 31, 14);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    table_name VARCHAR(50) NOT NULL,
    operation VARCHAR(10) NOT NULL,
    user_id UUID,
    changed_data JSONB,
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    ip_address INET
);

-- The document's "Primary Indexes".
CREATE INDEX idx_game_players_player_games ON game_players (player_id, game_id) WHERE is_active = true;
CREATE INDEX idx_games_active_rooms ON games (room_id) WHERE ended_at IS NULL;
CREATE INDEX idx_player_actions_recent ON player_actions (game_id, timestamp DESC);
CREATE INDEX idx_rooms_name_search ON rooms USING gin (to_tsvector('english', name));
CREATE INDEX idx_games_phase_data ON games USING gin (phase_data);
CREATE INDEX idx_game_players_pieces ON game_players USING gin (pieces_in_hand);

CREATE MATERIALIZED VIEW player_leaderboard AS
SELECT
    p.id,
    p.username,
    p.display_name,
    p.games_won,
    p.games_played,
    p.highest_score,
    CASE WHEN p.games_played > 0 THEN p.games_won::float / p.games_played ELSE 0 END AS win_rate,
    RANK() OVER (ORDER BY p.games_won DESC) AS wins_rank,
    RANK() OVER (ORDER BY p.highest_score DESC) AS score_rank
FROM players p
WHERE p.games_played >= 10;
-- REFRESH ... CONCURRENTLY (which does not block readers) needs a unique index.
CREATE UNIQUE INDEX idx_player_leaderboard_id ON player_leaderboard (id);
CREATE INDEX idx_player_leaderboard_wins ON player_leaderboard (wins_rank);
CREATE INDEX idx_player_leaderboard_score ON player_leaderboard (score_rank);

-- Row-level security. The table owner bypasses it (it is not FORCEd), which
-- is what migrations need; application roles that do not own the table are
-- held to these policies.
ALTER TABLE players ENABLE ROW LEVEL SECURITY;
CREATE POLICY players_select_policy ON players FOR SELECT USING (true);
CREATE POLICY players_update_policy ON players FOR UPDATE USING (id = current_user_id());

-- E-mail encryption. The document's trigger fails every insert when no key is
-- configured; this one encrypts only when the session has app.encryption_key.
CREATE OR REPLACE FUNCTION encrypt_email() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    key text := NULLIF(current_setting('app.encryption_key', true), '');
BEGIN
    IF NEW.email IS NOT NULL AND key IS NOT NULL THEN
        NEW.email_encrypted = pgp_sym_encrypt(NEW.email::text, key);
        NEW.email = NULL;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER encrypt_player_email
    BEFORE INSERT OR UPDATE ON players
    FOR EACH ROW EXECUTE FUNCTION encrypt_email();

-- The audit trigger. The document's version logs NEW, which is NULL on DELETE,
-- and would copy e-mail addresses into the log; this one logs OLD for deletes
-- and leaves the e-mail columns out. SECURITY DEFINER: it writes as the
-- schema's owner, so an application role needs no INSERT on audit_log and
-- cannot forge entries.
CREATE OR REPLACE FUNCTION audit_trigger() RETURNS TRIGGER LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO audit_log (table_name, operation, user_id, changed_data, ip_address)
    VALUES (
        TG_TABLE_NAME,
        TG_OP,
        current_user_id(),
        CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END - 'email' - 'email_encrypted',
        NULLIF(current_setting('app.client_ip', true), '')::inet
    );
    RETURN NULL;
END;
$$;
CREATE TRIGGER audit_players
    AFTER INSERT OR UPDATE OR DELETE ON players
    FOR EACH ROW EXECUTE FUNCTION audit_trigger();
