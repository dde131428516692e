"""liapstore's conformance suite (liapstore.testing.contract), run here against
the backends of LIAPSTORE_TEST_BACKENDS: the same tests a third-party backend
runs, collected into this module (see liapstore/testing/__init__.py)."""
from liapstore.testing.contract import *  # noqa: F401,F403 - the whole suite
