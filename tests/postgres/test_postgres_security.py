"""Row-level security, the audit trigger and e-mail encryption, exercised
through raw SQL on the store's PostgreSQL database."""
import uuid

import psycopg
import pytest
from psycopg import sql

from liapstore import keys

pytestmark = pytest.mark.backends("postgres")


def raw(url):
    return psycopg.connect(url, autocommit=True)


def test_audit_trigger_records_who_and_what(store, store_url):
    actor = uuid.uuid4()
    with raw(store_url) as conn:
        with conn.transaction():
            conn.execute("SELECT set_config('app.user_id', %s, true), "
                         "set_config('app.client_ip', '192.0.2.9', true)", (str(actor),))
            # The player changes their own row (the profile guard refuses anyone else).
            [(pid,)] = conn.execute(
                "INSERT INTO players (id, username, display_name, email) "
                "VALUES (%s, 'audited', 'A', 'secret@mail.example') RETURNING id",
                (actor,)).fetchall()
            conn.execute("UPDATE players SET display_name = 'B' WHERE id = %s", (pid,))
            conn.execute("DELETE FROM players WHERE id = %s", (pid,))
        entries = conn.execute("SELECT operation, user_id, host(ip_address), changed_data "
                               "FROM audit_log ORDER BY id").fetchall()
    assert [e[0] for e in entries] == ["INSERT", "UPDATE", "DELETE"]
    assert all(e[1] == actor and e[2] == "192.0.2.9" for e in entries)
    assert entries[0][3]["username"] == "audited"
    assert entries[1][3]["display_name"] == "B"
    assert entries[2][3] is not None and entries[2][3]["id"] == str(pid)  # OLD, not NULL
    for e in entries:
        assert "email" not in e[3] and "email_encrypted" not in e[3]
        assert "secret@mail.example" not in str(e[3])
    # The store reads the same trail.
    assert [e.operation for e in store.list_audit_log(table_name="players")] == [
        "INSERT", "UPDATE", "DELETE"]
    assert store.list_audit_log().items[0].user_id == actor


def test_audit_times_are_utc_text_whatever_the_session_time_zone(store, store_url):
    # to_jsonb would print the session's offset (+05:30) and trim zeros.
    with raw(store_url) as conn:
        conn.execute("SET TimeZone = 'Asia/Kolkata'")
        conn.execute("INSERT INTO players (username, display_name, created_at, last_seen) "
                     "VALUES ('zoned', 'Z', '2026-03-04 05:06:07.100000+00', "
                     "'2026-03-04 05:06:07+00')")
        [(data,)] = conn.execute("SELECT changed_data FROM audit_log").fetchall()
    assert (data["created_at"], data["last_seen"]) == ("2026-03-04 05:06:07.100000+00:00",
                                                       "2026-03-04 05:06:07.000000+00:00")
    assert data["is_active"] is True


def test_email_is_pgcrypto_output_under_the_players_own_key(store, store_url):
    p = store.create_player("crypto", email="c@mail.example")
    q = store.create_player("other", email="o@mail.example")
    ring = store._keyring
    with raw(store_url) as conn:
        [(email, encrypted)] = conn.execute("SELECT email, email_encrypted FROM players "
                                            "WHERE id = %s", (p.id,)).fetchall()
        [(wrapped, version)] = conn.execute("SELECT wrapped_key, key_version FROM player_keys "
                                            "WHERE player_id = %s", (p.id,)).fetchall()
        assert email is None and b"c@mail.example" not in bytes(encrypted)
        own = keys.pgp_passphrase(ring.unwrap(p.id, wrapped, version))
        [(plain,)] = conn.execute("SELECT pgp_sym_decrypt(%s, %s)", (encrypted, own)).fetchall()
        assert plain == "c@mail.example"
        # Neither the master key nor another player's data key opens it.
        [(w2, v2)] = conn.execute("SELECT wrapped_key, key_version FROM player_keys "
                                  "WHERE player_id = %s", (q.id,)).fetchall()
        for wrong in (ring.master_keys[0].hex(), keys.pgp_passphrase(ring.unwrap(q.id, w2, v2))):
            with pytest.raises(psycopg.Error, match="Wrong key"):
                conn.execute("SELECT pgp_sym_decrypt(%s, %s)", (encrypted, wrong))
        # A raw insert of a plain address is kept as it is: pending, as before 0006.
        [(pending,)] = conn.execute("INSERT INTO players (username, display_name, email) "
                                    "VALUES ('plain', 'P', 'p@mail.example') RETURNING id").fetchall()
    assert store.get_player(pending).email == "p@mail.example"


def test_row_level_security_holds_application_roles(store, store_url):
    alice, bob = store.create_player("alice"), store.create_player("bob")
    role = f"liapstore_app_{uuid.uuid4().hex[:10]}"
    with raw(store_url) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
        try:
            conn.execute(sql.SQL("GRANT SELECT, UPDATE ON players TO {}").format(sql.Identifier(role)))
            # The audit trigger runs with the caller's rights.
            conn.execute(sql.SQL("GRANT INSERT ON audit_log TO {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("GRANT USAGE ON SEQUENCE audit_log_id_seq TO {}").format(
                sql.Identifier(role)))
            with conn.transaction(force_rollback=True):
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
                conn.execute("SELECT set_config('app.user_id', %s, true)", (str(alice.id),))
                # Everyone can read every profile...
                assert conn.execute("SELECT count(*) FROM players").fetchone()[0] == 2
                # ...but only update their own.
                assert conn.execute("UPDATE players SET display_name = 'hacked' WHERE id = %s",
                                    (bob.id,)).rowcount == 0
                assert conn.execute("UPDATE players SET display_name = 'me' WHERE id = %s",
                                    (alice.id,)).rowcount == 1
        finally:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    assert store.get_player(bob.id).display_name == "bob"
