"""Fixtures every test shares: real servers, and one store per test per backend.

``store`` is parametrized over the backends named in LIAPSTORE_TEST_BACKENDS
(default: memory,sqlite,postgres). A contract test takes ``store`` and never
asks which backend it got. Each test gets its own SQLite file or its own
PostgreSQL database (cloned from a template migrated once per run), so tests
and parallel runs never see each other's data.

PostgreSQL and Redis come from LIAPSTORE_TEST_POSTGRES_URL /
LIAPSTORE_TEST_REDIS_URL when set, else throwaway servers are started for the
run, and only if a test of the run needs them: a run without postgres in
LIAPSTORE_TEST_BACKENDS (tox -e memory, -e sqlite) leaves out every test that
needs a server, so it runs where none is installed. A server that cannot be
found or started fails the tests that need it, with the reason; it never
skips them.
"""
import json
import os
import uuid

import pytest

import liapstore
from support.servers import (create_database, drop_database, find_or_start_postgres,
                             find_or_start_redis)

# The conformance suite's fixtures and markers (store, store_url, backend;
# backends(...), durable) come from the plugin liapstore ships for backend
# authors; store_url is overridden below for the file and server backends.
pytest_plugins = ["liapstore.testing.plugin"]

ALL_BACKENDS = ("memory", "sqlite", "postgres")


def selected_backends():
    raw = os.environ.get("LIAPSTORE_TEST_BACKENDS", ",".join(ALL_BACKENDS))
    chosen = tuple(b.strip() for b in raw.split(",") if b.strip())
    unknown = set(chosen) - set(ALL_BACKENDS)
    if unknown:
        raise pytest.UsageError(f"LIAPSTORE_TEST_BACKENDS names unknown backends {sorted(unknown)}; "
                                f"known: {', '.join(ALL_BACKENDS)}")
    return chosen


def pytest_liapstore_backends(config):
    # The shipped plugin (liapstore.testing.plugin) parametrizes ``backend``
    # with these, and honours the ``backends(...)`` and ``durable`` markers.
    return selected_backends()


# The fixtures that talk to a server. A test whose fixtures include one of
# them needs that server whatever its backend.
SERVER_FIXTURES = {"postgres_admin_url", "postgres_template", "new_postgres_url", "redis_url"}


def pytest_collection_modifyitems(config, items):
    # Servers belong to the PostgreSQL run: without it in
    # LIAPSTORE_TEST_BACKENDS (tox -e memory, -e sqlite), tests that need a
    # PostgreSQL or Redis server (by their fixtures, or marked ``servers``)
    # are not part of the run, so it needs neither installed.
    if "postgres" in selected_backends():
        return
    keep, drop = [], []
    for item in items:
        needs = item.get_closest_marker("servers") or \
            SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))
        (drop if needs else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    if os.environ.get("MUTANT_UNDER_TEST"):
        _cheapest_first(items)


def _cheapest_first(items):
    """Under mutmut (tox -e mutation), which stops a mutant's run at its
    first failing test: run the tests in order of the time they took in
    mutmut's own first pass (mutmut-stats.json, in the directory it runs
    from), so that most mutants die within milliseconds."""
    try:
        with open("mutmut-stats.json") as f:
            took = json.load(f)["duration_by_test"]
    except (OSError, ValueError, KeyError):
        return
    items.sort(key=lambda item: took.get(item.nodeid, 0.0))


def pytest_configure(config):
    config.addinivalue_line("markers", "servers: starts or needs PostgreSQL/Redis servers; "
                                       "runs only when postgres is among the backends")


_FIGURES = []


@pytest.fixture
def figures():
    """``figures(line)`` keeps a measured figure for the end-of-run summary,
    where it shows even though pytest captures the tests' output."""
    return _FIGURES.append


def pytest_terminal_summary(terminalreporter):
    if _FIGURES:
        terminalreporter.section("figures measured by the tests")
        for line in _FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def postgres_admin_url():
    url, server = find_or_start_postgres()
    yield url
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url):
    """A database migrated once per run; each test's database is a copy of it."""
    name = f"liapstore_tpl_{uuid.uuid4().hex[:12]}"
    url = create_database(postgres_admin_url, name)
    liapstore.connect(url).close()
    yield name
    drop_database(postgres_admin_url, name)


@pytest.fixture(scope="session")
def redis_url():
    url, server = find_or_start_redis()
    yield url
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def cache_redis_url(redis_url):
    """The Redis of the cached runs (LIAPSTORE_TEST_CACHE=1, tox -e cache):
    LIAPSTORE_TEST_REDIS_URL's, or a throwaway one (see liapstore.testing.plugin)."""
    value = os.environ.get("LIAPSTORE_TEST_CACHE", "")
    return value if "://" in value else redis_url


@pytest.fixture
def new_postgres_url(request, postgres_admin_url, postgres_template):
    """A function making fresh, migrated PostgreSQL databases, dropped after the test."""
    made = []

    def make():
        name = f"liapstore_t_{uuid.uuid4().hex[:12]}"
        made.append(name)
        return create_database(postgres_admin_url, name, template=postgres_template)

    yield make
    for name in made:
        drop_database(postgres_admin_url, name)


@pytest.fixture
def unmigrated_url(backend, request, tmp_path):
    """A URL of a database of the SQL backend under test that exists but was
    never migrated (an empty SQLite file's path, an empty PostgreSQL database)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'unmigrated.db'}"
    assert backend == "postgres", "only the SQL backends have unmigrated databases"
    admin = request.getfixturevalue("postgres_admin_url")
    name = f"liapstore_empty_{uuid.uuid4().hex[:12]}"
    request.addfinalizer(lambda: drop_database(admin, name))
    return create_database(admin, name)


@pytest.fixture
def store_url(backend, request, tmp_path):
    """A URL of a fresh, empty, migrated database of the backend under test.

    memory:// has no URL that outlives a Store, so tests that reopen a store
    are marked ``durable`` and do not run on it.
    """
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("new_postgres_url")()
