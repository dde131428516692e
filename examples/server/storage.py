"""The server's one door to liapstore: an awaitable store, and who a call runs as.

The server is async (FastAPI, uvicorn); a blocking database call inside a
WebSocket handler would stall every other player. ``open_store`` returns an
object whose methods are the Store's methods as coroutines, which is the
interface of liapstore's AsyncStore. Until that store is available here, each
call runs the synchronous Store in a worker thread (``asyncio.to_thread``):
the two lines marked SEAM below are the only ones to change.
"""
import asyncio

import liapstore


class ThreadedStore:
    """A Store's methods as coroutines, each call run in a worker thread.

    Only what the server uses is awaited this way; ``close`` is synchronous.
    """

    def __init__(self, store):
        self.store = store

    def __getattr__(self, name):
        method = getattr(self.store, name)
        if not callable(method):
            return method

        async def call(*args, **kwargs):
            return await asyncio.to_thread(method, *args, **kwargs)

        call.__name__ = name
        return call

    async def close(self):
        """Release the store's connections."""
        await asyncio.to_thread(self.store.close)


async def open_store(url=None, cache=None):
    """The store the server runs on; ``cache`` is a Redis URL or None."""
    options = {}
    if cache:
        # SEAM (h-cache): liapstore.connect(url, cache=cache) once the cache is merged.
        raise SystemExit("--cache needs liapstore's Redis cache (connect(cache=...)), "
                         "which this liapstore does not have yet")
    # SEAM (h-async): `return await liapstore.connect_async(url, **options)` once it exists.
    return ThreadedStore(await asyncio.to_thread(liapstore.connect, url, **options))


def as_player(db, player_id, ip_address=None):
    """The store as seen by one player's own request (row-level security on
    PostgreSQL). SEAM (h-rls): ``return db.acting_as(player_id, ip_address=ip_address)``
    once Store.acting_as exists; until then requests run as the server."""
    return db
