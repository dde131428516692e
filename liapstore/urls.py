"""Which backend a URL names, and how to print a URL safely.

The registry is a dict from URL scheme to the backend class, written as a
``"module:Class"`` string so that registering a backend imports nothing:
``import liapstore`` must stay free of database drivers. A third party adds a
backend with one call, or through the ``liapstore.backends`` entry-point group::

    liapstore.register_backend("mystore", "mypackage.store:MyStore")
"""
import os
from importlib import import_module
from urllib.parse import urlsplit, urlunsplit

from .errors import InvalidInput

DEFAULT_URL = "sqlite:///liapstore.db"

backends = {
    "memory": "liapstore.backends.memory:MemoryStore",
    "sqlite": "liapstore.backends.sqlite:SqliteStore",
    "postgres": "liapstore.backends.postgres:PostgresStore",
    "postgresql": "liapstore.backends.postgres:PostgresStore",
}


def register_backend(scheme, target):
    """Make ``scheme://...`` URLs open ``target`` (a class or "module:Class")."""
    backends[scheme] = target


def resolve(url=None):
    """The URL to open: the argument, else ``$LIAPSTORE_URL``, else the default."""
    return url or os.environ.get("LIAPSTORE_URL") or DEFAULT_URL


def backend_class(url):
    """The Store class registered for ``url``'s scheme.

    Raises InvalidInput naming the supported schemes when the URL is malformed
    or its scheme is unknown.
    """
    if not isinstance(url, str) or "://" not in url:
        raise InvalidInput(
            f"not a storage URL: {redact(url)!r}; expected scheme://..., "
            f"supported schemes: {', '.join(sorted(supported_schemes()))}")
    scheme = url.split("://", 1)[0].lower()
    target = backends.get(scheme)
    if target is None:
        _load_entry_points()
        target = backends.get(scheme)
    if target is None:
        raise InvalidInput(
            f"unknown storage URL scheme {scheme!r} in {redact(url)!r}; "
            f"supported schemes: {', '.join(sorted(supported_schemes()))}")
    if isinstance(target, str):
        module, _, name = target.partition(":")
        target = getattr(import_module(module), name)
    return target


def supported_schemes():
    _load_entry_points()
    return set(backends)


def _load_entry_points():
    # Entry points are read lazily, only when a scheme is missing or the list
    # is printed, so start-up never pays for scanning installed packages.
    from importlib.metadata import entry_points
    for ep in entry_points(group="liapstore.backends"):
        backends.setdefault(ep.name, ep.value)


def redact(url):
    """``url`` with any password replaced by ``***``, for messages and logs."""
    if not isinstance(url, str):
        return url
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
    except ValueError:
        # A URL too broken to parse may still hold a password; hide all of
        # what sits between the scheme and the host.
        head, _, tail = url.partition("://")
        return f"{head}://***@{tail.rsplit('@', 1)[-1]}" if "@" in tail else url
