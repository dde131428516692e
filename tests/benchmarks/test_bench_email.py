"""What encrypted e-mail costs, beside the same operation on a player without
an address, in the same run (benchmark groups "email-<op>-<backend>").

- ``get_player``: without an address, one read; with one, the key row is
  read, the data key unwrapped (AES-GCM in Python) and the address decrypted
  (AES-GCM on SQLite, ``pgp_sym_decrypt`` in one more statement on PostgreSQL).
- ``get_session``: a token looked up by its hash (no address involved; the
  sliding write happens at most once per 1% of ttl, so not here).
- ``create_player``: the blind index, a new data key, its wrapping and the
  encryption (``pgp_sym_encrypt``, one statement, on PostgreSQL) are added.

Nothing is asserted about the times; the results are checked.
"""
import itertools

import pytest

import liapstore

PLAYERS = 200


@pytest.fixture
def filled(store_url):
    with liapstore.connect(store_url) as store:
        with store.transaction():
            plain = [store.create_player(f"plain{i}").id for i in range(PLAYERS)]
            mailed = [store.create_player(f"mailed{i}", email=f"mailed{i}@example.org").id
                      for i in range(PLAYERS)]
        yield store, plain, mailed


@pytest.mark.backends("sqlite", "postgres")
@pytest.mark.parametrize("with_email", [False, True], ids=["no-address", "address"])
def test_get_player(benchmark, backend, filled, with_email):
    store, plain, mailed = filled
    ids = itertools.cycle(mailed if with_email else plain)
    benchmark.group = f"email-get_player-{backend}"
    p = benchmark(lambda: store.get_player(next(ids)))
    assert (p.email is not None) == with_email


@pytest.mark.backends("sqlite", "postgres")
@pytest.mark.parametrize("with_email", [False, True], ids=["no-address", "address"])
def test_create_player(benchmark, backend, store_url, with_email):
    counter = itertools.count()
    benchmark.group = f"email-create_player-{backend}"
    with liapstore.connect(store_url) as store:
        def create():
            i = next(counter)
            return store.create_player(f"new{i}", email=f"new{i}@example.org" if with_email else None)
        p = benchmark(create)
        assert (p.email is not None) == with_email


@pytest.mark.backends("sqlite", "postgres")
def test_get_session(benchmark, backend, filled):
    store, plain, _ = filled
    tokens = itertools.cycle([store.create_session(pid)[1] for pid in plain[:50]])
    benchmark.group = f"email-get_session-{backend}"
    assert benchmark(lambda: store.get_session(next(tokens))).player_id in plain


@pytest.mark.backends("sqlite", "postgres")
@pytest.mark.parametrize("kind", ["expired", "forged", "malformed", "wrong-type"])
def test_session_refusals_take_the_same_time(benchmark, backend, filled, kind):
    """Each kind of bad token, side by side (group "session-refusal-<backend>"):
    the same hash and the same one lookup, whatever was wrong."""
    store, plain, _ = filled
    _, expired = store.create_session(plain[0], ttl=0.001)
    _, live = store.create_session(plain[1])
    token = {"expired": expired, "forged": live[:-2] + ("AA" if live[-2:] != "AA" else "BB"),
             "malformed": "not a token\u00e9", "wrong-type": 12345}[kind]
    benchmark.group = f"session-refusal-{backend}"

    def refuse():
        try:
            store.get_session(token)
        except liapstore.NotFound as e:
            return str(e)
    assert benchmark(refuse) == "no live session for this token"
