"""The cache's settings: key families, their lifetimes, the prefix, the timeouts.

Every setting can be given in the cache URL's query string or as a keyword
(``connect(url, cache="redis://h:6379/0?prefix=eu1:&room_info_ttl=600")`` or
``connect(url, cache="redis://...", cache_options={"room_info_ttl": 600})``);
the keyword wins. Unknown names are ``InvalidInput``.
"""
from dataclasses import dataclass, field, fields, replace
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import InvalidInput
from ..urls import redact

#: Key families, their key templates (DATABASE_SCHEMA.md's CACHE_KEYS) and
#: default lifetimes in seconds. ``<family>_ttl`` overrides one.
FAMILIES = {
    "game_state": ("game:{id}:state", 300),
    "game_players": ("game:{id}:players", 300),
    "room_info": ("room:{id}:info", 1800),
    "room_list": ("rooms:public:list", 60),
    "player_stats": ("player:{id}:stats", 3600),
    "player_games": ("player:{id}:games", 1800),
    "leaderboards": ("leaderboard:{id}", 900),
}


@dataclass(frozen=True)
class CacheConfig:
    """What ``parse`` reads from a cache URL and keywords (see the module docstring)."""

    #: The redis-py URL without liapstore's own query parameters.
    redis_url: str
    #: Put before every key and channel, so deployments can share one Redis.
    prefix: str = "liapstore:"
    #: Lifetime of each family's entries, seconds.
    ttl: dict = field(default_factory=lambda: {f: t for f, (_, t) in FAMILIES.items()})
    #: Socket and connect timeout of every Redis call, ms (redis-py waits 5 s by default).
    timeout_ms: int = 200
    #: The near cache serves an entry only while its invalidation channel
    #: answered a ping sent within the last lease_ms; a writer that could not
    #: publish its invalidation waits this long before returning.
    lease_ms: int = 400
    #: How often the channel is pinged, ms (well under lease_ms).
    heartbeat_ms: int = 50
    #: Consecutive Redis failures that open the circuit breaker...
    breaker_failures: int = 3
    #: ... and how long it stays open before one call tries again, s.
    breaker_seconds: float = 1.0
    #: Most entries kept in the process.
    near_size: int = 10_000
    #: Longest a reader waits for another caller rebuilding the same key, ms.
    rebuild_wait_ms: int = 300

    def key_ttl(self, family):
        """The lifetime of ``family``'s entries, seconds."""
        return self.ttl[family]


_INTS = {"timeout_ms": (1, 60_000), "lease_ms": (10, 60_000), "heartbeat_ms": (1, 10_000),
         "breaker_failures": (1, 1000), "near_size": (0, 10_000_000),
         "rebuild_wait_ms": (0, 60_000)}


def parse(url, options=None):
    """A CacheConfig from a ``redis://`` (or ``rediss://``, ``unix://``) URL
    whose query may hold liapstore's settings, and ``options`` (a dict)."""
    if not isinstance(url, str) or urlsplit(url).scheme.lower() not in ("redis", "rediss", "unix"):
        raise InvalidInput(f"not a Redis URL for the cache: {redact(url)!r} "
                           "(expected redis://host:port/db)")
    parts = urlsplit(url)
    ours, theirs = {}, []
    names = {f.name for f in fields(CacheConfig)} - {"redis_url", "ttl"}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in names or key.endswith("_ttl"):
            ours[key] = value
        else:
            theirs.append((key, value))
    ours.update(options or {})
    config = CacheConfig(urlunsplit(parts._replace(query=urlencode(theirs))))
    ttl = dict(config.ttl)
    changes = {}
    for key, value in ours.items():
        if key.endswith("_ttl") and key[:-4] in FAMILIES:
            ttl[key[:-4]] = _number(key, value, int, 1, 30 * 86400)
        elif key == "prefix":
            if not isinstance(value, str) or not value or any(c.isspace() for c in value):
                raise InvalidInput(f"cache prefix must be a non-empty string without spaces, "
                                   f"got {value!r}")
            changes["prefix"] = value
        elif key == "breaker_seconds":
            changes[key] = _number(key, value, float, 0.01, 3600)
        elif key in _INTS:
            changes[key] = _number(key, value, int, *_INTS[key])
        else:
            raise InvalidInput(f"unknown cache option {key!r}; known: prefix, "
                               f"{', '.join(sorted(_INTS))}, breaker_seconds, "
                               f"{', '.join(f + '_ttl' for f in FAMILIES)}")
    config = replace(config, ttl=ttl, **changes)
    if config.heartbeat_ms * 2 > config.lease_ms:
        raise InvalidInput("cache heartbeat_ms must be at most half of lease_ms")
    return config


def _number(name, value, kind, low, high):
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"cache option {name} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not low <= number <= high:
        raise InvalidInput(f"cache option {name} must be between {low} and {high}, got {value!r}")
    return number
