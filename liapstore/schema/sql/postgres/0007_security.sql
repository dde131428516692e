-- Security that applies (issue 10): row-level security on the player the
-- application acts for, profiles kept apart from statistics, and the audit
-- trail of players, sessions and rooms. The rules are stated in
-- liapstore/security.py; the store checks them on every backend, and this
-- is the database holding them a second time for an application role that
-- does not own the tables (`liapstore migrate --grant-to ROLE`). The owner
-- (migrations, `maintain`) is not held to the policies: RLS is not FORCEd.
--
-- The store names the acting player and the client's address per
-- transaction: set_config('app.user_id', ..., true) and app.client_ip, sent
-- with BEGIN (backends/pgpool.py). Unset or '' means "the server".

CREATE OR REPLACE FUNCTION liapstore_client_ip() RETURNS inet
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.client_ip', true), '')::inet $$;

-- Whether the current identity may touch a row that belongs to `owner`:
-- the server may, a player only their own.
CREATE OR REPLACE FUNCTION liapstore_may_touch(owner uuid) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ SELECT current_user_id() IS NULL OR owner = current_user_id() $$;

-- Players: every profile is public; a player inserts, updates and deletes
-- only their own row (the server: any).
DROP POLICY players_update_policy ON players;
CREATE POLICY players_insert_policy ON players FOR INSERT WITH CHECK (liapstore_may_touch(id));
CREATE POLICY players_update_policy ON players FOR UPDATE
    USING (liapstore_may_touch(id)) WITH CHECK (liapstore_may_touch(id));
CREATE POLICY players_delete_policy ON players FOR DELETE USING (liapstore_may_touch(id));

-- Which columns each may change (policies cannot tell columns apart): the
-- statistics only the server, which records the games; last_seen and
-- is_active the server or the player; everything else (the profile) only
-- the player. Like the policies it binds the roles that do not own the
-- table: the owner's connections (migrations, and upkeep such as
-- re-encrypting every address under a new key) are held by the store's
-- checks only. Values are compared, not the columns named in the UPDATE
-- (the achievements lock a row with games_played = games_played + 0).
CREATE OR REPLACE FUNCTION liapstore_guard_player_update() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    me uuid := current_user_id();
    stats text[] := ARRAY['games_played', 'games_won', 'total_score', 'highest_score'];
    free text[] := ARRAY['last_seen', 'is_active'];
    old_row jsonb := to_jsonb(OLD);
    new_row jsonb := to_jsonb(NEW);
BEGIN
    IF pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
        RETURN NEW;
    END IF;
    IF me IS NULL THEN
        IF (new_row - stats - free) IS DISTINCT FROM (old_row - stats - free) THEN
            RAISE EXCEPTION 'the server cannot change the profile of player %', OLD.id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    ELSIF me IS DISTINCT FROM OLD.id OR me IS DISTINCT FROM NEW.id THEN
        RAISE EXCEPTION 'player % cannot change player %', me, OLD.id
            USING ERRCODE = 'insufficient_privilege';
    ELSIF (SELECT bool_or(new_row -> k IS DISTINCT FROM old_row -> k) FROM unnest(stats) k) THEN
        RAISE EXCEPTION 'a player cannot change their own statistics'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER guard_player_update
    BEFORE UPDATE ON players
    FOR EACH ROW EXECUTE FUNCTION liapstore_guard_player_update();

-- Sessions and connections: a player's own rows only (the server: all).
ALTER TABLE player_sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY player_sessions_own ON player_sessions FOR ALL
    USING (liapstore_may_touch(player_id)) WITH CHECK (liapstore_may_touch(player_id));
ALTER TABLE active_connections ENABLE ROW LEVEL SECURITY;
CREATE POLICY active_connections_own ON active_connections FOR ALL
    USING (liapstore_may_touch(player_id)) WITH CHECK (liapstore_may_touch(player_id));

-- Friendships: the rows a player is a party to, either side.
ALTER TABLE friendships ENABLE ROW LEVEL SECURITY;
CREATE POLICY friendships_party ON friendships FOR ALL
    USING (current_user_id() IS NULL OR current_user_id() IN (player_id, friend_id))
    WITH CHECK (current_user_id() IS NULL OR current_user_id() IN (player_id, friend_id));

-- The audit trail is the server's to read; it is written only by
-- audit_trigger() (SECURITY DEFINER, as the owner), so the application role
-- gets SELECT on it and nothing else: it can neither forge nor erase entries.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_server ON audit_log FOR SELECT USING (current_user_id() IS NULL);

-- The audit payload: the whole row (OLD for deletes) without any column
-- whose name holds email, token or key (security.secret_column), timestamps
-- as fixed-width UTC text; the actor and the client's address of the
-- transaction. Now on players, player_sessions and rooms.
CREATE OR REPLACE FUNCTION audit_trigger() RETURNS TRIGGER LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    payload jsonb;
    col name;
BEGIN
    SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb) INTO payload
    FROM jsonb_each(CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END)
    WHERE key !~ '(email|token|key)';
    FOR col IN SELECT attname FROM pg_attribute
               WHERE attrelid = TG_RELID AND attnum > 0 AND NOT attisdropped
                 AND atttypid = 'timestamptz'::regtype LOOP
        IF jsonb_typeof(payload -> col) = 'string' THEN
            payload := jsonb_set(payload, ARRAY[col::text],
                                 to_jsonb(liapstore_utc_text((payload ->> col)::timestamptz)));
        END IF;
    END LOOP;
    INSERT INTO audit_log (table_name, operation, user_id, changed_data, ip_address)
    VALUES (TG_TABLE_NAME, TG_OP, current_user_id(), payload, liapstore_client_ip());
    RETURN NULL;
END;
$$;
CREATE TRIGGER audit_player_sessions
    AFTER INSERT OR UPDATE OR DELETE ON player_sessions
    FOR EACH ROW EXECUTE FUNCTION audit_trigger();
CREATE TRIGGER audit_rooms
    AFTER INSERT OR UPDATE OR DELETE ON rooms
    FOR EACH ROW EXECUTE FUNCTION audit_trigger();
CREATE INDEX idx_audit_log_user ON audit_log (user_id, id);
