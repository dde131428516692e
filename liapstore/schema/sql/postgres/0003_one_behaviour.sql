-- One behaviour on every backend (issue 6): room-name search and the audit
-- payload now follow the same rules as SQLite and the memory backend.

-- Room-name search: whole words, case-insensitive, no stemming, no stop
-- words (liapstore/textsearch.py states the rule). The document's
-- to_tsvector('english', name) stemmed ("game" found "Games") and dropped
-- stop words ("the friday" found "Friday Night Games"), which SQLite's FTS5
-- and the memory backend do not. ICU's root collation gives the same
-- lowercase and the same letters and digits whatever the database's locale
-- (a "C" database would otherwise lower-case ASCII only).
CREATE OR REPLACE FUNCTION liapstore_name_words(name text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT array_remove(regexp_split_to_array(lower(name COLLATE "und-x-icu"),
                                                    '[^[:alnum:]]+'), '') $$;
DROP INDEX idx_rooms_name_search;
CREATE INDEX idx_rooms_name_search ON rooms USING gin (liapstore_name_words(name));

-- Timestamps in the audit payload as every backend writes them: fixed-width
-- UTC text ('2026-01-02 03:04:05.000006+00:00'), whatever the session's
-- TimeZone (to_jsonb would print the session's offset and trim zeros).
CREATE OR REPLACE FUNCTION liapstore_utc_text(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00:00' $$;

-- The audit trigger of 0001, with every timestamp column of the row written
-- by liapstore_utc_text(). The payload is the whole row (OLD for deletes)
-- without the e-mail columns, as on SQLite and memory.
CREATE OR REPLACE FUNCTION audit_trigger() RETURNS TRIGGER LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    payload jsonb;
    col name;
BEGIN
    payload := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END
               - 'email' - 'email_encrypted';
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
