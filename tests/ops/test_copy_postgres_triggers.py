"""PostgreSQL targets: the table triggers that would change rows (the e-mail
encryption) or add rows (the audit) do not fire while a copy loads, and fire
again as soon as it is done."""
import psycopg
import pytest

import liapstore
from liapstore.ops import copy

pytestmark = pytest.mark.backends("postgres")


def test_rows_arrive_as_they_left_even_with_an_encryption_key_set(backend, new_postgres_url):
    del backend
    url = new_postgres_url()
    with psycopg.connect(url, autocommit=True) as admin:
        name = admin.execute("SELECT current_database()").fetchone()[0]
        # Every new session of this database now encrypts e-mail on write.
        admin.execute(f'ALTER DATABASE "{name}" SET app.encryption_key = \'copy-test-key\'')
    with liapstore.connect("memory://") as source, liapstore.connect(url) as target:
        player = source.create_player("plain_mail", email="plain@mail.example")
        assert copy.counts(source)["audit_log"] == 1
        copy.copy(source, target)
        assert copy.compare(source, target) == []
        assert target.get_player(player.id).email == "plain@mail.example"
        assert copy.counts(target)["audit_log"] == 1
        later = target.create_player("after_copy", email="after@mail.example")
        stored = target._select("players", [("id", "=", later.id)], ())[0]
        assert stored["email"] is None and stored["email_encrypted"] is not None
        assert copy.counts(target)["audit_log"] == 2
