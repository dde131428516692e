"""E-mail addresses: encrypted under a key per player, unique and found
through a blind index, unavailable (never None) without the keys.

The suite's stores get their keys from the environment (TEST_KEYS in
liapstore/testing/plugin.py); the tests that take keys away open a store of
their own with the variables removed.
"""
import uuid

import pytest

import liapstore
from liapstore import Conflict, InvalidInput, KeyUnavailable, NotFound, keys
from liapstore.testing.support import update_own, expect, rows


def test_an_address_reads_back_decrypted(store):
    p = store.create_player("alice", email="Alice.Liddell@Example.org")
    assert p.email == "Alice.Liddell@Example.org"
    assert store.get_player(p.id).email == "Alice.Liddell@Example.org"
    assert store.get_player_by_username("alice").email == p.email
    assert [x.email for x in store.list_players()] == [p.email]
    assert update_own(store, p.id, display_name="A").email == p.email


def test_the_address_is_stored_only_encrypted(store):
    p = store.create_player("alice", email="alice@secret.example")
    row = store._select("players", [("id", "=", p.id)], ())[0]
    assert row["email"] is None
    assert b"alice" not in bytes(row["email_encrypted"])
    assert "alice" not in row["email_blind_index"] and len(row["email_blind_index"]) == 64
    key_row = store._select("player_keys", [("player_id", "=", p.id)], ())[0]
    assert key_row["key_version"] == keys.key_version(store._keyring.master_keys[0])
    for key in store._keyring.master_keys + [store._keyring.blind_index_key]:
        assert key not in bytes(key_row["wrapped_key"]) and key not in bytes(row["email_encrypted"])


def test_lookup_by_address_ignores_case(store):
    a = store.create_player("alice", email="Alice@Example.org")
    store.create_player("bob", email="bob@example.org")
    for asked in ("Alice@Example.org", "alice@example.org", "ALICE@EXAMPLE.ORG"):
        found = store.get_player_by_email(asked)
        assert (found.id, found.email) == (a.id, "Alice@Example.org")
    expect(NotFound, store.get_player_by_email, "carol@example.org")
    expect(NotFound, store.get_player_by_email, "alice@example.org.evil")
    e = expect(NotFound, store.get_player_by_email, "nobody@hidden.example")
    assert "hidden.example" not in str(e)
    for bad in (None, "not-an-address", 5, "a@b", " alice@example.org"):
        expect(InvalidInput, store.get_player_by_email, bad)


def test_addresses_are_unique_whatever_their_case(store):
    store.create_player("alice", email="shared@example.org")
    counts = rows(store)
    for other in ("shared@example.org", "SHARED@Example.ORG", "Shared@example.org"):
        expect(Conflict, store.create_player, "bob", email=other)
    assert rows(store) == counts
    bob = store.create_player("bob", email="bob@example.org")
    expect(Conflict, update_own, store, bob.id, email="Shared@Example.org")
    assert store.get_player(bob.id).email == "bob@example.org"
    assert store.get_player_by_email("shared@example.org").username == "alice"


def test_changing_and_removing_an_address(store):
    p = store.create_player("alice", email="old@example.org")
    update_own(store, p.id, email="new@example.org")
    assert store.get_player(p.id).email == "new@example.org"
    expect(NotFound, store.get_player_by_email, "old@example.org")
    # The old address is free again.
    other = store.create_player("bob", email="old@example.org")
    assert store.get_player_by_email("OLD@example.org").id == other.id
    update_own(store, p.id, email=None)
    assert store.get_player(p.id).email is None
    expect(NotFound, store.get_player_by_email, "new@example.org")
    update_own(store, p.id, email="again@example.org")
    assert store.get_player_by_email("again@example.org").id == p.id


def test_each_player_has_a_key_of_their_own(store):
    a = store.create_player("alice", email="a@example.org")
    b = store.create_player("bob", email="b@example.org")
    store.create_player("carol")  # No address, no key.
    keyrows = {r["player_id"]: r for r in store._select("player_keys", [], ())}
    assert set(keyrows) == {a.id, b.id}
    assert keyrows[a.id]["wrapped_key"] != keyrows[b.id]["wrapped_key"]
    # One player's ciphertext in another's row does not decrypt as theirs.
    a_row = store._select("players", [("id", "=", a.id)], ())[0]
    store._update("players", [("id", "=", b.id)], {"email_encrypted": a_row["email_encrypted"]})
    with pytest.raises(liapstore.LiapstoreError):
        assert store.get_player(b.id).email != "a@example.org"


def test_destroying_a_players_key_erases_the_address(store):
    p = store.create_player("alice", email="alice@example.org")
    other = store.create_player("bob", email="bob@example.org")
    ciphertext = store._select("players", [("id", "=", p.id)], ())[0]["email_encrypted"]
    assert store._destroy_player_key(p.id) is True
    assert store._destroy_player_key(p.id) is False
    # The ciphertext is still there (as it is in an older backup), unreadable.
    assert store._select("players", [("id", "=", p.id)], ())[0]["email_encrypted"] == ciphertext
    assert store.get_player(p.id).email is None
    assert store.get_player(other.id).email == "bob@example.org"
    assert {x.username: x.email for x in store.list_players()} == {"alice": None,
                                                                   "bob": "bob@example.org"}


@pytest.fixture
def keyless(monkeypatch):
    """Open the test's store_url without one key or both: ``keyless(*names)``."""
    def open_without(store_url, *names):
        for name in names:
            monkeypatch.delenv(name, raising=False)
        return liapstore.connect(store_url)
    return open_without


@pytest.mark.durable
def test_without_the_master_key_e_mail_is_unavailable(store_url, keyless):
    with liapstore.connect(store_url) as s:
        alice = s.create_player("alice", email="alice@example.org")
        s.create_player("bob")
    with keyless(store_url, keys.ENCRYPTION_KEY_ENV) as s:
        counts = rows(s)
        e = expect(KeyUnavailable, s.create_player, "carol", email="carol@example.org")
        assert keys.ENCRYPTION_KEY_ENV in str(e)
        expect(KeyUnavailable, update_own, s, alice.id, email="alice2@example.org")
        assert rows(s) == counts
        expect(KeyUnavailable, s.get_player, alice.id)
        expect(KeyUnavailable, s.list_players)
        expect(KeyUnavailable, s.get_player_by_email, "alice@example.org")
        # What involves no address works.
        assert s.get_player_by_username("bob").email is None
        assert s.create_player("dave").email is None
        assert update_own(s, alice.id, email=None).email is None
    with liapstore.connect(store_url) as s:
        assert s.get_player(alice.id).email is None and s.get_player_by_username("dave")


@pytest.mark.durable
def test_without_the_blind_index_key_addresses_cannot_be_written_or_found(store_url, keyless):
    with liapstore.connect(store_url) as s:
        alice = s.create_player("alice", email="alice@example.org")
    with keyless(store_url, keys.BLIND_INDEX_KEY_ENV) as s:
        assert s.get_player(alice.id).email == "alice@example.org"
        e = expect(KeyUnavailable, s.create_player, "bob", email="bob@example.org")
        assert keys.BLIND_INDEX_KEY_ENV in str(e)
        expect(KeyUnavailable, s.get_player_by_email, "alice@example.org")
        expect(NotFound, s.get_player_by_username, "bob")


@pytest.mark.durable
def test_a_wrong_master_key_is_refused_clearly(store_url, monkeypatch):
    with liapstore.connect(store_url) as s:
        alice = s.create_player("alice", email="alice@example.org")
    monkeypatch.setenv(keys.ENCRYPTION_KEY_ENV, keys.generate())
    with liapstore.connect(store_url) as s:
        e = expect(KeyUnavailable, s.get_player, alice.id)
        assert "version" in str(e)
    monkeypatch.setenv(keys.ENCRYPTION_KEY_ENV, "hunter2-secretish")
    e = expect(InvalidInput, liapstore.connect, store_url)
    assert "hunter2" not in str(e) and keys.ENCRYPTION_KEY_ENV in str(e)


def test_blind_index_is_an_hmac_of_the_normalized_address():
    ring = keys.Keyring([], bytes(range(32)))
    assert ring.blind_index("A@B.org") == ring.blind_index(" a@b.ORG ")
    assert ring.blind_index("a@b.org") != keys.Keyring([], bytes(32)).blind_index("a@b.org")
    assert ring.blind_index("straße@x.de") == ring.blind_index("STRASSE@x.de")
    import hashlib
    import hmac
    assert ring.blind_index("A@B.org") == hmac.new(bytes(range(32)), b"a@b.org",
                                                   hashlib.sha256).hexdigest()


def test_keys_parse_from_hex_or_base64_only():
    raw = bytes(range(32))
    import base64
    assert keys.parse_key(raw.hex(), "x") == raw
    assert keys.parse_key(base64.urlsafe_b64encode(raw).decode(), "x") == raw
    assert len(keys.parse_key(keys.generate(), "x")) == 32
    for bad in ("", "abc", raw.hex()[:-2], "zz" * 32, base64.b64encode(raw[:16]).decode()):
        e = expect(InvalidInput, keys.parse_key, bad, "$SOMEWHERE")
        assert "$SOMEWHERE" in str(e) and (not bad or bad not in str(e))


def test_an_erased_players_key_is_gone_with_their_row(store):
    p = store.create_player("alice", email="alice@example.org")
    store._delete("players", [("id", "=", p.id)])
    assert store._select("player_keys", [("player_id", "=", p.id)], ()) == []
    assert store._destroy_player_key(uuid.uuid4()) is False
