"""``liapstore copy``, ``backup`` and ``restore``: moving a deployment's data.

The library code is in liapstore/ops/; this module only opens stores, draws
progress bars (on stderr, so stdout stays for the results) and prints.
"""
import contextlib
import sys

import click

from . import connect, urls
from .cli import main, url_option
from .errors import LiapstoreError


@contextlib.contextmanager
def _errors():
    try:
        yield
    except LiapstoreError as e:
        raise click.ClickException(f"{type(e).__name__}: {e}") from None


@contextlib.contextmanager
def _bar(label, length):
    with click.progressbar(length=length, label=label, show_pos=True, file=sys.stderr) as bar:
        yield bar.update


@main.command("copy")
@click.option("--from", "source_url", required=True, metavar="URL",
              help="The store to copy (only read).")
@click.option("--to", "target_url", required=True, metavar="URL",
              help="The store to copy into: empty, or a copy from the same source that was "
                   "interrupted (migrated first).")
@click.option("--check", is_flag=True,
              help="Copy nothing: compare per-table row counts and checksums; exit 2 on a difference.")
@click.option("--batch-size", default=5000, show_default=True, type=click.IntRange(1))
def copy_command(source_url, target_url, check, batch_size):
    """Copy every table from one store to another (any backends), or --check a copy.

    Run the same command again after an interruption: it carries on where it
    stopped, without duplicates. Stop writing to the source while copying."""
    from .ops import copy as ops
    with _errors(), connect(source_url, migrate=False) as source, \
            connect(target_url, migrate=not check) as target:
        counts = ops.counts(source)
        if check:
            with _bar("checking", 2 * sum(counts.values())) as progress:
                differ = ops.compare(source, target, batch_size=batch_size, on_rows=progress)
            for ours, theirs in differ:
                click.echo(f"{ours.table}: source {ours.rows} rows, checksum {ours.checksum}; "
                           f"target {theirs.rows} rows, checksum {theirs.checksum}")
            click.echo(f"{len(counts) - len(differ)} of {len(counts)} tables identical "
                       f"({sum(counts.values()):,} rows in the source)")
            sys.exit(2 if differ else 0)
        with _bar("copying", sum(counts.values())) as progress:
            copied = ops.copy(source, target, batch_size=batch_size, on_rows=progress)
        click.echo(f"copied {sum(copied.values()):,} rows "
                   f"({sum(counts.values()) - sum(copied.values()):,} were already there) "
                   f"from {urls.redact(source_url)} to {urls.redact(target_url)}")
        for table, n in counts.items():
            click.echo(f"  {table:<20} {n:>10,}")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--keys", "key_file", type=click.Path(dir_okay=False), metavar="KEYFILE",
              help="Where the key tables go (default FILE.keys).")
@url_option
def backup(url, file, key_file):
    """Write a consistent, compressed snapshot of the store to FILE while it
    keeps recording (its key store, if any, to a separate key file)."""
    from .ops import copy, snapshot
    with _errors(), connect(url, migrate=False) as store:
        with _bar("backing up", sum(copy.counts(store).values())) as progress:
            manifest = snapshot.backup(store, file, key_path=key_file, on_rows=progress)
    click.echo(f"wrote {file}: schema version {manifest['schema_version']}, "
               f"{sum(manifest['rows'].values()):,} rows")
    if manifest["key_tables"]:
        click.echo(f"keys ({', '.join(manifest['key_tables'])}) in "
                   f"{key_file or snapshot.key_path_for(file)}: keep it apart from the snapshot")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--keys", "key_file", type=click.Path(dir_okay=False), metavar="KEYFILE",
              help="The snapshot's key file (default FILE.keys).")
@click.option("--without-keys", is_flag=True,
              help="Restore without the key file (its tables stay empty).")
@click.option("--current-keys", is_flag=True,
              help="KEYFILE is a later snapshot's (today's keys): players erased since stay "
                   "unreadable.")
@click.option("--force", is_flag=True, help="Replace the contents of a store that is not empty.")
@url_option
def restore(url, file, key_file, without_keys, current_keys, force):
    """Restore snapshot FILE into the store (any backend), which must be empty
    unless --force. The file is checked whole first; nothing is half-written."""
    from .ops import snapshot
    with _errors(), connect(url) as store:
        click.echo(f"checking {file}", err=True)
        manifest = snapshot.read_manifest(file)
        with _bar("restoring", sum(manifest["rows"].values())) as progress:
            snapshot.restore(file, store, key_path=key_file, without_keys=without_keys,
                             current_keys=current_keys, force=force, on_rows=progress, manifest=manifest)
    click.echo(f"restored {sum(manifest['rows'].values()):,} rows of the snapshot taken "
               f"{manifest['created_at']} into {urls.redact(url)}")
