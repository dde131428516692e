"""The backend contract (liapstore/backend.py) is enforced, not only written down."""
from contextlib import contextmanager

import pytest

import liapstore
from liapstore.backend import Backend
from liapstore.backends.memory import MemoryStore

REQUIRED = {"migrate", "schema_version", "_transaction", "_insert", "_select", "_update",
            "_delete", "_count", "_search_rooms"}


def test_the_contract_names_what_a_backend_must_provide():
    assert Backend.__abstractmethods__ == REQUIRED
    assert liapstore.Store.__abstractmethods__ == REQUIRED
    assert issubclass(liapstore.Store, Backend)
    for name in REQUIRED | {"close", "refresh_leaderboard", "_ensure_partitions"}:
        assert getattr(Backend, name).__doc__, f"Backend.{name} is undocumented"


def test_the_built_in_backends_provide_all_of_it():
    from liapstore.backends.postgres import PostgresStore
    from liapstore.backends.sqlite import SqliteStore
    for cls in (MemoryStore, SqliteStore, PostgresStore):
        assert not cls.__abstractmethods__, cls


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_a_backend_lacking_a_primitive_cannot_be_created(missing):
    def provided(name):
        if name == "_transaction":
            return contextmanager(lambda self: (yield))
        return lambda self, *args, **kwargs: None
    cls = type("Partial", (liapstore.Store,), {n: provided(n) for n in REQUIRED - {missing}})
    with pytest.raises(TypeError, match=missing):
        cls("partial://")


def test_the_store_itself_is_abstract():
    with pytest.raises(TypeError):
        liapstore.Store("memory://")
