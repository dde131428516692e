-- Security that applies (issue 10). SQLite has no roles: the store checks
-- who may do what (liapstore/security.py). The audit triggers of players,
-- player_sessions and rooms are written by migrations/0007_security.py from
-- the tables' columns; they call current_user_id() and liapstore_client_ip(),
-- which the store registers on its connections (backends/sqlite.py,
-- register_functions). Here: the index behind `liapstore audit --player`.
CREATE INDEX idx_audit_log_user ON audit_log (user_id, id);
