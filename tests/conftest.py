"""Fixtures every test shares: real servers, and one store per test per backend.

``store`` is parametrized over the backends named in LIAPSTORE_TEST_BACKENDS
(default: memory,sqlite,postgres). A contract test takes ``store`` and never
asks which backend it got. Each test gets its own SQLite file or its own
PostgreSQL database (cloned from a template migrated once per run), so tests
and parallel runs never see each other's data.

PostgreSQL and Redis come from LIAPSTORE_TEST_POSTGRES_URL /
LIAPSTORE_TEST_REDIS_URL when set, else throwaway servers are started for the
run. A server that cannot be found or started fails the tests that need it,
with the reason; it never skips them.
"""
import json
import os
import uuid

import pytest

import liapstore
from support.servers import (create_database, drop_database, find_or_start_postgres,
                             find_or_start_redis)

ALL_BACKENDS = ("memory", "sqlite", "postgres")


def selected_backends():
    raw = os.environ.get("LIAPSTORE_TEST_BACKENDS", ",".join(ALL_BACKENDS))
    chosen = tuple(b.strip() for b in raw.split(",") if b.strip())
    unknown = set(chosen) - set(ALL_BACKENDS)
    if unknown:
        raise pytest.UsageError(f"LIAPSTORE_TEST_BACKENDS names unknown backends {sorted(unknown)}; "
                                f"known: {', '.join(ALL_BACKENDS)}")
    return chosen


def pytest_generate_tests(metafunc):
    # Parametrize here rather than with fixture params so that a backend left
    # out of LIAPSTORE_TEST_BACKENDS produces no test ids at all, instead of
    # skipped ones.
    if "backend" in metafunc.fixturenames:
        wanted = selected_backends()
        marker = metafunc.definition.get_closest_marker("backends")
        if marker:
            wanted = tuple(b for b in wanted if b in marker.args)
        metafunc.parametrize("backend", wanted)


def pytest_collection_modifyitems(config, items):
    # A test limited to backends that this run leaves out gets an empty
    # parametrization, which pytest would report as skipped; it is simply
    # not part of this run.
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        unbound = "backend" in getattr(item, "fixturenames", ()) and \
            params.get("backend") not in ALL_BACKENDS
        (drop if unbound else keep).append(item)
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
    config.addinivalue_line("markers", "backends(*names): run only on these backends")


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
def store_url(backend, request, tmp_path):
    """A URL of a fresh, empty, migrated database of the backend under test.

    memory:// has no URL that outlives a Store, so tests that reopen a store
    check ``store.durable`` first.
    """
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("new_postgres_url")()


@pytest.fixture
def store(store_url):
    with liapstore.connect(store_url) as s:
        yield s
