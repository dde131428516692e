"""Backup files: a consistent snapshot of every table, restorable into any backend.

A snapshot is one gzip-compressed stream of JSON lines:

- a manifest line: ``{"liapstore_snapshot": FORMAT, "schema_version": N,
  "migrations": [...], "id": ..., "created_at": ..., "tables": [...], "key_tables": [...]}``;
- per table, in ``TABLES`` (foreign-key) order: ``{"table": name, "columns": [...]}``,
  its rows as JSON arrays of canonical values (``tables.Codec``), then
  ``{"end": name, "rows": n, "checksum": ...}``;
- a last line ``{"complete": true, "rows": {table: n}, "checksums": {table: ...}}``:
  the row counts of the snapshot's moment.

The tables of ``KEY_TABLES`` go to a key file of the same form (FILE.keys
by default) carrying the snapshot's id, never into the snapshot itself.

A file is written under a temporary name and renamed once complete, so a
killed backup leaves no file that looks whole. ``restore`` reads the whole
file (and the key file) once before touching the target, checking gzip's
CRC, every table's row count and checksum and the last line, then loads it
in one transaction: a corrupt, truncated or mismatched file changes nothing.
"""
import gzip
import json
import os
import uuid
import zlib
from datetime import datetime, timezone

from .. import __version__
from ..errors import Conflict, InvalidInput, LiapstoreError, SchemaOutdated
from ..schema import migrations
from .copy import BATCH_SIZE, batches, check_schema
from .tables import KEY_TABLES, TABLES, Checksum, Codec

#: The version of the file format; a reader refuses newer ones.
FORMAT = 1


class CorruptSnapshot(InvalidInput):
    """A snapshot or key file that is truncated, damaged, or not one at all."""


def key_path_for(path):
    """The default key file of snapshot ``path``."""
    return f"{path}.keys"


def backup(store, path, *, key_path=None, key_tables=KEY_TABLES, batch_size=BATCH_SIZE,
           on_rows=None):
    """Write a snapshot of ``store`` to ``path`` (its key tables to
    ``key_path``, default ``path + ".keys"``, when the schema has any);
    return the manifest with the row counts (``rows``). Other connections
    keep recording meanwhile: the snapshot is one consistent moment."""
    check_schema(store, "store")
    names = migrations.names()
    keys = [t for t in TABLES if t in key_tables]
    manifest = {"liapstore_snapshot": FORMAT, "schema_version": len(names), "migrations": names,
                "liapstore": __version__, "id": str(uuid.uuid4()), "backend": store.backend,
                "created_at": datetime.now(timezone.utc).isoformat(),
                "tables": [t for t in TABLES if t not in keys], "key_tables": keys}
    key_path = key_path or key_path_for(path)
    with store._snapshot():
        rows, sums = _write(path, manifest, manifest["tables"], store, batch_size, on_rows)
        if keys:
            header = {"liapstore_keys": FORMAT, "id": manifest["id"], "tables": keys}
            more = _write(key_path, header, keys, store, batch_size, on_rows)
            rows.update(more[0])
            sums.update(more[1])
    return {**manifest, "rows": rows, "checksums": sums}


def _write(path, header, tables, store, batch_size, on_rows):
    part = f"{path}.part"
    rows, sums = {}, {}
    with gzip.open(part, "wt", encoding="utf-8", compresslevel=5) as out:
        out.write(_line(header))
        for table in tables:
            codec, total = Codec(table), Checksum()
            out.write(_line({"table": table, "columns": codec.columns}))
            for batch in batches(store, table, batch_size):
                for row in batch:
                    values = codec.encode(row)
                    total.add(values)
                    out.write(_line(values))
                if on_rows:
                    on_rows(len(batch))
            out.write(_line({"end": table, "rows": total.rows, "checksum": total.hex}))
            rows[table], sums[table] = total.rows, total.hex
        out.write(_line({"complete": True, "rows": rows, "checksums": sums}))
        out.flush()
        os.fsync(out.fileno())
    os.replace(part, path)
    return rows, sums


def _line(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False) + "\n"


def _lines(path):
    """The file's JSON lines; CorruptSnapshot for anything unreadable."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for n, text in enumerate(f, start=1):
                try:
                    yield json.loads(text)
                except ValueError:
                    raise CorruptSnapshot(f"{path}: line {n} is not JSON") from None
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except (EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError) as e:
        raise CorruptSnapshot(f"{path}: damaged or truncated ({e})") from None
    except OSError as e:
        raise CorruptSnapshot(f"{path}: unreadable ({e})") from None


def _sections(path, header_key):
    """``(header, iterator of (table, rows iterator))`` of a snapshot or
    key file; the rows are dicts, checked against the table's end line, and
    the file against its last line, as they are read."""
    lines = _lines(path)
    header = next(lines, None)
    if not isinstance(header, dict) or header_key not in header:
        raise CorruptSnapshot(f"{path}: not a liapstore {header_key.split('_')[1]} file")
    if not isinstance(header[header_key], int):
        raise CorruptSnapshot(f"{path}: its format version is {header[header_key]!r}")
    if header[header_key] > FORMAT:
        raise SchemaOutdated(f"{path}: file format {header[header_key]} is newer than this "
                             f"liapstore's ({FORMAT}): use a newer liapstore")

    def sections():
        rows, sums = {}, {}
        for table in header["tables"]:
            start = next(lines, None)
            if not isinstance(start, dict) or start.get("table") != table or \
                    start.get("columns") != Codec(table).columns:
                raise CorruptSnapshot(f"{path}: expected table {table} with this liapstore's "
                                      f"columns, found {str(start)[:200]}")
            yield table, _rows(path, table, lines, rows, sums)
        last = next(lines, None)
        if last != {"complete": True, "rows": rows, "checksums": sums} or next(lines, None):
            raise CorruptSnapshot(f"{path}: its last line does not match its tables")
    return header, sections()


def _rows(path, table, lines, rows, sums):
    codec, total = Codec(table), Checksum()
    for values in lines:
        if isinstance(values, dict):
            if values != {"end": table, "rows": total.rows, "checksum": total.hex}:
                raise CorruptSnapshot(f"{path}: table {table}'s rows do not match its checksum")
            rows[table], sums[table] = total.rows, total.hex
            return
        if not isinstance(values, list) or len(values) != len(codec.columns):
            raise CorruptSnapshot(f"{path}: a row of {table} has the wrong shape")
        total.add(values)
        try:
            yield codec.decode(values)
        except (ValueError, TypeError) as e:
            raise CorruptSnapshot(f"{path}: a row of {table} holds a bad value: {e}") from None
    raise CorruptSnapshot(f"{path}: table {table} ends early")


def read_manifest(path):
    """The manifest of snapshot ``path``, with the row counts and checksums
    of its last line (``rows``, ``checksums``); reads and checks the whole
    file (CorruptSnapshot, SchemaOutdated)."""
    header, sections = _sections(path, "liapstore_snapshot")
    rows, sums = {}, {}
    for table, table_rows in sections:
        total = Checksum()
        codec = Codec(table)
        for row in table_rows:
            total.add(codec.encode(row))
        rows[table], sums[table] = total.rows, total.hex
    return {**header, "rows": rows, "checksums": sums}


def restore(path, store, *, key_path=None, without_keys=False, current_keys=False, force=False,
            batch_size=BATCH_SIZE, on_rows=None, manifest=None):
    """Load snapshot ``path`` (and its key file) into ``store``; return the
    snapshot's manifest with its row counts.

    The store must be empty (Conflict) unless ``force``, which empties it
    first, in the same transaction. A snapshot of another schema version
    than this liapstore's: SchemaOutdated (newer) or InvalidInput (older).
    ``without_keys`` restores a snapshot whose key file is lost, leaving
    the key tables empty. ``current_keys`` accepts the key file of another,
    later snapshot (the key store of today) instead of this snapshot's own:
    only the keys of players in this snapshot are loaded, so a player erased
    since has no key and their address stays unreadable. ``manifest``: what ``read_manifest(path)`` returned,
    if the caller has read it already (the file is then read once less)."""
    manifest = manifest or read_manifest(path)
    latest = len(migrations.names())
    if manifest["schema_version"] > latest:
        raise SchemaOutdated(f"{path}: the snapshot has schema version {manifest['schema_version']}"
                             f", this liapstore knows only {latest}: restore it with a newer "
                             f"liapstore (it was written by {manifest.get('liapstore')})")
    if manifest["migrations"] != migrations.names():
        raise InvalidInput(f"{path}: the snapshot has schema version {manifest['schema_version']}, "
                           f"this liapstore's is {latest}: restore it with liapstore "
                           f"{manifest.get('liapstore')}, then upgrade")
    check_schema(store, "target")
    keys = manifest["key_tables"]
    if manifest["tables"] != [t for t in TABLES if t not in keys] or not set(keys) <= set(TABLES):
        raise CorruptSnapshot(f"{path}: its tables are not this schema's, in its order")
    key_path = key_path or key_path_for(path)
    header = None
    if keys and not without_keys:
        if not os.path.exists(key_path):
            raise InvalidInput(f"{path}: its key file {key_path} is missing; name it with "
                               "--keys, or restore --without-keys (encrypted e-mail addresses "
                               "then stay unreadable)")
        header = _check_keys(key_path, None if current_keys else manifest["id"])
    occupied = {t: n for t in TABLES if (n := store._count(t))}
    if occupied and not force:
        raise Conflict(f"{store!r} is not empty ({', '.join(f'{t}: {n}' for t, n in occupied.items())}); "
                       "restore into an empty database, or pass --force to replace its contents")
    with store._transaction():
        if occupied:
            _empty(store)
        _, data = _sections(path, "liapstore_snapshot")
        # Key tables are small (a key per player): read whole, they are
        # loaded where they belong in the foreign-key order, between the
        # data file's tables, which are streamed as they come.
        sections = ({t: list(rows) for t, rows in _sections(key_path, "liapstore_keys")[1]}
                    if header else {})
        pending = iter(data)
        for table in TABLES:
            if table in keys:
                if table in sections:
                    rows = sections[table]
                    if current_keys:  # only keys of players in this snapshot
                        ids = [r["player_id"] for r in rows]
                        present = {r["id"] for r in store._select("players", [("id", "in", ids)],
                                                                   ("id",))} if ids else set()
                        rows = [r for r in rows if r["player_id"] in present]
                    _load(store, table, rows, batch_size, on_rows)
                continue
            _, rows = next(pending)  # the order was checked above
            _load(store, table, rows, batch_size, on_rows)
        for rest in pending:  # the last-line check runs when the iterator ends
            raise CorruptSnapshot(f"{path}: unexpected table {rest[0]}")
    store.refresh_leaderboard()
    return manifest


def _check_keys(key_path, snapshot_id):
    header, sections = _sections(key_path, "liapstore_keys")
    if snapshot_id is not None and header.get("id") != snapshot_id:
        raise InvalidInput(f"{key_path} is the key file of another snapshot")
    for _, rows in sections:
        for _ in rows:
            pass
    return header


def _load(store, table, rows, batch_size, on_rows):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == batch_size:
            store._load_rows(table, batch)
            if on_rows:
                on_rows(len(batch))
            batch = []
    store._load_rows(table, batch)
    if on_rows:
        on_rows(len(batch))


def _empty(store):
    # Deleting players makes audit rows (the audit triggers): emptying again
    # removes them; a few passes empty every table.
    for _ in range(3):
        for table in reversed(TABLES):
            store._delete(table, [])
        if not any(store._count(t) for t in TABLES):
            return
    raise LiapstoreError(f"{store!r}: could not empty the database")
