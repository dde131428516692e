"""The hook a conftest.py implements to run the conformance suite (see ``liapstore.testing``)."""
import pytest


@pytest.hookspec(firstresult=True)
def pytest_liapstore_backends(config):
    """The URL schemes (e.g. ``["mystore"]``) the conformance suite runs
    against, for the tests under this conftest.py. The first answer that is
    not None counts."""
