"""liapstore's conformance suite (liapstore.testing.contract), run here against
the backends of LIAPSTORE_TEST_BACKENDS: the same tests a third-party backend
runs, collected into this module (see liapstore/testing/__init__.py)."""
import os

from liapstore.testing.contract import *  # noqa: F401,F403 - the whole suite


def test_contract_tests_live_in_the_shipped_suite():
    # A contract test written here would run on liapstore's backends only,
    # never on a third party's: it belongs in liapstore/testing/contract/.
    here = os.path.dirname(os.path.abspath(__file__))
    strays = [f for f in os.listdir(here) if f.endswith(".py") and f != "test_conformance.py"]
    assert strays == [], f"move {strays} to liapstore/testing/contract/"
