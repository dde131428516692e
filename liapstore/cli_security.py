"""``liapstore audit``: the audit trail, for operators (see liapstore/security.py)."""
import json
from datetime import timezone

import click

from .cli import main, store_command, table
from .security import AUDITED


@main.command()
@click.option("--table", "table_name", type=click.Choice(AUDITED), help="Only this table's changes.")
@click.option("--player", metavar="NAME", help="Only the changes made acting as this player.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
              help="From this day or time (UTC), inclusive.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000),
              help="Entries per page; every page is listed.")
@store_command()
def audit(store, table_name, player, since, limit):
    """Inserts, updates and deletes on players, sessions and rooms: when,
    who (the acting player, or "server"), from where, and the row."""
    user_id = store.get_player_by_username(player).id if player else None
    since = since.replace(tzinfo=timezone.utc) if since else None
    names, rows, after = {}, [], None
    while True:
        page = store.list_audit_log(table_name=table_name, user_id=user_id, since=since,
                                    limit=limit, after=after)
        for e in page.items:
            if e.user_id is not None and e.user_id not in names:
                names[e.user_id] = store.get_player(e.user_id).username
            rows.append([e.id, f"{e.timestamp:%Y-%m-%d %H:%M:%S}", e.table_name, e.operation,
                         names.get(e.user_id, "server"), e.ip_address or "-",
                         json.dumps(e.changed_data, sort_keys=True)])
        after = page.next_cursor
        if after is None:
            break
    table(["id", "time (UTC)", "table", "operation", "by", "from", "row"], rows)
    click.echo(f"{len(rows)} entr{'y' if len(rows) == 1 else 'ies'}")
