"""Run liapstore's conformance suite against thirdmem:// (see liapstore.testing)."""

# The suite's fixtures (backend, store_url, store) and markers.
pytest_plugins = ["liapstore.testing.plugin"]


def pytest_liapstore_backends(config):
    """The URL schemes the suite runs against."""
    return ["thirdmem"]

# No store_url fixture here: the plugin's default, "thirdmem://", already
# gives a fresh, empty store for each test.
