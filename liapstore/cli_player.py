"""``liapstore player``: a player's page (``player NAME``), their data
(``player export NAME``) and its erasure (``player erase NAME --yes``)."""
import json

import click

from .cli import main, store_command


class _PlayerGroup(click.Group):
    """A group whose first argument is either a subcommand or a player's name:
    ``liapstore player alice`` keeps meaning ``liapstore player show alice``."""

    def parse_args(self, ctx, args):
        # The group has no options of its own: anything but a subcommand or
        # --help is the page's (``player --url URL NAME`` too).
        if args and args[0] not in self.commands and args[0] != "--help":
            args = ["show", *args]
        return super().parse_args(ctx, args)


# The page command defined in cli.py becomes the group's default subcommand.
_show = main.commands.pop("player")


@main.group(cls=_PlayerGroup)
def player():
    """A player's page (player NAME), their data (export) and its erasure (erase)."""


player.add_command(_show, "show")


@player.command("export")
@click.argument("name")
@click.option("--output", "-o", type=click.File("w"), default="-", show_default=True,
              help="Write the JSON here instead of standard output.")
@store_command()
def player_export(store, name, output):
    """Everything stored about one player, as JSON."""
    data = store.export_player(store.get_player_by_username(name).id)
    json.dump(data, output, indent=2, sort_keys=True)
    output.write("\n")


@player.command("erase")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Confirm: the data cannot be brought back.")
@store_command()
def player_erase(store, name, yes):
    """Erase a player's personal data; their games stay valid for the others."""
    if not yes:
        raise click.UsageError(f"erasing {name} cannot be undone: add --yes to confirm")
    report = store.erase_player(store.get_player_by_username(name).id)
    removed = ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in report["removed"].items())
    click.echo(f"erased {name}: now {report['username']}" + (f" ({removed})" if removed else ""))
