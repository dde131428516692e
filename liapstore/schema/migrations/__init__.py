"""Numbered schema migrations, run by ``playhouse.migrations.Runner``.

Each step runs the SQL file of the same name for the store's dialect, inside
one transaction, and is recorded in the ``schema_migration`` table. A new step
is a new pair of SQL files plus a three-line Python file here; never edit a
step that has shipped, because databases in the field have already run it.
"""
from pathlib import Path

DIRECTORY = str(Path(__file__).parent)


def names():
    """Every migration's name, in order (the latest schema version is its count)."""
    return sorted(p.stem for p in Path(DIRECTORY).glob("[0-9]*.py"))
