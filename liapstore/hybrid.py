"""The read path of DATABASE_SCHEMA.md's HybridStorage: memory, then cache, then database.

A server moving from in-memory games to liapstore can keep its live games in
its own dict and still answer for games it does not hold (after a restart,
or games another process runs) from the store, through liapstore's Redis
cache (``liapstore.cache``): a near cache in the process kept coherent
through Redis, so a state read here is never older than the last action
recorded through a cached store of the same Redis and prefix.

``cache`` is a Redis URL or a ``redis.Redis`` client (its address is used),
or None when ``store`` is already a cached store (``connect(url, cache=...)``).
Record actions through ``hybrid.store``, the cached store, so that every
process's cache hears of them; ``invalidate`` is only for writes made around
liapstore.
"""
from urllib.parse import quote

from . import validate as v
from .errors import NotFound


class HybridStorage:
    """Game states from the server's memory, else from the (cached) store."""

    def __init__(self, store, memory=None, cache=None, *, ttl=300, prefix="liapstore:"):
        from .cache import wrap
        from .cache.store import CachedStore
        self.memory = memory if memory is not None else {}
        self._made = None
        if cache is not None and not isinstance(store, CachedStore):
            url = cache if isinstance(cache, str) else _client_url(cache)
            store = self._made = wrap(store, url, {"prefix": prefix, "game_state_ttl": ttl})
        self.store = store

    def get_game_state(self, game_id):
        """The game's state as a JSON-ready dict, or None if nobody has it.

        The dict has ``game_id``, ``version``, ``phase``, ``round``, ``seats``
        (player ids by position) and ``state`` (the rules engine's state).
        """
        game_id = str(game_id)
        if game_id in self.memory:
            return self.memory[game_id]
        try:
            saved = self.store.load_game(game_id)
        except NotFound:
            return None
        return {"game_id": game_id, "version": saved.game.version,
                "phase": saved.game.current_phase, "round": saved.game.current_round,
                "seats": [str(s.player_id) for s in saved.seats], "state": saved.state.to_dict()}

    def invalidate(self, game_id):
        """Forget every process's cached copy of the game's state: only needed
        after a write made around liapstore (its own writes invalidate)."""
        link = getattr(self.store, "_cache_link", None)
        if link is not None:
            from .cache.store import cache_key
            game_id = v.uuid_(game_id, "game_id")
            link.invalidate([cache_key("game_state", game_id), cache_key("game_players", game_id)])

    def close(self):
        """Stop the cache this HybridStorage started (not the store it was given)."""
        if self._made is not None:
            self._made._cache_link.close()


def _client_url(client):
    """The URL of the server a ``redis.Redis`` client talks to."""
    kw = client.connection_pool.connection_kwargs
    auth = ""
    if kw.get("password"):
        auth = f"{quote(kw.get('username') or '', safe='')}:{quote(kw['password'], safe='')}@"
    if kw.get("path"):
        return f"unix://{auth}{kw['path']}?db={kw.get('db', 0)}"
    return f"redis://{auth}{kw.get('host', 'localhost')}:{kw.get('port', 6379)}/{kw.get('db', 0)}"
