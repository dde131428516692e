"""Which backend a URL names, and how to print a URL safely (``redact``).

The registry is a dict from URL scheme to the backend class, written as a
``"module:Class"`` string so that registering a backend imports nothing:
``import liapstore`` must stay free of database drivers. A third party adds a
backend with one call, or through the ``liapstore.backends`` entry-point group::

    liapstore.register_backend("mystore", "mypackage.store:MyStore")
"""
import os
import re
from importlib import import_module
from urllib.parse import unquote

from .errors import InvalidInput, StorageUnavailable

DEFAULT_URL = "sqlite:///liapstore.db"

# RFC 3986's scheme syntax.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")

backends = {
    "memory": "liapstore.backends.memory:MemoryStore",
    "sqlite": "liapstore.backends.sqlite:SqliteStore",
    "postgres": "liapstore.backends.postgres:PostgresStore",
    "postgresql": "liapstore.backends.postgres:PostgresStore",
}


def register_backend(scheme, target):
    """Make ``scheme://...`` URLs open ``target`` (a class or "module:Class").

    Schemes are case-insensitive, as in URLs: ``MyStore`` and ``mystore`` are
    one scheme.
    """
    if not isinstance(scheme, str) or not _SCHEME.fullmatch(scheme):
        raise InvalidInput(f"not a URL scheme: {scheme!r} (a letter, then letters, "
                           "digits, '+', '-' or '.')")
    backends[scheme.lower()] = target


def resolve(url=None):
    """The URL to open: the argument, else ``$LIAPSTORE_URL``, else the default."""
    return url or os.environ.get("LIAPSTORE_URL") or DEFAULT_URL


def backend_class(url):
    """The Store class registered for ``url``'s scheme.

    Raises InvalidInput naming the supported schemes when the URL is malformed
    or its scheme is unknown.
    """
    if not isinstance(url, str) or "://" not in url:
        shown = repr(redact(url)) if isinstance(url, str) else f"a {type(url).__name__}"
        raise InvalidInput(
            f"not a storage URL: {shown}; expected scheme://..., "
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
        try:
            target = getattr(import_module(module), name)
        except (ImportError, AttributeError) as e:
            # A backend package that is broken or half installed.
            raise StorageUnavailable(f"the backend registered for {scheme}:// ({target}) "
                                     f"cannot be loaded: {e}") from e
    return target


def supported_schemes():
    """Every scheme a URL can name: the built-in ones, those registered with
    register_backend() and those of installed ``liapstore.backends`` entry points."""
    _load_entry_points()
    return set(backends)


def _load_entry_points():
    # Entry points are read lazily, only when a scheme is missing or the list
    # is printed, so start-up never pays for scanning installed packages.
    from importlib.metadata import entry_points
    for ep in entry_points(group="liapstore.backends"):
        if _SCHEME.fullmatch(ep.name):
            backends.setdefault(ep.name.lower(), ep.value)


# -- hiding secrets ----------------------------------------------------------------
#
# A URL or connection string can carry a secret in three places, and redact()
# hides all of them:
#   scheme://user:SECRET@host/db          userinfo (Python's parser, which
#                                         liapstore's backends use, takes the
#                                         password up to the LAST "@" of the
#                                         host part: "bob:p@ss@host" is p@ss)
#   scheme://host/db?password=SECRET&...  query parameters named like a secret
#   host=h password=SECRET / 'SEC RET'    libpq key=value strings, quoted or not
# It works on text, not on a parsed URL, so that a URL too broken to parse
# (a bad port, an unescaped "/" or "#" in the password) is hidden just as well.

#: Names of parameters whose value is a secret (password, sslpassword,
#: client_secret, access_token, api_key, ...), matched case-insensitively.
_SECRET_NAME = r"[A-Za-z_]*(?:password|passwd|pwd|secret|token|api_?key)"
# One URL (up to whitespace), or one secret-named key=value outside a URL.
_SECRETS = re.compile(
    r"(?P<url>[A-Za-z][A-Za-z0-9+.\-]*://\S*)"
    r"|(?<![\w.-])(?P<key>" + _SECRET_NAME + r")(?P<eq>\s*=\s*)"
    r"(?P<value>'(?:[^'\\]|\\.)*'?|\S*)", re.IGNORECASE)
# Inside a URL, a query value runs to the next "&" or "#".
_QUERY_SECRET = re.compile(r"(?<=[?&;])(?P<key>" + _SECRET_NAME + r")=(?P<value>[^&#]*)",
                           re.IGNORECASE)
_HIDDEN = "***"


def redact(text, url=None):
    """``text`` with every secret replaced by ``***``, for messages and logs.

    ``text`` is a URL, a libpq ``key=value`` connection string, or a message
    that contains them. Hidden are: the password of ``user:password@``, the
    value of any query or ``key=value`` parameter named like a secret
    (``password``, ``sslpassword``, ``client_secret``, ``token``, ...), quoted
    or not. If ``url`` is given, every secret it holds is also hidden wherever
    it appears in ``text`` (a driver's error message may echo one). Anything
    but a string is returned unchanged.
    """
    if not isinstance(text, str):
        return text
    if isinstance(url, str):
        found = []
        _SECRETS.sub(lambda m: _hide(m, found), url)
        # Decoded too: a driver sees and may echo the percent-decoded password.
        for secret in sorted({v for s in found for v in (s, unquote(s)) if v}, key=len,
                             reverse=True):
            text = text.replace(secret, _HIDDEN)
    return _SECRETS.sub(lambda m: _hide(m, []), text)


def _hide(match, found):
    """The replacement for one match of _SECRETS; the secrets go into ``found``."""
    if match["url"] is None:
        value = match["value"]
        found.append(value)
        if value.startswith("'"):  # libpq quoting: 'it\'s'
            found.append(re.sub(r"\\(.)", r"\1", value[1:].removesuffix("'")))
        return f"{match['key']}{match['eq']}{_HIDDEN}"
    scheme, _, rest = match["url"].partition("://")
    # The host part ends at the first "/", "?" or "#"; its userinfo at the
    # last "@" in it, as urllib (and so peewee's URL parser) reads it.
    host_end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    userinfo, at, _ = rest[:host_end].rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        if colon:
            found.append(password)
            rest = f"{user}:{_HIDDEN}@{rest[len(userinfo) + 1:]}"
    else:
        # No "@" in the host part, but "user:xxx" and an "@" further on: a
        # password holding an unescaped "/", "?" or "#", which urllib would
        # misread as the path. Hide everything up to the last "@".
        user, colon, after = rest[:host_end].partition(":")
        if colon and not after.isdigit() and "@" in rest and not user.startswith("["):
            password, _, host = rest[len(user) + 1:].rpartition("@")
            found.append(password)
            rest = f"{user}:{_HIDDEN}@{host}"

    def query_secret(m):
        found.append(m["value"])
        return f"{m['key']}={_HIDDEN}"
    return f"{scheme}://{_QUERY_SECRET.sub(query_secret, rest)}"
