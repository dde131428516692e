"""The ranking rules, in one place, as pure functions (no I/O, no store).

Every backend ranks with these rules (memory in Python, SQLite and PostgreSQL
in SQL built from the same names), and so will the Redis sorted sets of a
later issue; a rule changed here changes it everywhere.

- A board ranks one statistic, best first: ``wins`` (games won), ``score``
  (highest final score of a game) or ``winrate`` (games won / games played).
- Only players with at least ``MIN_GAMES`` games in the period are ranked.
- A player's rank is 1 + the number of ranked players with a strictly better
  value: ties share a rank and the next rank skips, as SQL ``RANK()`` does.
  Within a tie, entries are listed by username (code-point order).
- A period is all time (``all``), an ISO week (``week:2026-W48``), a calendar
  month (``month:2026-11``), both in UTC, or a named season
  (``season:NAME``) with a start (inclusive) and an end (exclusive). A game
  counts in every period its end falls in, so a new week or month starts on
  schedule without any job running at the boundary.

Ranks are served from per-value counts: for each (period, board, value) how
many ranked players hold it, and the same per bucket of values. A player's
rank is then 1 + the players in better buckets + the players with better
values in their own bucket: two small index range sums, whatever the number
of players.
"""
import math
import re
from datetime import datetime, timezone

UTC = timezone.utc

MIN_GAMES = 10

#: board -> the statistics column it ranks.
BOARDS = {"wins": "games_won", "score": "highest_score", "winrate": "win_rate"}

#: The statistics kept per player and period.
STAT_COLUMNS = ("games_played", "games_won", "total_score", "highest_score", "win_rate")

ALL_TIME = "all"
_WEEK = re.compile(r"^week:(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^month:(\d{4})-(\d{2})$")
#: A named season's name: what a person would type, never mistaken for a period key.
SEASON_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_RESERVED = {"all", "week", "month"}


def column(board):
    return BOARDS[board]


def win_rate(won, played):
    """Games won / games played as a float (0.0 before any game). The same
    IEEE division on every backend, so equal ratios are equal values."""
    return won / played if played else 0.0


def value(board, stats):
    """The value ``stats`` (a dict of STAT_COLUMNS) has on ``board``."""
    return stats[BOARDS[board]]


def bucket(board, x):
    """The bucket of value ``x``: 1/1024 of a win rate, 64 wins or points.
    Buckets keep both range sums short however many distinct values exist."""
    if board == "winrate":
        return math.floor(x * 1024)
    return int(x) // 64


def ranked(stats):
    return stats["games_played"] >= MIN_GAMES


def order_key(board, stats):
    """Sort key listing a board best first (ties by username)."""
    return (-value(board, stats), stats["username"])


def blank(period, player_id, username):
    """A period's statistics before the player's first game in it."""
    return {"period": period, "player_id": player_id, "username": username, "games_played": 0,
            "games_won": 0, "total_score": 0, "highest_score": 0, "win_rate": 0.0}


def add_game(stats, won, score):
    """The statistics after one more game (``score``: the player's final total).
    highest_score starts at 0, as the players table's column does."""
    played, wins = stats["games_played"] + 1, stats["games_won"] + int(bool(won))
    return {**stats, "games_played": played, "games_won": wins,
            "total_score": stats["total_score"] + score,
            "highest_score": max(stats["highest_score"], score),
            "win_rate": win_rate(wins, played)}


# -- periods ---------------------------------------------------------------------

def week_key(moment):
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"week:{year}-W{week:02d}"


def month_key(moment):
    moment = moment.astimezone(UTC)
    return f"month:{moment.year}-{moment.month:02d}"


def season_key(name):
    return f"season:{name}"


def periods_at(moment, season_names=()):
    """Every period a game ending at ``moment`` counts in."""
    return [ALL_TIME, week_key(moment), month_key(moment)] + [season_key(n) for n in season_names]


def parse_period(season, now):
    """The period key ``season`` names, or None if it names a named season
    (which the caller looks up). ``week``/``month`` mean the current one."""
    if season is None or season == ALL_TIME:
        return ALL_TIME
    if season == "week":
        return week_key(now)
    if season == "month":
        return month_key(now)
    for pattern in (_WEEK, _MONTH):
        m = pattern.match(season)
        if m:
            return season if _valid(pattern, m) else False
    return None


def _valid(pattern, m):
    year, n = int(m.group(1)), int(m.group(2))
    if pattern is _MONTH:
        return 1 <= n <= 12
    try:
        datetime.fromisocalendar(year, n, 1)
        return True
    except ValueError:
        return False


def valid_season_name(name):
    return bool(SEASON_NAME.match(name)) and name.lower() not in _RESERVED


# -- counts ------------------------------------------------------------------------

def count_keys(stats):
    """The (value key, bucket key) this row is counted under, per board; none
    for a player below the minimum."""
    if not ranked(stats):
        return []
    out = []
    for board in BOARDS:
        x = value(board, stats)
        b = bucket(board, x)
        out.append(((stats["period"], board, b, float(x)), (stats["period"], board, b)))
    return out


def count_deltas(before, after):
    """Net changes to the value and bucket counts when rows ``before`` become
    ``after`` (lists of stats dicts): two dicts key -> +/-n, zeros dropped."""
    values, buckets = {}, {}
    for rows, sign in ((before, -1), (after, 1)):
        for stats in rows:
            for vkey, bkey in count_keys(stats):
                values[vkey] = values.get(vkey, 0) + sign
                buckets[bkey] = buckets.get(bkey, 0) + sign
    return ({k: n for k, n in values.items() if n}, {k: n for k, n in buckets.items() if n})


def counts_of(all_stats):
    """The full value and bucket counts of a set of stats rows (for verify/rebuild)."""
    return count_deltas([], all_stats)


def expected_stats(results, seasons):
    """Recompute every period's statistics from finished games.

    ``results``: iterable of (ended_at, winner_id, [(player_id, final_total)]),
    in any order; ``seasons``: [(name, starts_at, ends_at)]; ``usernames``
    are filled in by the caller. Returns {(period, player_id): stats}.
    """
    out = {}
    for ended_at, winner_id, seats in sorted(results, key=lambda r: r[0]):
        names = [n for n, start, end in seasons if start <= ended_at < end]
        for period in periods_at(ended_at, names):
            for player_id, total in seats:
                key = (period, player_id)
                out[key] = add_game(out.get(key) or blank(period, player_id, None),
                                    player_id == winner_id, total)
    return out


def assign_ranks(board, entries, better_first, first_total):
    """Ranks for ``entries``, a contiguous run of one board's listing.

    ``better_first``: how many ranked players are strictly better than the
    first entry; ``first_total``: how many hold the first entry's value (None
    when the run starts at the top of the board, where it is not needed).
    Every later value's tie group lies wholly inside the run, so the rest
    follows from the run itself. Returns the ranks, in order.
    """
    ranks, better, prev, seen, first_group = [], better_first, None, 0, True
    for i, stats in enumerate(entries):
        x = value(board, stats)
        if i and x != prev:
            better += first_total if first_group and first_total is not None else seen
            seen, first_group = 0, False
        ranks.append(better + 1)
        prev, seen = x, seen + 1
    return ranks
