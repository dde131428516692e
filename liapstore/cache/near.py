"""The in-process half of the cache: an LRU of decoded records, and their codec.

Entries are the frozen records liapstore returns (``Game``, ``SavedGame``,
``Room``, ``Player``, ``Page`` ...), decoded once. Their JSON fields
(``settings``, ``phase_data``, ``pieces_in_hand`` ...) are plain dicts and
lists that a caller may change, so each hit hands out a copy of just those
(kept marshalled: a C-speed load), never the cached objects. An entry is a
dict of *variants* (``get_game`` and ``load_game`` share the key
``game:<id>:state``; the pages of a listing share the listing's key) and is
dropped whole when its key is invalidated.

A reader that misses takes a ``token()`` before it reads Redis or the
database and ``put``s what it read with that token; the put is refused if
the key was invalidated (or the whole cache flushed) in between, so a value
read before a write can never be stored after that write's invalidation.
"""
import dataclasses
import io
import marshal
import pickle
import threading
import time
from collections import OrderedDict

# Invalidation marks remembered per key; older ones collapse into one floor.
_MARKS = 50_000


class NearCache:
    """Thread-safe LRU of ``key -> (expires_at, {variant: value})``."""

    def __init__(self, size):
        self.size = size
        self._entries = OrderedDict()
        self._lock = threading.Lock()
        self._seq = 0             # bumped by every invalidation and flush
        self._marks = OrderedDict()  # key -> seq of its last invalidation
        self._floor = 0           # seq of the newest mark forgotten, and of the last flush

    def get(self, key, variant):
        """The cached value, or None (missing, expired or another variant only)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            found = entry[1].get(variant)
        if found is None:
            return None
        value, copy = found
        return value if copy is None else copy()

    def token(self):
        """A mark of now, for a later ``put``."""
        return self._seq

    def put(self, key, variant, value, ttl, token):
        """Keep ``value`` unless ``key`` was invalidated since ``token``.
        Returns what the caller may hand out: ``value`` itself when it was not
        kept or holds nothing mutable, else a copy (the cache keeps its own)."""
        if self.size <= 0:
            return value
        copy = copier(value)
        with self._lock:
            if max(self._marks.get(key, 0), self._floor) > token:
                return value
            entry = self._entries.get(key)
            if entry is None or entry[0] <= time.monotonic():
                entry = (time.monotonic() + ttl, {})
            # Copy on write: readers hold no lock while they use a variant dict.
            self._entries[key] = (entry[0], {**entry[1], variant: (value, copy)})
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value if copy is None else copy()

    def invalidate(self, keys):
        """Drop ``keys`` and refuse puts of values read before now."""
        with self._lock:
            self._seq += 1
            for key in keys:
                self._entries.pop(key, None)
                self._marks[key] = self._seq
                self._marks.move_to_end(key)
            while len(self._marks) > _MARKS:
                _, seq = self._marks.popitem(last=False)
                self._floor = max(self._floor, seq)

    def flush(self):
        """Drop everything and refuse puts of anything read before now."""
        with self._lock:
            self._seq += 1
            self._floor = self._seq
            self._entries.clear()
            self._marks.clear()

    def __len__(self):
        return len(self._entries)


def copier(value):
    """None if ``value`` holds nothing mutable, else a function returning a
    copy of it whose dicts and lists are new (JSON values: marshal copies them)."""
    kind = type(value)
    if kind is dict or kind is list:
        try:
            blob = marshal.dumps(value)
        except ValueError:  # not JSON after all
            return lambda: pickle.loads(pickle.dumps(value))
        return lambda: marshal.loads(blob)
    if kind is tuple:
        parts = [copier(x) for x in value]
        if not any(parts):
            return None
        return lambda: tuple(x if p is None else p() for x, p in zip(value, parts))
    if dataclasses.is_dataclass(value) and hasattr(value, "__dict__"):
        parts = [(f.name, copier(getattr(value, f.name))) for f in dataclasses.fields(value)]
        parts = [(name, p) for name, p in parts if p is not None]
        if not parts:
            return None

        def copy():
            # A frozen dataclass: fill a new instance's __dict__ directly.
            new = object.__new__(kind)
            new.__dict__.update(value.__dict__)
            for name, p in parts:
                new.__dict__[name] = p()
            return new
        return copy
    return None


# -- the codec of entries stored in Redis ---------------------------------------------
#
# pickle, because the records are nested frozen dataclasses of UUIDs and
# datetimes (a JSON codec would be a second definition of every record), but
# with an allow-list: whoever can write to the Redis server must not be able
# to make liapstore run code by planting an entry.

_ALLOWED_MODULES = ("liapstore.records", "liapstore.game.rules")
_ALLOWED = {("uuid", "UUID"), ("uuid", "SafeUUID"), ("datetime", "datetime"),
            ("datetime", "date"), ("datetime", "timezone"), ("datetime", "timedelta"),
            ("copyreg", "_reconstructor"), ("builtins", "object"), ("builtins", "frozenset"),
            ("builtins", "set")}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED or (module in _ALLOWED_MODULES and name[:1].isupper()):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not a liapstore record")


def encode(value):
    """Bytes for Redis."""
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def decode(blob):
    """The value ``encode`` gave ``blob`` for; ValueError if it is not one."""
    try:
        return _Unpickler(io.BytesIO(blob)).load()
    except Exception as e:  # noqa: BLE001 - anything undecodable is a miss
        raise ValueError(f"undecodable cache entry: {e}") from None
