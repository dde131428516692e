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
@click.option("--grant-to", metavar="ROLE", help="PostgreSQL: then grant this existing role "
              "what the application needs (and no more); see the README's Security section.")
@store_command(migrate=False)
def migrate(store, grant_to):
    """Create or upgrade the schema (idempotent)."""
    applied = store.migrate()
    version, latest = store.schema_version()
    click.echo(f"applied {', '.join(applied)}" if applied else "schema already up to date")
    click.echo(f"schema version {version}/{latest} on {urls.redact(store.url)}")
    if grant_to is not None:
        store.grant_to(grant_to)
        click.echo(f"granted role {grant_to} what the application needs")


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
@click.option("--stats", is_flag=True,
              help="Recompute every player's statistics and rank counts from the games.")
@store_command()
def verify(store, game_ids, all_games, stats):
    """Check stored games against their logs (and, with --stats, the players'
    statistics against the games); exit 2 on any disagreement."""
    if stats and not (all_games or game_ids):
        drift = store.verify_stats()
        for d in drift:
            click.echo(str(d))
        click.echo(f"statistics: {len(drift)} disagreement(s) with the stored games")
        sys.exit(2 if drift else 0)
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
        raise click.UsageError("name GAME_IDs, or pass --all or --stats")
    bad = 0
    for game_id in ids:
        problems = store.verify_game(game_id)
        bad += bool(problems)
        for problem in problems:
            click.echo(f"{game_id}: {problem}")
    click.echo(f"checked {len(ids)} game(s): {len(ids) - bad} intact, {bad} with disagreements")
    drift = store.verify_stats() if stats else []
    for d in drift:
        click.echo(str(d))
    if stats:
        click.echo(f"statistics: {len(drift)} disagreement(s) with the stored games")
    sys.exit(2 if bad or drift else 0)


def table(headers, rows):
    """Print rows as left-aligned columns (numbers right-aligned) under headers."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    numeric = [all(r[i].lstrip("-").replace(".", "", 1).replace("%", "").isdigit() for r in rows)
               and bool(rows) for i in range(len(headers))]
    def line(cells):
        return "  ".join(c.rjust(w) if n else c.ljust(w)
                         for c, w, n in zip(cells, widths, numeric)).rstrip()
    click.echo(line(headers))
    click.echo(line(["-" * w for w in widths]))
    for r in rows:
        click.echo(line(r))


def _player(store, name):
    return store.get_player_by_username(name)


@main.command()
@click.option("--by", type=click.Choice(["wins", "score", "winrate"]), default="wins",
              show_default=True)
@click.option("--friends-of", metavar="NAME", help="Only this player and their friends.")
@click.option("--around", metavar="NAME", help="The window around this player.")
@click.option("--season", metavar="S",
              help="week, month, week:2026-W48, month:2026-11 or a named season (default: all time).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@store_command()
def leaderboard(store, by, friends_of, around, season, limit):
    """Ranked players (10 games or more), best first; live, no refresh needed."""
    if around and friends_of:
        raise click.UsageError("--around and --friends-of do not combine")
    if around:
        entries = store.leaderboard_around(_player(store, around).id, by=by, radius=limit // 2,
                                           season=season)
        if not entries:
            click.echo(f"{around} is not ranked (fewer than 10 games in this period)")
            return
    else:
        entries = list(store.leaderboard(
            by=by, limit=limit, season=season,
            friends_of=_player(store, friends_of).id if friends_of else None))
    marked = around or friends_of
    table(["rank", "player", "games", "won", "win rate", "best", "total"],
          [[e.rank, e.username + (" <" if e.username == marked else ""), e.games_played,
            e.games_won, f"{e.win_rate:.1%}", e.highest_score, e.total_score] for e in entries])
    if not entries:
        click.echo("nobody is ranked yet (10 games needed)")


@main.command()
@click.argument("name")
@click.option("--games", "recent", default=10, show_default=True, type=click.IntRange(1, 100),
              help="How many recent games to show.")
@store_command()
def player(store, name, recent):
    """A player's page: statistics, ranks, recent games, achievements, friends."""
    p = _player(store, name)
    click.echo(f"{p.display_name} ({p.username}), playing since {p.created_at:%Y-%m-%d}")
    rate = f"{p.games_won / p.games_played:.1%}" if p.games_played else "-"
    click.echo(f"games {p.games_played}, won {p.games_won} ({rate}), total score {p.total_score}, "
               f"best game {p.highest_score}")
    ranks = []
    for season, label in ((None, "all time"), ("month", "this month"), ("week", "this week")):
        row = [label]
        for by in ("wins", "score", "winrate"):
            e = store.rank(p.id, by=by, season=season)
            row.append(f"#{e.rank}" if e else "-")
        ranks.append(row)
    click.echo("")
    table(["ranks", "wins", "score", "win rate"], ranks)
    click.echo("")
    history = store.match_history(player_id=p.id, limit=recent)
    table(["ended", "room", "result", "score", "rounds", "seats"],
          [[f"{m.ended_at:%Y-%m-%d %H:%M}", m.room_code, m.result,
            "-" if m.final_scores is None else m.final_scores[m.position], m.rounds_played,
            ", ".join(s.username + (" (bot)" if s.is_bot else "") for s in m.seats)]
           for m in history])
    awards = store.list_achievements(p.id)
    click.echo("\nachievements: " + (", ".join(
        f"{a.achievement} ({a.awarded_at:%Y-%m-%d})" for a in awards) or "none yet"))
    friends = store.list_friends(p.id)
    click.echo("friends: " + (", ".join(f.username for f in friends) or "none yet"))


@main.command()
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First day (UTC), inclusive.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last day (UTC), exclusive.")
@store_command()
def analytics(store, since, until):
    """Events per type per day, games per day and their average length."""
    since = since.date() if since else None
    until = until.date() if until else None
    counts = store.event_counts(since=since, until=until)
    kinds = sorted({c.event_type for c in counts})
    days = sorted({c.day for c in counts})
    by = {(c.day, c.event_type): c.count for c in counts}
    table(["day"] + kinds, [[d.isoformat()] + [by.get((d, k), 0) for k in kinds] for d in days])
    click.echo("")
    games = store.games_per_day(since=since, until=until)
    table(["day", "games", "avg length", "avg rounds"],
          [[g.day.isoformat(), g.games, _duration(g.average_seconds), f"{g.average_rounds:.1f}"]
           for g in games])
    if not games:
        click.echo("no finished games in this window")


def _duration(seconds):
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s"


@main.command()
@click.option("--retain-months", type=click.IntRange(1), metavar="N",
              help="Drop analytics events older than the current month and the N before it.")
@store_command()
def maintain(store, retain_months):
    """Periodic upkeep: partitions ahead, expired sessions, leaderboard view refresh,
    analytics retention."""
    click.echo(json.dumps(store.maintain(retain_months=retain_months), indent=2))


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

from . import cli_ops  # noqa: E402,F401 - copy, backup, restore
from . import cli_keys  # noqa: E402,F401 - registers the keys and sessions commands
from . import cli_security  # noqa: E402,F401  (registers: audit)
from . import cli_archive, cli_player  # noqa: E402,F401  (their commands register on main)
from . import cli_cache  # noqa: E402,F401  (registers `liapstore cache`)
