-- One behaviour on every backend (issue 6): room-name search and the audit
-- payload follow the same rules as PostgreSQL and the memory backend.

-- Room-name search: whole words, case-insensitive, no stemming, no stop
-- words (liapstore/textsearch.py states the rule). A word is a run of
-- letters and decimal digits (categories L* Nd, as ICU's [[:alnum:]] on
-- PostgreSQL); diacritics count, as they do there (unicode61 would remove
-- them by default). The index is rebuilt from the rooms table.
DROP TRIGGER rooms_name_search_insert;
DROP TRIGGER rooms_name_search_delete;
DROP TRIGGER rooms_name_search_update;
DROP TABLE rooms_name_search;
CREATE VIRTUAL TABLE rooms_name_search USING fts5 (
    name, content='rooms', content_rowid='rowid',
    tokenize="unicode61 remove_diacritics 0 categories 'L* Nd'");
INSERT INTO rooms_name_search (rooms_name_search) VALUES ('rebuild');
CREATE TRIGGER rooms_name_search_insert AFTER INSERT ON rooms BEGIN
    INSERT INTO rooms_name_search (rowid, name) VALUES (NEW.rowid, NEW.name);
END;
CREATE TRIGGER rooms_name_search_delete AFTER DELETE ON rooms BEGIN
    INSERT INTO rooms_name_search (rooms_name_search, rowid, name) VALUES ('delete', OLD.rowid, OLD.name);
END;
CREATE TRIGGER rooms_name_search_update AFTER UPDATE OF name ON rooms BEGIN
    INSERT INTO rooms_name_search (rooms_name_search, rowid, name) VALUES ('delete', OLD.rowid, OLD.name);
    INSERT INTO rooms_name_search (rowid, name) VALUES (NEW.rowid, NEW.name);
END;

-- The audit payload as PostgreSQL's audit_trigger() writes it: the whole row
-- (OLD for deletes) without the e-mail columns, booleans as JSON booleans,
-- timestamps as stored (fixed-width UTC text, the form PostgreSQL's trigger
-- now writes too). 0001's triggers left out created_at and last_seen, wrote
-- is_active as 1, and logged only id and username on delete.
DROP TRIGGER audit_players_insert;
DROP TRIGGER audit_players_update;
DROP TRIGGER audit_players_delete;

-- audit_log.changed_data gets the json_valid() CHECK that every other JSON
-- column has (0001 left it out; tests/sql/test_schema_checks.py noticed).
-- SQLite adds a CHECK only by rebuilding the table; ids and the
-- AUTOINCREMENT counter are kept, so no id is ever handed out twice.
CREATE TABLE audit_log_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name VARCHAR(50) NOT NULL,
    operation VARCHAR(10) NOT NULL,
    user_id TEXT,
    changed_data JSON CHECK (changed_data IS NULL OR json_valid(changed_data)),
    timestamp TEXT NOT NULL,
    ip_address TEXT
);
INSERT INTO audit_log_new (id, table_name, operation, user_id, changed_data, timestamp, ip_address)
    SELECT id, table_name, operation, user_id, changed_data, timestamp, ip_address FROM audit_log;
DELETE FROM sqlite_sequence WHERE name = 'audit_log_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'audit_log_new', seq FROM sqlite_sequence WHERE name = 'audit_log';
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE TRIGGER audit_players_insert AFTER INSERT ON players BEGIN
    INSERT INTO audit_log (table_name, operation, changed_data, timestamp)
    VALUES ('players', 'INSERT', json_object(
        'id', NEW.id, 'username', NEW.username, 'display_name', NEW.display_name,
        'created_at', NEW.created_at, 'last_seen', NEW.last_seen,
        'is_active', json(CASE WHEN NEW.is_active THEN 'true' ELSE 'false' END),
        'games_played', NEW.games_played, 'games_won', NEW.games_won,
        'total_score', NEW.total_score, 'highest_score', NEW.highest_score,
        'settings', json(NEW.settings)),
        strftime('%Y-%m-%d %H:%M:%f000+00:00', 'now'));
END;
CREATE TRIGGER audit_players_update AFTER UPDATE ON players BEGIN
    INSERT INTO audit_log (table_name, operation, changed_data, timestamp)
    VALUES ('players', 'UPDATE', json_object(
        'id', NEW.id, 'username', NEW.username, 'display_name', NEW.display_name,
        'created_at', NEW.created_at, 'last_seen', NEW.last_seen,
        'is_active', json(CASE WHEN NEW.is_active THEN 'true' ELSE 'false' END),
        'games_played', NEW.games_played, 'games_won', NEW.games_won,
        'total_score', NEW.total_score, 'highest_score', NEW.highest_score,
        'settings', json(NEW.settings)),
        strftime('%Y-%m-%d %H:%M:%f000+00:00', 'now'));
END;
CREATE TRIGGER audit_players_delete AFTER DELETE ON players BEGIN
    INSERT INTO audit_log (table_name, operation, changed_data, timestamp)
    VALUES ('players', 'DELETE', json_object(
        'id', OLD.id, 'username', OLD.username, 'display_name', OLD.display_name,
        'created_at', OLD.created_at, 'last_seen', OLD.last_seen,
        'is_active', json(CASE WHEN OLD.is_active THEN 'true' ELSE 'false' END),
        'games_played', OLD.games_played, 'games_won', OLD.games_won,
        'total_score', OLD.total_score, 'highest_score', OLD.highest_score,
        'settings', json(OLD.settings)),
        strftime('%Y-%m-%d %H:%M:%f000+00:00', 'now'));
END;
