"""``liapstore keys ...`` and ``liapstore sessions ...``: the e-mail keys and
login sessions, for operators (see the README's security section).

The store's own keys come from where a server takes them
(``$LIAPSTORE_ENCRYPTION_KEY`` / ``$LIAPSTORE_BLIND_INDEX_KEY`` or the URL's
``?encryption_key_file=`` / ``?blind_index_key_file=``); ``keys rotate`` also
reads the old and new master keys from the files it is given.
"""
import sys

import click

from .cli import main, store_command
from .errors import InvalidInput
from .keys import Keyring, generate, key_version, parse_key


@main.group()
def keys():
    """E-mail encryption keys: generate, rotate, encrypt pending addresses."""


@keys.command("generate")
def keys_generate():
    """Print a new random key (32 bytes, URL-safe base64)."""
    click.echo(generate())


def _key_file(path, what):
    """The keys in a key file: one or more, comma- or newline-separated, the first current."""
    with open(path) as f:
        text = f.read()
    found = [parse_key(k, f"{what} {path!r}") for k in text.replace("\n", ",").split(",")
             if k.strip()]
    if not found:
        raise InvalidInput(f"{what} {path!r} holds no key")
    return found


@keys.command("rotate")
@click.option("--new-key-file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="File holding the new master key (its first key).")
@click.option("--old-key-file", type=click.Path(exists=True, dir_okay=False),
              help="File holding the old master key(s); default: the configured keys.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@store_command()
def keys_rotate(store, new_key_file, old_key_file, batch_size):
    """Re-wrap every player's data key under a new master key.

    Each batch commits on its own and keys already under the new key are
    skipped, so an interrupted run is finished by running it again. Until
    the servers are configured with the new key, give them both
    (LIAPSTORE_ENCRYPTION_KEY=NEW,OLD): they read keys under either.
    """
    new = _key_file(new_key_file, "--new-key-file")[0]
    old = _key_file(old_key_file, "--old-key-file") if old_key_file else []
    ring = Keyring(old + store._keyring.master_keys + [new], store._keyring.blind_index_key)
    total = sum(store.key_versions().values())
    with click.progressbar(length=total, label="re-wrapping", show_pos=True,
                           file=sys.stderr) as bar:
        moved = store.rewrap_player_keys(ring, new, batch_size=batch_size, on_batch=bar.update)
    versions = store.key_versions()
    click.echo(f"re-wrapped {moved} key(s); {versions.get(key_version(new), 0)} of "
               f"{sum(versions.values())} under key version {key_version(new)}")


@keys.command("encrypt-pending")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 10_000))
@store_command()
def keys_encrypt_pending(store, batch_size):
    """Encrypt the addresses stored in plain text before schema version 6."""
    done = store.encrypt_pending_emails(batch_size=batch_size)
    click.echo(f"encrypted {done['encrypted']} pending address(es)")
    if done["conflicts"]:
        click.echo(f"{len(done['conflicts'])} left pending: the same address (case folded) as "
                   "another player's; change one of them and run this again:", err=True)
        for player_id in done["conflicts"]:
            click.echo(f"  {player_id}", err=True)
        raise SystemExit(2)


@keys.command("status")
@store_command()
def keys_status(store):
    """Data keys per master-key version, and which versions are configured."""
    configured = {key_version(k) for k in store._keyring.master_keys}
    current = store._keyring.master_keys[0] if store._keyring.master_keys else None
    for version, count in sorted(store.key_versions().items()):
        note = (" (current)" if current and version == key_version(current)
                else " (configured)" if version in configured else " (NOT configured)")
        click.echo(f"key version {version:>10}: {count:>8} player key(s){note}")
    click.echo(f"pending plain-text addresses: {store.count_pending_emails()}")


@main.group()
def sessions():
    """Login sessions: purge expired ones, revoke a player's."""


@sessions.command("purge")
@store_command()
def sessions_purge(store):
    """Delete every expired session."""
    click.echo(f"deleted {store.delete_expired_sessions()} expired session(s)")


@sessions.command("revoke")
@click.argument("username")
@store_command()
def sessions_revoke(store, username):
    """End every session of one player (by username)."""
    player = store.get_player_by_username(username)
    click.echo(f"revoked {store.revoke_sessions(player.id)} session(s) of {username}")
