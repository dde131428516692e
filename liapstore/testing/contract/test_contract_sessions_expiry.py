"""Sessions: sliding expiry with an absolute limit, revocation, and one
refusal for every token that does not open a live session."""
import time
from datetime import timedelta

from liapstore import Conflict, InvalidInput, NotFound
from liapstore.testing.support import update_own, expect, rows


def _refusal(store, token):
    e = expect(NotFound, store.get_session, token)
    return type(e), str(e)


def test_every_bad_token_is_refused_the_same_way(store):
    p = store.create_player("alice")
    _, expired = store.create_session(p.id, ttl=0.01)
    revoked_session, revoked = store.create_session(p.id)
    _, live = store.create_session(p.id)
    store.delete_session(revoked_session.id)
    time.sleep(0.05)
    forged = live[:-4] + ("AAAA" if not live.endswith("AAAA") else "BBBB")
    refusals = {kind: _refusal(store, token) for kind, token in {
        "expired": expired, "revoked": revoked, "forged": forged, "unknown": "x" * 43,
        "empty": "", "none": None, "int": 42, "nul": "a\x00b", "surrogate": "\ud800",
        "huge": "t" * 100_000, "bytes": live.encode()}.items()}
    # One error type and one message, which names none of the reasons.
    assert len(set(refusals.values())) == 1, refusals
    message = next(iter(refusals.values()))[1]
    for word in ("expired", "revoked", "malformed", "invalid"):
        assert word not in message
    assert store.get_session(live).player_id == p.id


def test_use_slides_the_expiry(store):
    p = store.create_player("alice")
    session, token = store.create_session(p.id, ttl=timedelta(seconds=1))
    assert session.absolute_expires_at - session.created_at == store.session_max_age
    time.sleep(0.3)
    used = store.get_session(token)
    assert used.expires_at > session.expires_at
    assert used.expires_at - session.expires_at >= timedelta(seconds=0.25)
    assert store.list_sessions(p.id)[0].expires_at == used.expires_at
    # Kept alive by use past its first expiry.
    for _ in range(4):
        time.sleep(0.3)
        store.get_session(token)
    assert time.time() > session.expires_at.timestamp()
    # Unused for longer than ttl, it expires.
    time.sleep(1.1)
    expect(NotFound, store.get_session, token)


def test_sliding_stops_at_the_absolute_limit(store):
    p = store.create_player("alice")
    session, token = store.create_session(p.id, ttl=timedelta(seconds=1),
                                          max_age=timedelta(seconds=1.5))
    assert session.absolute_expires_at - session.created_at == timedelta(seconds=1.5)
    time.sleep(0.8)
    assert store.get_session(token).expires_at == session.absolute_expires_at
    time.sleep(0.8)
    expect(NotFound, store.get_session, token)


def test_max_age_arguments(store):
    p = store.create_player("alice")
    s, _ = store.create_session(p.id, ttl=timedelta(days=365))
    # A ttl longer than the default limit is its own limit.
    assert s.absolute_expires_at == s.expires_at
    counts = rows(store)
    for kwargs in ({"ttl": 10, "max_age": 5}, {"max_age": 0}, {"max_age": "1d"},
                   {"max_age": timedelta(days=-1)}):
        expect(InvalidInput, store.create_session, p.id, **kwargs)
    assert rows(store) == counts


def test_revoke_all_sessions_of_a_player(store):
    a, b = store.create_player("alice"), store.create_player("bob")
    made = [store.create_session(a.id) for _ in range(3)]
    _, bobs = store.create_session(b.id)
    keep, kept_token = made[0]
    assert store.revoke_sessions(a.id, keep=keep.id) == 2
    assert [s.id for s in store.list_sessions(a.id)] == [keep.id]
    for _, token in made[1:]:
        expect(NotFound, store.get_session, token)
    assert store.get_session(kept_token).id == keep.id
    assert store.revoke_sessions(a.id) == 1
    expect(NotFound, store.get_session, kept_token)
    assert store.revoke_sessions(a.id) == 0
    assert store.get_session(bobs).player_id == b.id
    expect(InvalidInput, store.revoke_sessions, "alice")


def test_changing_the_address_revokes_every_session(store):
    p = store.create_player("alice", email="alice@example.org")
    tokens = [store.create_session(p.id)[1] for _ in range(2)]
    # Other changes, and the same address again (in any case), revoke nothing.
    update_own(store, p.id, display_name="Alice")
    update_own(store, p.id, email="ALICE@example.org")
    assert all(store.get_session(t) for t in tokens)
    update_own(store, p.id, email="alice@new.example")
    for t in tokens:
        expect(NotFound, store.get_session, t)
    _, token = store.create_session(p.id)
    update_own(store, p.id, email=None)
    expect(NotFound, store.get_session, token)
    assert store.list_sessions(p.id) == []


def test_a_failed_address_change_revokes_nothing(store):
    store.create_player("bob", email="bob@example.org")
    p = store.create_player("alice", email="alice@example.org")
    _, token = store.create_session(p.id)
    expect(Conflict, update_own, store, p.id, email="BOB@example.org")
    assert store.get_session(token).player_id == p.id
    assert store.get_player(p.id).email == "alice@example.org"
