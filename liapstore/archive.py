"""Archiving old data to an object store, and reading it back (a mixin of Store).

What moves: a finished game's ``player_actions`` and ``turns`` (the bulk of
a game: one row per action, one per turn, the plays as JSON), and analytics
events of whole UTC months before the cutoff. What stays: the game's row,
seats and rounds, so match history, statistics, achievements and the game's
result never need the archive; ``list_actions``/``list_turns`` (and so
``replay`` and ``verify``) read an archived game's rows back from its object.

Each object is gzip-compressed JSON (columns once, then rows), named by what
it holds (``games/<game id>.json.gz``, ``analytics/<month>/<first>-<last>.json.gz``)
and deterministic: the same rows give the same bytes. Its SHA-256 is kept in
the pointer row (``archived_games``, ``archived_events``) and checked on
every read.

Crash safety: the object is uploaded first; then, in one transaction, the
rows are deleted (exactly as many as were uploaded, or that game is left
alone) and the pointer is inserted. A crash before the commit leaves the rows
and an object that the next run overwrites with the same bytes; after it,
the next run finds the pointer and skips the game. A row is never both in
the database and behind a pointer, and never in neither. Restoring inserts
the rows and deletes the pointer in one transaction; objects are never
deleted (a copy of the database may still point at them).
"""
import gzip
import hashlib
import json
import threading
import time
import uuid
from collections import OrderedDict
from datetime import datetime, timedelta, timezone

from . import validate as v
from .errors import ArchiveCorrupt, ArchiveMissing, Conflict, NotFound
from .objectstore import open_objectstore

UTC = timezone.utc
_FORMAT = "liapstore-archive/1"
_GAME_TABLES = ("player_actions", "turns")
_EVENTS_PER_OBJECT = 5000
_SCAN = 1000  # games whose pointers are looked up at once
_CACHE = 16  # objects kept decompressed per store: a replay reads one object twice


class _Changed(Exception):
    """Internal: the rows changed between upload and delete; leave them."""


class Archive:
    """Mixin of Store: archiving games' logs and old analytics, and restoring them."""

    def archive(self, to, *, older_than=timedelta(days=90), games=True, events=True, batch=100):
        """Move what is older than ``older_than`` to the object store at URL
        ``to`` (``file:///dir`` or ``s3://bucket/prefix``): the action logs
        and turns of games that ended before the cutoff, and the analytics
        events of every UTC month that ended before it. Idempotent and safe
        to re-run after a crash. Returns a dict of what moved: ``games``,
        ``actions``, ``turns``, ``events``, ``objects``, ``raw_bytes`` (as
        JSON), ``stored_bytes`` (compressed) and ``seconds``."""
        # Zero is allowed (everything finished goes), unlike v.duration.
        zero = older_than == timedelta(0) or (type(older_than) is int and older_than == 0)
        older_than = timedelta(0) if zero else v.duration(older_than, "older_than")
        batch = v.integer(batch, "batch", 1, 10_000)
        objects = self._objectstore(to)
        cutoff = v.now() - older_than
        report = dict.fromkeys(("games", "actions", "turns", "events", "objects", "raw_bytes",
                                "stored_bytes"), 0)
        started = time.perf_counter()
        if games:
            self._archive_games(objects, cutoff, batch, report)
        if events:
            month = datetime(cutoff.year, cutoff.month, 1, tzinfo=UTC)
            self._archive_events(objects, month, report)
        report["seconds"] = round(time.perf_counter() - started, 3)
        return report

    def restore_archived(self, game_ids=None, *, events=None):
        """Bring archived rows back into the database and drop their pointers.
        ``game_ids``: those games (NotFound for one that is not archived);
        None: every archived game and, unless ``events=False``, every archived
        month of events. Returns ``{"games": n, "event_objects": n, "events": n}``.
        A missing or damaged object raises ArchiveMissing / ArchiveCorrupt
        and restores nothing of that object."""
        done = {"games": 0, "event_objects": 0, "events": 0}
        if game_ids is None:
            pointers = self._select("archived_games", [], ("game_id",))
            events = True if events is None else events
        else:
            ids = [v.uuid_(g, "game_id") for g in game_ids]
            pointers = self._select("archived_games", [("game_id", "in", ids)], ("game_id",))
            missing = set(ids) - {p["game_id"] for p in pointers}
            if missing:
                raise NotFound(f"not archived: game {', '.join(sorted(map(str, missing)))}")
        for pointer in pointers:
            tables = self._read_object(pointer, "game")
            with self.transaction():
                if not self._delete("archived_games", [("game_id", "=", pointer["game_id"])]):
                    continue  # restored meanwhile by another process
                for table in _GAME_TABLES:
                    if tables[table]:
                        # Many rows per statement on SQL (keyed by id, which the
                        # archived rows keep); memory inserts them one by one.
                        self._upsert(table, tables[table], ("id",))
            done["games"] += 1
        if events:
            erased = self._erased_ids()
            for pointer in self._select("archived_events", [], ("first_id",)):
                rows = self._read_object(pointer, "events")["analytics_events"]
                with self.transaction():
                    if not self._delete("archived_events", [("first_id", "=", pointer["first_id"])]):
                        continue
                    # An erased player's events stay out, as the erasure left them.
                    kept = [r for r in rows if r["player_id"] not in erased]
                    for row in kept:
                        self._insert("analytics_events", row)
                done["event_objects"] += 1
                done["events"] += len(kept)
        return done

    def archived_game(self, game_id):
        """The pointer of an archived game (a dict: ``archive_url``,
        ``object_key``, ``sha256``, sizes, counts, ``archived_at``), or None."""
        rows = self._select("archived_games", [("game_id", "=", v.uuid_(game_id, "game_id"))], ())
        return rows[0] if rows else None

    # -- archiving ---------------------------------------------------------------------

    def _archive_games(self, objects, cutoff, batch, report):
        after = None
        while True:
            # Games already archived are passed over a page at a time.
            games = self._select("games", [("ended_at", "<", cutoff)], ("ended_at", "id"),
                                 after=after, limit=_SCAN)
            if not games:
                return
            after = (games[-1]["ended_at"], games[-1]["id"])
            ids = [g["id"] for g in games]
            done = {p["game_id"] for p in self._select("archived_games", [("game_id", "in", ids)], ())}
            todo = [i for i in ids if i not in done]
            for first in range(0, len(todo), batch):
                self._archive_game_batch(objects, todo[first:first + batch], report)

    def _archive_game_batch(self, objects, todo, report):
        """Upload these games' objects, then swap their rows for pointers in one transaction."""
        rows = {i: {t: [] for t in _GAME_TABLES} for i in todo}
        for a in self._select("player_actions", [("game_id", "in", todo)],
                              ("game_id", "sequence_number")):
            rows[a["game_id"]]["player_actions"].append(a)
        game_of = {r["id"]: r["game_id"] for r in self._select(
            "rounds", [("game_id", "in", todo)], ())}
        for t in self._select("turns", [("round_id", "in", list(game_of))], ("round_id", "turn_number")):
            rows[game_of[t["round_id"]]]["turns"].append(t)
        uploaded = []
        for game_id in todo:
            tables = rows[game_id]
            if not any(tables.values()):
                continue  # nothing to move (abandoned before its first action)
            key = f"games/{game_id}.json.gz"
            data, raw = _encode({"kind": "game", "game_id": str(game_id)}, tables)
            objects.put(key, data)
            uploaded.append((game_id, tables, {
                "game_id": game_id, "archive_url": objects.url, "object_key": key,
                "sha256": hashlib.sha256(data).hexdigest(), "stored_bytes": len(data),
                "raw_bytes": raw, "actions": len(tables["player_actions"]),
                "turns": len(tables["turns"]), "archived_at": v.now()}))
        with self.transaction():
            for game_id, tables, pointer in uploaded:
                if self._swap_for_pointer("archived_games", pointer, [
                        ("player_actions", [("game_id", "=", game_id)], tables["player_actions"]),
                        ("turns", [("id", "in", [t["id"] for t in tables["turns"]])],
                         tables["turns"])]):
                    report["games"] += 1
                    report["actions"] += pointer["actions"]
                    report["turns"] += pointer["turns"]
                    _count_object(report, pointer)

    def _archive_events(self, objects, month_cutoff, report):
        after = None
        while True:
            rows = self._select("analytics_events", [("timestamp", "<", month_cutoff)], ("id",),
                                after=after, limit=_EVENTS_PER_OBJECT)
            if not rows:
                return
            after = (rows[-1]["id"],)
            by_month = {}
            for r in rows:
                by_month.setdefault(r["timestamp"].strftime("%Y-%m"), []).append(r)
            uploaded = []
            for month, group in sorted(by_month.items()):
                first, last = group[0]["id"], group[-1]["id"]
                key = f"analytics/{month}/{first}-{last}.json.gz"
                data, raw = _encode({"kind": "events", "month": month}, {"analytics_events": group})
                objects.put(key, data)
                uploaded.append((group, {
                    "first_id": first, "last_id": last, "month": month, "events": len(group),
                    "archive_url": objects.url, "object_key": key,
                    "sha256": hashlib.sha256(data).hexdigest(), "stored_bytes": len(data),
                    "raw_bytes": raw, "archived_at": v.now()}))
            with self.transaction():
                for group, pointer in uploaded:
                    if self._swap_for_pointer("archived_events", pointer, [
                            ("analytics_events", [("id", "in", [r["id"] for r in group])], group)]):
                        report["events"] += pointer["events"]
                        _count_object(report, pointer)

    def _swap_for_pointer(self, pointer_table, pointer, deletions):
        """In a savepoint: delete exactly the uploaded rows and insert the
        pointer; False (nothing changed) if the rows changed meanwhile or
        another process archived them first."""
        try:
            with self.transaction():
                for table, where, uploaded in deletions:
                    if uploaded and self._delete(table, where) != len(uploaded):
                        raise _Changed()
                self._insert(pointer_table, pointer)
        except (_Changed, Conflict):
            return False
        return True

    # -- reading back --------------------------------------------------------------------

    def _archived_rows(self, game_id, table, keep):
        """The rows of ``table`` (player_actions or turns) of an archived game
        that satisfy ``keep``, in stored order; [] if the game is not archived."""
        pointer = self._select("archived_games", [("game_id", "=", game_id)], (), limit=1)
        if not pointer:
            return []
        return [r for r in self._read_object(pointer[0], "game")[table] if keep(r)]

    def _read_object(self, pointer, kind):
        """The decoded tables of the object a pointer row names, checked
        against its checksum (ArchiveMissing, ArchiveCorrupt)."""
        cache, lock = self._archive_cache()
        token = (pointer["archive_url"], pointer["object_key"], pointer["sha256"])
        with lock:
            hit = cache.get(token)
        if hit is None:
            where = f"{pointer['archive_url'].rstrip('/')}/{pointer['object_key']}"
            try:
                data = self._objectstore(pointer["archive_url"]).get(pointer["object_key"])
            except ArchiveMissing as e:
                raise ArchiveMissing(f"{_subject(pointer)} is archived, but {e}") from None
            if hashlib.sha256(data).hexdigest() != pointer["sha256"]:
                raise ArchiveCorrupt(f"{_subject(pointer)}: archive object {where} does not match "
                                     f"its checksum (sha256 {pointer['sha256']})")
            try:
                hit = gzip.decompress(data)
                tables = _decode(hit, kind)
            except (OSError, EOFError, ValueError, KeyError, TypeError) as e:
                raise ArchiveCorrupt(f"{_subject(pointer)}: archive object {where} is not a "
                                     f"liapstore archive: {e}") from None
            with lock:
                cache[token] = hit
                while len(cache) > _CACHE:
                    cache.popitem(last=False)
            return tables
        # Decoded afresh: the rows (and their JSON values) are the caller's to change.
        return _decode(hit, kind)

    def _objectstore(self, url):
        stores = self.__dict__.setdefault("_objectstores", {})
        if url not in stores:
            stores[url] = open_objectstore(url)
        return stores[url]

    def _archive_cache(self):
        if "_archive_decoded" not in self.__dict__:
            self.__dict__.setdefault("_archive_decoded", (OrderedDict(), threading.Lock()))
        return self.__dict__["_archive_decoded"]


def _count_object(report, pointer):
    report["objects"] += 1
    report["raw_bytes"] += pointer["raw_bytes"]
    report["stored_bytes"] += pointer["stored_bytes"]


def _subject(pointer):
    if "game_id" in pointer:
        return f"game {pointer['game_id']}"
    return f"analytics events {pointer['first_id']}-{pointer['last_id']} ({pointer['month']})"


# -- the object format ----------------------------------------------------------------------

def _encode(header, tables):
    """(gzip bytes, length of the JSON) of ``tables`` {name: [row dicts]}."""
    from .schema.models import BY_TABLE  # peewee: not loaded by ``import liapstore``
    body = {"format": _FORMAT, **header, "tables": {}}
    for name, rows in tables.items():
        columns = [f.column_name for f in BY_TABLE[name]._meta.sorted_fields]
        encoders = [_ENCODE.get(BY_TABLE[name]._meta.columns[c].field_type) for c in columns]
        body["tables"][name] = {"columns": columns, "rows": [
            [r[c] if r[c] is None or e is None else e(r[c]) for c, e in zip(columns, encoders)]
            for r in rows]}
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return gzip.compress(raw, compresslevel=6, mtime=0), len(raw)


def _decode(text, kind):
    """The tables of an object's decompressed JSON ``text``."""
    from .schema.models import BY_TABLE
    body = json.loads(text)
    if body.get("format") != _FORMAT or body.get("kind") != kind:
        raise ValueError(f"format {body.get('format')!r}, kind {body.get('kind')!r}")
    out = {}
    for name, table in body["tables"].items():
        fields = BY_TABLE[name]._meta.columns
        decoders = [_DECODE.get(fields[c].field_type) for c in table["columns"]]
        out[name] = [{c: x if x is None or d is None else d(x)
                      for c, d, x in zip(table["columns"], decoders, row)} for row in table["rows"]]
    return out


# By column type (a foreign key has its target's); JSON, numbers and text pass as they are.
_ENCODE = {"UUID": str,  # times as schema/fields.py's utc_text writes them
           "TIMESTAMPTZ": lambda x: x.astimezone(UTC).isoformat(sep=" ", timespec="microseconds")}
_DECODE = {"UUID": uuid.UUID, "TIMESTAMPTZ": lambda x: datetime.fromisoformat(x).astimezone(UTC)}
