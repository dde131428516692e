"""liapstore's conformance suite, shipped so that any backend can be held to it.

The suite (``liapstore.testing.contract``) pins one behaviour per Store
operation: every test takes a ``store`` and never asks which backend it got.
liapstore runs it against memory://, sqlite:// and postgresql://; the author
of a third-party backend runs the very same tests against theirs.

Running it against your backend
-------------------------------
Your backend is a subclass of ``liapstore.Store`` (see ``liapstore.backend``
for what it must provide), registered under its own URL scheme, say
``mystore``, through the ``liapstore.backends`` entry point of your package
(or ``liapstore.register_backend``). Install ``liapstore[test]`` (pytest),
then add two files to your tests:

``conftest.py`` (top level of your test run)::

    pytest_plugins = ["liapstore.testing.plugin"]

    def pytest_liapstore_backends(config):
        return ["mystore"]             # the schemes to run the suite against

    # Only if "mystore://" does not already give a fresh, empty store:
    # import pytest
    # @pytest.fixture
    # def store_url(backend, tmp_path):
    #     return f"mystore:///{tmp_path / 'test.db'}"

``test_conformance.py``::

    from liapstore.testing.contract import *  # noqa: F401,F403 - the whole suite

and run ``pytest``. What the plugin provides:

- ``store_url``: the URL of a fresh, empty store, one per test (default
  ``"<scheme>://"``; override it as above when your store needs a path or a
  database per test);
- ``store``: ``liapstore.connect(store_url)``, closed after the test;
- ``backend``: the scheme under test, one test per scheme your hook returns.

Run it again with ``LIAPSTORE_TEST_ASYNC=1`` in the environment and ``store``
is a synchronous facade over ``liapstore.connect_async(store_url)``
(``async_facade.py``): each test then calls your backend through the
AsyncStore's coroutines and worker threads, as an asyncio server would.

Tests marked ``@pytest.mark.durable`` open ``store_url`` several times and
expect to find the same data; they run only for backends whose class says
``durable = True`` (the others do not collect them at all). Helpers for
writing more tests in the same style are in ``liapstore.testing.support``.

``examples/thirdparty_backend`` in liapstore's repository is a complete,
installable example that liapstore's CI runs.

Importing ``liapstore`` never imports this package (nor pytest).
"""
import pytest

# Helpers and the suite's modules assert with plain ``assert``; let pytest
# rewrite them for readable failures wherever they are installed.
pytest.register_assert_rewrite("liapstore.testing.support", "liapstore.testing.contract")
