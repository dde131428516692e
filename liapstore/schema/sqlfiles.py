"""Run the hand-written SQL files in ``sql/<dialect>/`` statement by statement."""
import sqlite3
from pathlib import Path

SQL_DIR = Path(__file__).parent / "sql"


def statements(text):
    """Split a SQL script into statements.

    ``sqlite3.complete_statement`` knows that a semicolon inside a trigger
    body or a dollar-quoted function does not end the statement only for
    SQLite's syntax, so PostgreSQL function bodies are kept whole by tracking
    ``$$`` quoting here.
    """
    out, buf, in_dollar = [], [], False
    for line in text.splitlines():
        if not buf and (not line.strip() or line.strip().startswith("--")):
            continue
        buf.append(line)
        if line.count("$$") % 2:
            in_dollar = not in_dollar
        chunk = "\n".join(buf)
        if not in_dollar and line.rstrip().endswith(";") and sqlite3.complete_statement(chunk):
            out.append(chunk)
            buf = []
    if buf and "\n".join(buf).strip():
        out.append("\n".join(buf))
    return out


def run_sql_file(db, name):
    """Execute ``sql/<db.liapstore_dialect>/<name>`` inside the caller's transaction."""
    path = SQL_DIR / db.liapstore_dialect / name
    # The driver's own cursor, without parameters: psycopg then leaves the
    # '%' of format() calls in function bodies alone.
    cursor = db.cursor()
    for statement in statements(path.read_text()):
        cursor.execute(statement)
