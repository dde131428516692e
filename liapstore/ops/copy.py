"""Copying every table of one store into another, and comparing the two.

``copy(source, target)`` reads each table of ``TABLES`` (the models, in
foreign-key order) in key order, in batches, inside one consistent snapshot
of the source (``_snapshot``), and writes each batch into the target with
``_load_rows`` in a transaction of its own (COPY on PostgreSQL), ids, times and
JSON kept, no audit rows made up. The target is migrated by whoever opened
it (``liapstore.connect``); the source is never written.

Resuming needs no bookkeeping of its own: since tables are copied one after
the other and each batch commits whole, a target killed in the middle holds
every row of the tables before one table, a prefix (in the source's key
order) of that table, and nothing after it. ``copy`` reads that shape off
the target's row counts, checks that the last row of the prefix is there and
the next one is not, and carries on after it. Anything else (a target with
other data, a source that changed meanwhile) is refused with ``Conflict``
rather than guessed at. ``compare`` checks the result: per table, row
counts and checksums of the canonical rows (``tables.Checksum``).
"""
from dataclasses import dataclass

from ..errors import Conflict, SchemaOutdated
from ..urls import redact
from .tables import TABLES, Checksum, Codec, order

BATCH_SIZE = 5000


def batches(store, table, batch_size=BATCH_SIZE):
    """The rows of ``table`` in key order, as lists of at most ``batch_size``."""
    key, after = order(table), None
    while True:
        rows = store._scan(table, after, batch_size)
        if rows:
            yield rows
        if len(rows) < batch_size:
            return
        after = tuple(rows[-1][c] for c in key)


def check_schema(store, role):
    """SchemaOutdated unless ``store``'s schema is exactly this liapstore's."""
    applied, latest = store.schema_version()
    if applied != latest:
        raise SchemaOutdated(
            f"the {role} {redact(store.url)} has schema version {applied}, this liapstore "
            f"{'needs' if applied < latest else 'knows only'} {latest}"
            + (": run `liapstore migrate` on it first" if applied < latest
               else ": use the newer liapstore that wrote it"))


def _resume_point(counts, done):
    """The index in TABLES of the first table not copied whole, after
    checking that the target holds a partial copy of the source's shape."""
    first = next((i for i, t in enumerate(TABLES) if done[t] != counts[t]), len(TABLES))
    extra = [t for i, t in enumerate(TABLES)
             if done[t] > counts[t] or (i > first and done[t])]
    if extra:
        raise Conflict(f"the target is neither empty nor a partial copy of this source: "
                       f"{', '.join(f'{t} has {done[t]} rows (source {counts[t]})' for t in extra)}; "
                       "copy into an empty database")
    return first


def _present(store, table, row):
    key = order(table)
    return bool(store._select(table, [(c, "=", row[c]) for c in key], (), limit=1))


def copy(source, target, *, batch_size=BATCH_SIZE, on_rows=None):
    """Copy every table of ``source`` into ``target`` (two Stores), resuming
    a copy that was interrupted; return ``{table: rows copied now}``.

    ``on_rows(n)`` is called as rows are copied or found already copied (a
    progress bar's total is ``sum(source counts)``, see ``counts``).
    Both schemas must be this liapstore's (SchemaOutdated). A target holding
    anything but a partial copy of this source: Conflict.
    """
    check_schema(source, "source")
    check_schema(target, "target")
    copied = {}
    with source._snapshot():
        counts = {t: source._count(t) for t in TABLES}
        done = {t: target._count(t) for t in TABLES}
        first = _resume_point(counts, done)
        if on_rows:
            on_rows(sum(done[t] for t in TABLES[:first + 1]))
        for table in TABLES[first:]:
            copied[table] = _copy_table(source, target, table, done[table], batch_size, on_rows)
    target.refresh_leaderboard()
    return copied


def _copy_table(source, target, table, skip, batch_size, on_rows):
    """Copy ``table`` after its first ``skip`` rows (already in the target)."""
    seen, written = 0, 0
    for rows in batches(source, table, batch_size):
        if seen + len(rows) <= skip:
            seen += len(rows)
            last = rows[-1]
            continue
        if seen < skip:
            last, rows = rows[skip - seen - 1], rows[skip - seen:]
            seen = skip
        if skip and written == 0 and not (_present(target, table, last)
                                          and not _present(target, table, rows[0])):
            raise Conflict(f"{table}: the target's {skip} rows are not the first rows of the "
                           "source's; did the source change since the interrupted copy? "
                           "copy into an empty database")
        target._load_rows(table, rows)
        written += len(rows)
        if on_rows:
            on_rows(len(rows))
    return written


def counts(store):
    """``{table: rows}`` of every table."""
    return {t: store._count(t) for t in TABLES}


@dataclass
class TableSum:
    """One table's row count and checksum (``tables.Checksum``)."""
    table: str
    rows: int
    checksum: str


def checksums(store, *, batch_size=BATCH_SIZE, on_rows=None):
    """``[TableSum]`` of every table, read in one consistent snapshot."""
    out = []
    with store._snapshot():
        for table in TABLES:
            codec, total = Codec(table), Checksum()
            for rows in batches(store, table, batch_size):
                for row in rows:
                    total.add(codec.encode(row))
                if on_rows:
                    on_rows(len(rows))
            out.append(TableSum(table, total.rows, total.hex))
    return out


def compare(source, target, *, batch_size=BATCH_SIZE, on_rows=None):
    """``[(source TableSum, target TableSum)]`` of the tables that differ
    (``[]``: the target holds exactly the source's rows)."""
    ours = checksums(source, batch_size=batch_size, on_rows=on_rows)
    theirs = checksums(target, batch_size=batch_size, on_rows=on_rows)
    return [(a, b) for a, b in zip(ours, theirs) if (a.rows, a.checksum) != (b.rows, b.checksum)]
