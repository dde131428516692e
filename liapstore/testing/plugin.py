"""The pytest plugin of liapstore's conformance suite: the ``backend``,
``store_url`` and ``store`` fixtures and the ``backends``/``durable`` markers.

Load it from a top-level ``conftest.py`` (``pytest_plugins =
["liapstore.testing.plugin"]``) and say which URL schemes to test by
implementing the hook ``pytest_liapstore_backends(config)`` there; see
``liapstore.testing`` for the whole recipe.

How a test is parametrized:

- a test that takes ``store`` or ``store_url`` (hence ``backend``) runs once
  per scheme the nearest conftest's ``pytest_liapstore_backends`` returns;
- ``@pytest.mark.backends("sqlite", ...)`` narrows that to the named schemes;
- ``@pytest.mark.durable`` narrows it to schemes whose Store class says
  ``durable = True``: the test opens ``store_url`` more than once and expects
  the same data (two stores on one database, reopening after close).

A test that is left with no scheme is deselected, not skipped: it is simply
not part of this run.

With ``LIAPSTORE_TEST_CACHE`` set (to a Redis URL, or to ``1``: then
``LIAPSTORE_TEST_REDIS_URL``'s, or the conftest's ``cache_redis_url`` fixture),
every test runs with the Redis cache on: ``LIAPSTORE_CACHE_URL`` is set for
the test, with a key prefix of its own, so every ``liapstore.connect()`` in it
(``store``, and the stores a ``durable`` test opens itself) is a CachedStore.
The test's keys are deleted after it.
"""
import hashlib
import os
import uuid

import pytest

import liapstore
from liapstore import keys, urls


def pytest_addhooks(pluginmanager):
    from . import hooks
    pluginmanager.add_hookspecs(hooks)


#: The e-mail keys of the suite's stores (liapstore/keys.py), used unless the
#: environment names keys of its own. Test keys, public on purpose: a backend
#: that takes its keys some other way still sees these variables set.
TEST_KEYS = {keys.ENCRYPTION_KEY_ENV: hashlib.sha256(b"liapstore test master key").hexdigest(),
             keys.BLIND_INDEX_KEY_ENV: hashlib.sha256(b"liapstore test blind-index key").hexdigest()}


def pytest_configure(config):
    # Set for the whole run (subprocesses the tests start included), so every
    # store the suite opens can write and read addresses.
    for name, value in TEST_KEYS.items():
        os.environ.setdefault(name, value)
    config.addinivalue_line("markers", "backends(*schemes): run only on these backends")
    config.addinivalue_line("markers", "durable: run only on backends whose stores are durable "
                                       "(the test reopens store_url and expects the same data)")


def _durable(scheme):
    try:
        return bool(urls.backend_class(f"{scheme}://").durable)
    except liapstore.LiapstoreError as e:
        raise pytest.UsageError(f"liapstore conformance suite: backend {scheme!r}: {e}") from None


def pytest_generate_tests(metafunc):
    # Parametrize here rather than with fixture params so that a backend that
    # does not apply produces no test ids at all, instead of skipped ones.
    if "backend" not in metafunc.fixturenames:
        return
    schemes = metafunc.definition.ihook.pytest_liapstore_backends(config=metafunc.config)
    if schemes is None:
        raise pytest.UsageError(
            "liapstore conformance suite: no backend to test; implement "
            "pytest_liapstore_backends(config) in your conftest.py, returning URL schemes")
    schemes = [s.lower() for s in schemes]
    marker = metafunc.definition.get_closest_marker("backends")
    if marker:
        schemes = [s for s in schemes if s in marker.args]
    if metafunc.definition.get_closest_marker("durable"):
        schemes = [s for s in schemes if _durable(s)]
    metafunc.parametrize("backend", schemes)


def pytest_collection_modifyitems(config, items):
    # A test left with no backend gets an empty parametrization, which pytest
    # would report as skipped; deselect it instead.
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        unbound = "backend" in getattr(item, "fixturenames", ()) and \
            not isinstance(params.get("backend"), str)
        (drop if unbound else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def store_url(backend):
    """The URL of a fresh, empty store of ``backend``, made for this test.

    The default, ``backend + "://"``, suits backends that keep nothing between
    stores (like memory://). Override this fixture for any other: each call
    must give a new, empty database (for instance a file under ``tmp_path``).
    """
    return f"{backend}://"


@pytest.fixture
def store(store_url):
    """An open, migrated store on ``store_url``, closed after the test.

    With ``LIAPSTORE_TEST_ASYNC=1`` in the environment it is a synchronous
    facade over ``liapstore.connect_async(store_url)`` instead, every call of
    the test running as the AsyncStore's coroutine (``async_facade.py``)."""
    if os.environ.get("LIAPSTORE_TEST_ASYNC", "") not in ("", "0"):
        from .async_facade import open_facade
        with open_facade(store_url) as s:
            yield s
        return
    with liapstore.connect(store_url) as s:
        yield s


CACHE_SWITCH = "LIAPSTORE_TEST_CACHE"


@pytest.fixture(scope="session")
def cache_redis_url():
    """The Redis the cached runs use: ``$LIAPSTORE_TEST_CACHE`` when it is a
    URL, else ``$LIAPSTORE_TEST_REDIS_URL``. Override it in a conftest to
    provide a server some other way."""
    value = os.environ.get(CACHE_SWITCH, "")
    if "://" not in value:
        value = os.environ.get("LIAPSTORE_TEST_REDIS_URL", "")
    if "://" not in value:
        raise pytest.UsageError(f"{CACHE_SWITCH} is set but names no Redis: set it (or "
                                "LIAPSTORE_TEST_REDIS_URL) to a redis:// URL, or override "
                                "the cache_redis_url fixture")
    return value


@pytest.fixture(autouse=True)
def _liapstore_cache(request, monkeypatch):
    """With LIAPSTORE_TEST_CACHE set: this test's stores use the Redis cache,
    under a prefix of their own (see the module docstring)."""
    if not os.environ.get(CACHE_SWITCH) or "backend" not in request.fixturenames:
        yield
        return
    url = request.getfixturevalue("cache_redis_url")
    prefix = f"liapstore-test-{uuid.uuid4().hex[:12]}:"
    monkeypatch.setenv("LIAPSTORE_CACHE_URL",
                       f"{url}{'&' if '?' in url else '?'}prefix={prefix}")
    yield
    import redis
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.unlink(*keys)
    finally:
        client.close()
