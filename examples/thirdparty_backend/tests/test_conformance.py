"""liapstore's whole conformance suite, against the backends the conftest names."""
from liapstore.testing.contract import *  # noqa: F401,F403
