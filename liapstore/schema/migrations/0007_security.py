"""Security that applies (issue 10): row-level security and the profile guard
on PostgreSQL, and the audit trail of players, player_sessions and rooms,
with the acting player and client address, on both SQL dialects.

SQLite's audit triggers are written here from the tables' columns as they
are after the earlier steps, so that the payload is every column except the
secret ones (security.secret_column), as PostgreSQL's to_jsonb-based trigger
writes it; a later step that adds a column to an audited table calls
``write_sqlite_audit_triggers(db, table)`` again.
"""
from liapstore.schema.models import BY_TABLE
from liapstore.schema.sqlfiles import run_sql_file
from liapstore.security import AUDITED, secret_column


def up(migrator, db):
    run_sql_file(db, "0007_security.sql")
    if db.liapstore_dialect == "sqlite":
        for table in AUDITED:
            write_sqlite_audit_triggers(db, table)


def write_sqlite_audit_triggers(db, table):
    """(Re)create the three audit triggers of ``table`` on SQLite."""
    columns = [row[1] for row in db.execute_sql(f'PRAGMA table_info("{table}")').fetchall()]
    fields = BY_TABLE[table]._meta.columns
    for operation, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
        pairs = ", ".join(f"'{c}', {_json_value(fields.get(c), f'{row}.{c}')}"
                          for c in columns if not secret_column(c))
        name = f"audit_{table}_{operation.lower()}"
        db.execute_sql(f"DROP TRIGGER IF EXISTS {name}")
        db.execute_sql(
            f"CREATE TRIGGER {name} AFTER {operation} ON {table} BEGIN\n"
            f"    INSERT INTO audit_log (table_name, operation, user_id, changed_data, timestamp, ip_address)\n"
            f"    VALUES ('{table}', '{operation}', (SELECT user_id FROM liapstore_actor),\n"
            f"            json_object({pairs}), strftime('%Y-%m-%d %H:%M:%f000+00:00', 'now'),\n"
            f"            (SELECT ip_address FROM liapstore_actor));\n"
            f"END")


def _json_value(field, ref):
    """The SQL giving column ``ref`` as PostgreSQL's to_jsonb gives it."""
    kind = getattr(field, "field_type", None)
    if kind == "BOOL":
        return f"json(CASE WHEN {ref} IS NULL THEN 'null' WHEN {ref} THEN 'true' ELSE 'false' END)"
    if kind == "JSONB":
        return f"json({ref})"
    return ref
