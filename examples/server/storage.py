"""The server's one door to liapstore: the async store, and who a call runs as.

The server is async (FastAPI, uvicorn); a blocking database call inside a
WebSocket handler would stall every other player, so the server awaits
liapstore's AsyncStore (``liapstore.connect_async``): each call runs the
Store on a bounded pool of worker threads, and the event loop goes on.
"""
from contextlib import nullcontext

import liapstore


async def open_store(url=None, cache=None):
    """The store the server runs on; ``cache`` is a Redis URL or None."""
    options = {"cache": cache} if cache else {}
    return await liapstore.connect_async(url, **options)


def as_player(db, player_id, ip_address=None):
    """``async with as_player(db, player, ip):`` the calls awaited inside the
    block are a player's own request (row-level security on PostgreSQL, the
    player and address in the audit trail); ``player_id=None`` is the
    server's own work (deals, bots)."""
    return nullcontext() if player_id is None else db.acting_as(player_id, ip_address)
