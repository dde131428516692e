"""liapstore: persistent storage for Liap Tui game servers.

    import liapstore
    store = liapstore.connect()                      # SQLite file liapstore.db
    store = liapstore.connect("memory://")           # tests, throwaway
    store = liapstore.connect("postgresql://user:pw@host/db?max_connections=20")

Importing this package loads no database driver; the backend a URL names is
imported when it is first opened.
"""
from .errors import (ArchiveCorrupt, ArchiveMissing, ArchiveUnreadable, Conflict, Forbidden,
                     InvalidInput, KeyUnavailable, LiapstoreError, NotFound, SchemaOutdated,
                     StorageUnavailable)
from .records import (AchievementAward, Action, AnalyticsEvent, AuditEntry, Connection, Friendship,
                      Game, LeaderboardEntry, Page, Player, Room, Round, SavedGame, Seat, Session,
                      Turn)
from .records import EventCount, GameDay, Match, MatchSeat, Season, StatsDrift
from .store import Store
from .urls import DEFAULT_URL, register_backend, supported_schemes
from . import urls as _urls

__version__ = "0.1.0"


def connect(url=None, *, migrate=True, cache=None, cache_options=None, **options):
    """Open the store a URL names and bring its schema up to date.

    ``url`` defaults to ``$LIAPSTORE_URL``, then to ``sqlite:///liapstore.db``.
    Options (pool size, timeouts) go in the URL's query string or as keyword
    arguments. With ``migrate=False`` the schema is left as it is (for tools
    that only inspect, such as ``liapstore status``).

    ``cache="redis://host:6379/0"`` (default ``$LIAPSTORE_CACHE_URL``; ``False``
    for none) puts the store behind the Redis cache (``liapstore.cache``); its
    settings go in that URL's query string or in ``cache_options``.
    """
    url = _urls.resolve(url)
    from .cache import resolve  # settings only: redis is imported when a cache is opened
    cache_url = resolve(cache)
    store = _urls.backend_class(url)(url, **options)
    if migrate:
        try:
            # Only a database that is behind is migrated: an up-to-date one
            # sees no DDL and no lock, however many processes connect at once.
            applied, latest = store.schema_version()
            if applied < latest:
                store.migrate()
        except BaseException:
            store.close()
            raise
    if cache_url is not None:
        from .cache import wrap
        try:
            store = wrap(store, cache_url, cache_options)
        except BaseException:
            store.close()
            raise
    return store


def connect_async(url=None, *, max_workers=None, **options):
    """Open a store as ``connect(url, **options)`` does (the same options,
    ``migrate=`` and the cache's included) and return it as an ``AsyncStore``,
    whose methods are coroutines: ``astore = await connect_async(url)``, or
    ``async with connect_async(url) as astore:`` to close it at the end.

    Opening (and migrating) runs in a worker thread, so the event loop is never
    blocked. ``max_workers`` bounds the worker threads (see
    ``liapstore.asyncstore``); by default the PostgreSQL pool's size.
    """
    from .asyncstore import AsyncStore, opening

    def make():
        store = connect(url, **options)
        try:
            return AsyncStore(store, max_workers=max_workers)
        except BaseException:
            store.close()
            raise
    return opening(make)


__all__ = ["connect", "connect_async", "register_backend", "supported_schemes", "DEFAULT_URL",
           "Store", "LiapstoreError", "InvalidInput", "NotFound", "Conflict", "Forbidden",
           "StorageUnavailable", "SchemaOutdated", "KeyUnavailable",
           "ArchiveUnreadable", "ArchiveMissing", "ArchiveCorrupt",
           "Player", "Room", "Game", "Seat", "Round", "Turn", "Action", "Session", "Connection",
           "AnalyticsEvent", "AuditEntry", "LeaderboardEntry", "Page", "SavedGame", "Friendship",
           "AchievementAward", "Season", "Match", "MatchSeat", "StatsDrift", "EventCount", "GameDay"]
