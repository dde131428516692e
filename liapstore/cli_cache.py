"""``liapstore cache warm | stats | clear``: the optional Redis cache, for operators.

Every subcommand takes ``--cache`` (default: $LIAPSTORE_CACHE_URL), the same
URL ``connect(url, cache=...)`` takes, with the deployment's ``prefix`` in
its query string; only keys under that prefix are read or removed.
"""
import functools
from datetime import datetime, timezone

import click

from . import connect, ranking
from .cli import main, table, url_option
from .errors import LiapstoreError
from .urls import redact

cache_option = click.option(
    "--cache", "cache_url", envvar="LIAPSTORE_CACHE_URL", required=True, metavar="URL",
    help="Redis URL of the cache (redis://host:6379/0?prefix=...); default $LIAPSTORE_CACHE_URL.")


def _config(cache_url):
    from .cache.config import parse
    return parse(cache_url)


def _client(config):
    import redis
    return redis.Redis.from_url(config.redis_url, socket_timeout=5, socket_connect_timeout=5)


def redis_command(fn):
    """Give the command a Redis client and the prefix; Redis and liapstore
    errors become a one-line message (URL redacted) and exit status 1."""
    @cache_option
    @functools.wraps(fn)
    def wrapper(cache_url, **kwargs):
        import redis
        try:
            config = _config(cache_url)
            client = _client(config)
            try:
                return fn(client, config, cache_url=cache_url, **kwargs)
            finally:
                client.close()
        except LiapstoreError as e:
            raise click.ClickException(f"{type(e).__name__}: {e}") from None
        except redis.RedisError as e:
            raise click.ClickException(
                f"Redis at {redact(cache_url)}: {redact(str(e), cache_url)}") from None
    return wrapper


@main.group()
def cache():
    """The optional Redis cache: warm it, show its hit ratios, clear it."""


@cache.command()
@url_option
@redis_command
def warm(client, config, cache_url, url):
    """Load active games, public rooms and the current leaderboards into the cache."""
    with connect(url, cache=cache_url) as store:
        done = warm_store(store)
    click.echo(f"warmed {done['games']} active game(s), {done['rooms']} public room page(s), "
               f"{done['boards']} leaderboard period(s) ({done['ranked']} ranked entries)")


def warm_store(store):
    """What ``cache warm`` does, on a cached store: read each active game and
    the public room list through it (which keeps them in the cache), and
    build the leaderboards of all time, this week, this month and every
    season running now. Returns counts."""
    done = {"games": 0, "rooms": 0, "boards": 0, "ranked": 0}
    after = None
    while True:
        page = store.list_games(active=True, limit=1000, after=after)
        for game in page:
            store.load_game(game.id)
            done["games"] += 1
        if not (after := page.next_cursor):
            break
    after = None
    while True:
        page = store.list_rooms(is_public=True, status="waiting", limit=100, after=after)
        done["rooms"] += 1
        if not (after := page.next_cursor):
            break
    now = datetime.now(timezone.utc)
    periods = ranking.periods_at(now, [s.name for s in store.list_seasons()
                                       if s.starts_at <= now < s.ends_at])
    for period in periods:
        ranked = store._cache_boards.build(period)
        if ranked is not None:
            done["boards"] += 1
            done["ranked"] += ranked
    return done


@cache.command()
@redis_command
def stats(client, config, cache_url):
    """Hits, misses, errors and hit ratio per key family, summed over every
    process using this cache (each adds its counts to a Redis hash about once
    a second: liapstore/cache/stats.py)."""
    from .cache import FAMILIES, stats as cache_stats
    counts = cache_stats.from_hash(client.hgetall(f"{config.prefix}stats"), FAMILIES)
    rows = [[family, c["hits"], c["misses"], c["errors"], c["bypassed"],
             "-" if c["hit_ratio"] is None else f"{c['hit_ratio']:.1%}"]
            for family, c in sorted(counts.items()) if c["hit_ratio"] is not None]
    if not rows:
        click.echo(f"no counts yet under prefix {config.prefix!r}")
        return
    table(["family", "hits", "misses", "errors", "bypassed", "hit ratio"], rows)
    click.echo("hits: near cache + Redis; bypassed: read from the database while the cache "
               "was not serving")


@cache.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@redis_command
def clear(client, config, cache_url, yes):
    """Remove every key under this deployment's prefix (SCAN + UNLINK; other
    prefixes and databases are left alone). The cache refills as it is used."""
    if not yes:
        click.confirm(f"remove every key under {config.prefix!r} at {redact(cache_url)}?",
                      abort=True)
    click.echo(f"removed {clear_prefix(client, config.prefix)} key(s) under {config.prefix!r}")


def clear_prefix(client, prefix):
    """UNLINK every key starting with ``prefix`` (glob characters in it are
    matched literally); return how many were removed."""
    pattern = "".join("\\" + c if c in "*?[]\\" else c for c in prefix) + "*"
    removed, batch = 0, []
    for key in client.scan_iter(match=pattern, count=1000):
        batch.append(key)
        if len(batch) == 500:
            removed += client.unlink(*batch)
            batch = []
    if batch:
        removed += client.unlink(*batch)
    return removed
