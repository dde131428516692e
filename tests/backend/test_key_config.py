"""Keys named by key files in the URL, on liapstore's own backends (a third
party's backend may refuse query options in its URLs, so the shipped suite
gives its stores keys through the environment only)."""
import liapstore
from liapstore import KeyUnavailable, keys
from liapstore.testing.support import expect


def test_key_files_in_the_url(backend, tmp_path, monkeypatch, store_url):
    master, blind = tmp_path / "master.key", tmp_path / "blind.key"
    master.write_text(keys.generate() + "\n")
    blind.write_text(keys.generate())
    monkeypatch.delenv(keys.ENCRYPTION_KEY_ENV)
    monkeypatch.delenv(keys.BLIND_INDEX_KEY_ENV)
    sep = "&" if "?" in store_url else "?"
    url = f"{store_url}{sep}encryption_key_file={master}&blind_index_key_file={blind}"
    with liapstore.connect(url) as s:
        p = s.create_player("alice", email="alice@example.org")
        assert s.get_player_by_email("ALICE@example.org").id == p.id
        assert s._keyring.master_keys == [keys.parse_key(master.read_text(), "test")]
    e = expect(KeyUnavailable, liapstore.connect,
               f"{store_url}{sep}encryption_key_file={tmp_path / 'missing.key'}")
    assert "missing.key" in str(e)
