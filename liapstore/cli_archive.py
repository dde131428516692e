"""``liapstore archive``: old games' logs and analytics to an object store,
and ``liapstore archive restore`` to bring them back."""
import json
import os
import re
from datetime import timedelta

import click

from .cli import main, store_command, url_option

_UNITS = {"d": "days", "h": "hours", "w": "weeks", "m": "minutes", "s": "seconds"}


def _age(text):
    """'90d', '12h', '2w', '30m', '0d' as a timedelta."""
    match = re.fullmatch(r"(\d+)([dhwms])", text.strip())
    if not match:
        raise click.BadParameter(f"{text!r}: a number and a unit, such as 90d, 12h or 2w")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def default_archive_url():
    """$LIAPSTORE_ARCHIVE_URL, else the directory liapstore-archive here (as a file:// URL)."""
    return os.environ.get("LIAPSTORE_ARCHIVE_URL") or \
        "file://" + os.path.abspath("liapstore-archive")


@main.group(invoke_without_command=True)
@click.option("--older-than", default="90d", show_default=True,
              help="Archive what ended (games) or whose month ended (events) this long ago.")
@click.option("--to", "to", metavar="URL",
              help="file:///dir or s3://bucket/prefix[?endpoint_url=…] "
                   "(default: $LIAPSTORE_ARCHIVE_URL, else ./liapstore-archive).")
@click.option("--games/--no-games", default=True, help="Archive games' action logs and turns.")
@click.option("--events/--no-events", default=True, help="Archive old analytics months.")
@url_option
@click.pass_context
def archive(ctx, older_than, to, games, events, url):
    """Move old games' action logs and old analytics to an object store."""
    if ctx.invoked_subcommand is not None:
        return
    age = _age(older_than)

    def run(store):
        done = store.archive(to or default_archive_url(), older_than=age or 0, games=games,
                             events=events)
        click.echo(json.dumps(done, indent=2))
    # The group's options are its own, so the store is opened here rather
    # than by decorating the group (which restore, with its own --url, shares).
    store_command()(run)(url=url)


@archive.command("restore")
@click.argument("game_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every archived game and event month.")
@store_command()
def archive_restore(store, game_ids, everything):
    """Bring archived games (or --all, events too) back into the database."""
    if bool(game_ids) == everything:
        raise click.UsageError("name GAME_IDs or pass --all")
    done = store.restore_archived(None if everything else list(game_ids))
    click.echo(json.dumps(done, indent=2))
