"""The read path of DATABASE_SCHEMA.md's HybridStorage: memory, then cache, then database.

A server moving from in-memory games to liapstore can keep its live games in
its own dict and still answer for games it does not hold (after a restart,
or games another process runs) from the store, with a cache in between.

The cache is any client with ``get(key)``, ``set(key, value, ex=seconds)``
and ``delete(key)`` (a ``redis.Redis`` will do). Cached states may be up to ``ttl`` seconds old,
as in the document's design; ``invalidate`` drops one when the caller knows
it changed. This is a read helper, not the write-through cache of the
roadmap, which will wrap a whole Store.
"""
import json

from .errors import NotFound


class HybridStorage:
    def __init__(self, store, memory=None, cache=None, *, ttl=300, prefix="liapstore:"):
        self.store = store
        self.memory = memory if memory is not None else {}
        self.cache = cache
        self.ttl = ttl
        self.prefix = prefix

    def _key(self, game_id):
        return f"{self.prefix}game:{game_id}:state"

    def get_game_state(self, game_id):
        """The game's state as a JSON-ready dict, or None if nobody has it.

        The dict has ``game_id``, ``version``, ``phase``, ``round``, ``seats``
        (player ids by position) and ``state`` (the rules engine's state).
        """
        game_id = str(game_id)
        if game_id in self.memory:
            return self.memory[game_id]
        if self.cache is not None:
            cached = self.cache.get(self._key(game_id))
            if cached is not None:
                return json.loads(cached)
        try:
            saved = self.store.load_game(game_id)
        except NotFound:
            return None
        state = {"game_id": game_id, "version": saved.game.version,
                 "phase": saved.game.current_phase, "round": saved.game.current_round,
                 "seats": [str(s.player_id) for s in saved.seats], "state": saved.state.to_dict()}
        if self.cache is not None:
            self.cache.set(self._key(game_id), json.dumps(state), ex=self.ttl)
        return state

    def invalidate(self, game_id):
        """Forget any cached copy of the game's state."""
        if self.cache is not None:
            self.cache.delete(self._key(str(game_id)))
