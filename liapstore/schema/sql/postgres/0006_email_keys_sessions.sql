-- E-mail encrypted under a key per player, found and kept unique through a
-- blind index; sessions that slide on use up to an absolute limit.

-- HMAC-SHA-256 (hex) of the normalized address under the blind-index key.
ALTER TABLE players ADD COLUMN email_blind_index VARCHAR(64);
CREATE UNIQUE INDEX idx_players_email_blind_index ON players (email_blind_index);

-- The key store: each player's random data key, wrapped (AES-256-GCM) under
-- the master key whose fingerprint is key_version. Backups write this table
-- to a key file of its own; erasing a player deletes their row.
CREATE TABLE player_keys (
    player_id UUID PRIMARY KEY REFERENCES players(id) ON DELETE CASCADE,
    wrapped_key BYTEA NOT NULL,
    key_version INTEGER NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);
-- `liapstore keys rotate` looks for the keys not yet under the new version.
CREATE INDEX idx_player_keys_key_version ON player_keys (key_version);

-- The 0001 trigger would encrypt under a key given as a session setting
-- (app.encryption_key): one key for everyone, readable in pg_settings. The
-- store encrypts per player now, with the key as a bound parameter.
DROP TRIGGER encrypt_player_email ON players;
DROP FUNCTION encrypt_email();

-- The audit payload leaves the blind index out too (it identifies an address
-- to anyone holding the key), beside the e-mail columns; otherwise as in 0003.
CREATE OR REPLACE FUNCTION audit_trigger() RETURNS TRIGGER LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    payload jsonb;
    col name;
BEGIN
    payload := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END
               - 'email' - 'email_encrypted' - 'email_blind_index';
    FOR col IN SELECT attname FROM pg_attribute
               WHERE attrelid = TG_RELID AND attnum > 0 AND NOT attisdropped
                 AND atttypid = 'timestamptz'::regtype LOOP
        IF jsonb_typeof(payload -> col) = 'string' THEN
            payload := jsonb_set(payload, ARRAY[col::text],
                                 to_jsonb(liapstore_utc_text((payload ->> col)::timestamptz)));
        END IF;
    END LOOP;
    INSERT INTO audit_log (table_name, operation, user_id, changed_data, ip_address)
    VALUES (TG_TABLE_NAME, TG_OP, current_user_id(), payload,
            NULLIF(current_setting('app.client_ip', true), '')::inet);
    RETURN NULL;
END;
$$;

-- Sliding expiry: each use moves expires_at to now + idle_seconds, never past
-- absolute_expires_at. Sessions opened before this step keep their expiry
-- and do not slide (idle_seconds NULL).
ALTER TABLE player_sessions ADD COLUMN idle_seconds DOUBLE PRECISION;
ALTER TABLE player_sessions ADD COLUMN absolute_expires_at TIMESTAMP WITH TIME ZONE;
UPDATE player_sessions SET absolute_expires_at = expires_at;
