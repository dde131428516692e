"""Encrypted e-mail with per-player keys, its blind index, sliding sessions.

Addresses stored before this step are plain text in ``players.email``. The
step cannot encrypt them: migrations never see the keys (they run on
``connect()``, with or without them). They stay where they are, *pending*,
until ``liapstore keys encrypt-pending`` (``Store.encrypt_pending_emails``)
runs with the keys configured; see liapstore/schema/README.md.
"""
from liapstore.schema.sqlfiles import run_sql_file


def up(migrator, db):
    run_sql_file(db, "0006_email_keys_sessions.sql")
