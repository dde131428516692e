"""ThirdMemStore: liapstore's memory backend under a scheme of its own.

It stands for any backend written outside liapstore: a subclass of
``liapstore.Store`` (here by way of MemoryStore, which provides every
primitive of ``liapstore.backend.Backend``), registered through the
``liapstore.backends`` entry point in pyproject.toml, and held to the
conformance suite by ``tests/``.
"""
from liapstore import InvalidInput
from liapstore.backends.memory import MemoryStore


class ThirdMemStore(MemoryStore):
    """``thirdmem://``: a throwaway in-process store, like ``memory://``."""

    backend = "thirdmem"
    durable = False

    def __init__(self, url="thirdmem://", **options):
        if url.split("://", 1)[1]:
            raise InvalidInput(f"thirdmem:// takes no host or path, got {url!r}")
        super().__init__(url, **options)
