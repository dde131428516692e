"""The ``liapstore`` command: a thin layer over Store.

Every command takes ``--url`` (default: $LIAPSTORE_URL, then the SQLite file
liapstore.db in the working directory). liapstore's errors become a one-line
message and exit status 1; ``verify`` exits 2 when it finds corrupted games.
"""
import functools
import json
import sys

import click

from . import connect, urls
from .errors import LiapstoreError

url_option = click.option("--url", envvar="LIAPSTORE_URL", default=urls.DEFAULT_URL,
                          show_default=True, help="Storage URL (memory://, sqlite:///…, postgresql://…).")


def store_command(migrate=True):
    """Open the store named by --url for the command and close it afterwards."""
    def decorate(fn):
        @url_option
        @functools.wraps(fn)
        def wrapper(url, **kwargs):
            try:
                with connect(url, migrate=migrate) as store:
                    return fn(store, **kwargs)
            except LiapstoreError as e:
                raise click.ClickException(f"{type(e).__name__}: {e}") from None
        return wrapper
    return decorate


@click.group()
@click.version_option(package_name="liapstore")
def main():
    """Persistent storage for Liap Tui game servers."""


@main.command()
@store_command(migrate=False)
def migrate(store):
    """Create or upgrade the schema (idempotent)."""
    applied = store.migrate()
    version, latest = store.schema_version()
    click.echo(f"applied {', '.join(applied)}" if applied else "schema already up to date")
    click.echo(f"schema version {version}/{latest} on {urls.redact(store.url)}")


@main.command()
@store_command(migrate=False)
def status(store):
    """Backend, schema version and row counts."""
    info = store.status()
    click.echo(f"backend         {info['backend']}{'' if info['durable'] else ' (not durable)'}")
    click.echo(f"url             {info['url']}")
    pending = info["latest_schema_version"] - info["schema_version"]
    click.echo(f"schema version  {info['schema_version']}/{info['latest_schema_version']}"
               + (f" ({pending} migration(s) pending: run liapstore migrate)" if pending else ""))
    if info["schema_version"]:
        for table, count in info["rows"].items():
            click.echo(f"  {table:<20} {count:>10,}")


@main.command()
@click.option("--games", "-n", default=10, show_default=True, type=click.IntRange(0))
@click.option("--seed", default=0, show_default=True, help="Seed of the seat draws and the bots.")
@click.option("--winning-score", default=50, show_default=True, type=click.IntRange(1))
@click.option("--max-rounds", default=20, show_default=True, type=click.IntRange(1))
@store_command()
def simulate(store, games, seed, winning_score, max_rounds):
    """Play bot games through the store and report what was stored."""
    from .simulate import simulate as run
    with click.progressbar(length=games, label="playing", show_pos=True,
                           file=sys.stderr) as bar:
        summary = run(store, games, seed=seed, winning_score=winning_score,
                      max_rounds=max_rounds, on_game=lambda: bar.update(1))
    if summary.resumed:
        click.echo(f"resumed {summary.resumed} interrupted game(s) from the store")
    click.echo(f"games           {summary.games}")
    click.echo(f"rounds          {summary.rounds}")
    click.echo(f"actions stored  {summary.actions}")
    click.echo(f"throughput      {summary.actions_per_second:,.0f} actions/s, "
               f"{summary.games_per_second:,.2f} games/s ({summary.seconds:.2f} s)")
    click.echo("standings (all simulations in this store):")
    for rank, p in enumerate(summary.standings[:5], start=1):
        click.echo(f"  {rank}. {p.display_name:<8} won {p.games_won:>4} of {p.games_played:<4} "
                   f"total {p.total_score:>6}  best {p.highest_score}")


@main.command()
@click.option("--active", is_flag=True, help="Only games still running.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@store_command()
def games(store, active, limit):
    """List games, oldest first."""
    page = store.list_games(active=True if active else None, limit=limit)
    for g in page:
        state = "running" if not g.finished else ("over" if g.current_phase == "GAME_OVER" else "abandoned")
        click.echo(f"{g.id}  {g.started_at:%Y-%m-%d %H:%M}  {state:<9} round {g.current_round:<3} "
                   f"{g.current_phase:<12} {g.version} actions")
    if page.next_cursor:
        click.echo("… more games: raise --limit to see them")


@main.command()
@click.argument("game_id")
@store_command()
def show(store, game_id):
    """Show one game: settings, seats, rounds and result."""
    game, seats = store.get_game(game_id), store.get_seats(game_id)
    click.echo(f"game {game.id} in room {store.get_room(game.room_id).room_code}")
    click.echo(f"  phase {game.current_phase}, round {game.current_round}, version {game.version}, "
               f"to {game.winning_score} points or {game.max_rounds} rounds")
    for s in seats:
        p = store.get_player(s.player_id)
        click.echo(f"  seat {s.position}: {p.username:<16}{' (bot)' if s.is_bot else '':<7} "
                   f"score {s.score:>5}  declared {s.declared_piles}  captured {s.captured_piles}")
    for r in store.list_rounds(game.id):
        scores = r.round_data.get("scores")
        click.echo(f"  round {r.round_number:>2}: x{r.multiplier} "
                   + (f"scores {scores}" if scores else "in progress"))
    if game.final_scores:
        winner = store.get_player(game.winner_id).username if game.winner_id else "nobody (tie)"
        click.echo(f"  result: {winner} wins; totals {game.final_scores['totals']}")


@main.command()
@click.argument("game_id")
@store_command()
def replay(store, game_id):
    """Print a readable transcript of a stored game, re-derived by the rules."""
    from .game.replay import describe
    result = store.replay(game_id)
    for step in result.steps:
        for line in describe(step):
            click.echo(line)
    for problem in result.problems:
        click.echo(f"DISAGREEMENT {problem}", err=True)
    sys.exit(2 if result.problems else 0)


@main.command()
@click.argument("game_ids", nargs=-1)
@click.option("--all", "all_games", is_flag=True, help="Check every stored game.")
@store_command()
def verify(store, game_ids, all_games):
    """Check stored games against their logs; exit 2 on any disagreement."""
    if all_games:
        ids, after = [], None
        while True:
            page = store.list_games(limit=1000, after=after)
            ids += [g.id for g in page]
            if not (after := page.next_cursor):
                break
    elif game_ids:
        ids = list(game_ids)
    else:
        raise click.UsageError("name GAME_IDs or pass --all")
    bad = 0
    for game_id in ids:
        problems = store.verify_game(game_id)
        bad += bool(problems)
        for problem in problems:
            click.echo(f"{game_id}: {problem}")
    click.echo(f"checked {len(ids)} game(s): {len(ids) - bad} intact, {bad} with disagreements")
    sys.exit(2 if bad else 0)


@main.command()
@click.option("--by", type=click.Choice(["wins", "score"]), default="wins", show_default=True)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@store_command()
def leaderboard(store, by, limit):
    """Players with at least 10 games, best first."""
    store.refresh_leaderboard()
    for e in store.leaderboard(by=by, limit=limit):
        click.echo(f"{e.wins_rank if by == 'wins' else e.score_rank:>4}. {e.username:<20} "
                   f"won {e.games_won}/{e.games_played} ({e.win_rate:.0%})  best {e.highest_score}")


@main.command()
@store_command()
def maintain(store):
    """Periodic upkeep: partitions ahead, expired sessions, leaderboard refresh."""
    click.echo(json.dumps(store.maintain(), indent=2))


@main.group()
def achievements():
    """The achievement catalogue and its awards."""


@achievements.command("list")
@store_command()
def achievements_list(store):
    """Every achievement in the catalogue, with how many players hold it."""
    from .achievements import CATALOGUE
    click.echo(f"{'code':<22}{'title':<18}{'target':>7}{'holders':>9}  description")
    for a in CATALOGUE:
        holders, page = 0, store.achievement_holders(a.code, limit=1000)
        while True:
            holders += len(page)
            if not page.next_cursor:
                break
            page = store.achievement_holders(a.code, limit=1000, after=page.next_cursor)
        click.echo(f"{a.code:<22}{a.title:<18}{a.target:>7}{holders:>9}  {a.description}")


@achievements.command("backfill")
@store_command()
def achievements_backfill(store):
    """Award achievements earned by games recorded before they existed
    (idempotent: a second run awards nothing)."""
    done = store.backfill_achievements()
    click.echo(f"checked {done['players']} players, awarded {done['awarded']} achievements")
