-- Security that applies (issue 10). SQLite has no roles: the store checks
-- who may do what (liapstore/security.py). The audit triggers of players,
-- player_sessions and rooms are written by migrations/0007_security.py from
-- the tables' columns. They take the acting player and the client's address
-- from liapstore_actor, one row that the store fills before it writes an
-- audited table with an identity and empties before the commit (SQLite runs
-- one write transaction at a time, so the row is that transaction's); empty,
-- as any other connection finds it, means the server.
CREATE TABLE liapstore_actor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    user_id TEXT,
    ip_address TEXT
);
-- The index behind `liapstore audit --player`.
CREATE INDEX idx_audit_log_user ON audit_log (user_id, id);
