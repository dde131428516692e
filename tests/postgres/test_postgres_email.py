"""Addresses copied between backends: PostgreSQL reads the AES-GCM form that
SQLite and memory write (a copy keeps ids, so the binding to the player
holds); SQLite cannot read pgcrypto's form and says so."""
import pytest

import liapstore
from liapstore import KeyUnavailable
from liapstore.testing.support import expect

pytestmark = pytest.mark.backends("postgres")


def _copy_player(source, target, player_id):
    target._insert("players", source._select("players", [("id", "=", player_id)], ())[0])
    target._insert("player_keys", source._select("player_keys", [("player_id", "=", player_id)], ())[0])


def test_postgres_reads_addresses_written_elsewhere(store, tmp_path):
    with liapstore.connect(f"sqlite:///{tmp_path / 'a.db'}") as lite:
        p = lite.create_player("alice", email="Alice@Example.org")
        _copy_player(lite, store, p.id)
        q = store.create_player("bob", email="bob@example.org")
        assert store.get_player(p.id).email == "Alice@Example.org"
        assert store.get_player_by_email("alice@example.org").id == p.id
        # Both forms in one listing: one batch of each.
        assert [x.email for x in store.list_players()] == ["Alice@Example.org", "bob@example.org"]
        _copy_player(store, lite, q.id)
        e = expect(KeyUnavailable, lite.get_player, q.id)
        assert "format" in str(e)
