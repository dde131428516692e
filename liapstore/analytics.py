"""Analytics: the games' lifecycle events, reports over them, retention.

A mixin of Store (through ``progress.Progress``). The lifecycle events
(``game_started``, ``redeal``, ``round_scored``, ``game_finished``) are
written by the recording path itself, in the transaction of the action they
describe, so an event exists exactly when what it describes was committed.
Reports group by UTC day. The generic primitives below serve the memory
backend; the SQL backends answer each report with one GROUP BY statement.
"""
from datetime import date, datetime, time, timedelta, timezone

from . import paging, validate as v
from .errors import InvalidInput
from .records import AnalyticsEvent, EventCount, GameDay, from_row

UTC = timezone.utc
LIFECYCLE = ("game_started", "redeal", "round_scored", "game_finished")
_DEFAULT_WINDOW = timedelta(days=30)


class Analytics:
    """Mixin of Store: lifecycle events, analytics reports and retention."""

    # -- written by the recording path ------------------------------------------------

    def _game_started_event(self, game_row, players, bots):
        self._event("game_started", game_row["id"], game_row["room_id"], game_row["started_at"],
                    {"players": [str(p) for p in players], "bots": sorted(bots),
                     "winning_score": game_row["winning_score"],
                     "max_rounds": game_row["max_rounds"]})

    #: Whether the backend's ``_write_step_rows`` writes a step's lifecycle
    #: event itself when there is just one (PostgreSQL folds it into its one
    #: statement per action, keeping a round's end at two round trips). Two
    #: or more (a game's end) are inserted by ``_after_step_rows`` one after
    #: the other, since the inserts of one statement take their ids in no
    #: set order.
    step_writes_events = False

    def _lifecycle_events(self, step):
        """Insert the events one recorded action settles (none for most actions)."""
        rows = lifecycle_event_rows(step)
        if not (self.step_writes_events and len(rows) == 1):
            for row in rows:
                self._insert("analytics_events", row)

    def _event(self, kind, game_id, room_id, at, data):
        self._insert("analytics_events", _event_row(kind, game_id, room_id, at, data))

    # -- reports ------------------------------------------------------------------------

    def event_counts(self, *, since=None, until=None):
        """Events per type per UTC day in [since, until) (default: the last
        30 days through today), as EventCounts ordered by day and type."""
        since, until = _window(since, until)
        return [EventCount(date.fromisoformat(day), kind, n)
                for day, kind, n in self._event_counts(since, until)]

    def games_per_day(self, *, since=None, until=None):
        """Games finished (with a result) per UTC day in [since, until), with
        their average length in seconds and in rounds (``GameDay``s by day)."""
        since, until = _window(since, until)
        return [GameDay(date.fromisoformat(day), n, round(float(secs), 1), round(float(rounds), 2))
                for day, n, secs, rounds in self._games_per_day(since, until)]

    def player_events(self, player_id, *, since=None, until=None, limit=100, after=None):
        """A player's events in time order (``Page``): those naming the player
        and the lifecycle events of every game they sat in."""
        player_id = v.uuid_(player_id, "player_id")
        where = []
        if since is not None:
            where.append(("timestamp", ">=", _moment(since, "since")))
        if until is not None:
            where.append(("timestamp", "<", _moment(until, "until")))
        limit, listing = v.limit(limit), f"player_events:{player_id}"
        key = paging.decode(after, listing)
        if key is not None and len(key) != 2:
            raise InvalidInput(f"cursor {after!r} does not belong to this listing")
        rows = self._player_events(player_id, where, key, limit + 1)
        return paging.page(rows, listing, ("timestamp", "id"), limit,
                           lambda r: from_row(AnalyticsEvent, r))

    def _retain_events(self, months):
        """Keep the analytics events of the current month and the ``months``
        before it; drop older ones (whole monthly partitions on PostgreSQL)."""
        months = v.integer(months, "retain_months", 1, 1200)
        today = v.now()
        index = today.year * 12 + today.month - 1 - months
        cutoff = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
        return {"cutoff": cutoff.isoformat(), **self._drop_events_before(cutoff)}

    # -- primitives: generic versions (SQL overrides them) ----------------------------------

    def _event_counts(self, since, until):
        counts = {}
        for e in self._select("analytics_events", [("timestamp", ">=", since),
                                                   ("timestamp", "<", until)], ()):
            key = (e["timestamp"].date().isoformat(), e["event_type"])
            counts[key] = counts.get(key, 0) + 1
        return [(*k, n) for k, n in sorted(counts.items())]

    def _games_per_day(self, since, until):
        days = {}
        for g in self._select("games", [("ended_at", ">=", since), ("ended_at", "<", until),
                                        ("final_scores", "!=", None)], ()):
            day = days.setdefault(g["ended_at"].date().isoformat(), [])
            day.append(((g["ended_at"] - g["started_at"]).total_seconds(), g["current_round"]))
        return [(d, len(xs), sum(s for s, _ in xs) / len(xs), sum(r for _, r in xs) / len(xs))
                for d, xs in sorted(days.items())]

    def _player_events(self, player_id, where, after, limit):
        games = [s["game_id"] for s in self._select("game_players", [("player_id", "=", player_id)], ())]
        mine = self._select("analytics_events", where + [("player_id", "=", player_id)], ())
        theirs = self._select("analytics_events", where + [("game_id", "in", games)], ())
        rows = {r["id"]: r for r in mine + theirs}
        ordered = sorted(rows.values(), key=lambda r: (r["timestamp"], r["id"]))
        if after is not None:
            ordered = [r for r in ordered if (r["timestamp"], r["id"]) > tuple(after)]
        return ordered[:limit]

    def _drop_events_before(self, cutoff):
        return {"partitions_dropped": 0,
                "events_deleted": self._delete("analytics_events", [("timestamp", "<", cutoff)])}


def _moment(value, name):
    """A date (midnight UTC) or an aware datetime."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(0), tzinfo=UTC)
    return v.moment(value, name)


def _window(since, until):
    until = _moment(until, "until") if until is not None else \
        datetime.combine(v.now().date() + timedelta(days=1), time(0), tzinfo=UTC)
    since = _moment(since, "since") if since is not None else until - _DEFAULT_WINDOW
    if since >= until:
        raise InvalidInput("since must come before until")
    return since, until


def lifecycle_event_rows(step):
    """The analytics_events rows one recorded action settles, from its Step
    alone (no I/O): a redeal, a round's scores, the game's end."""
    rows = []
    at = step.action_row["timestamp"]
    changes = step.round_update[1] if step.round_update else {}
    if changes.get("had_redeal") and "round_data" not in changes:
        rows.append(_event_row("redeal", step.game_id, None, at,
                               {"round": step.game_changes["current_round"],
                                "multiplier": changes["multiplier"]}))
    if "round_data" in changes:
        rows.append(_event_row("round_scored", step.game_id, None, at, changes["round_data"]))
    if step.game_changes.get("ended_at") is not None:
        final = step.game_changes["final_scores"]
        winner = step.game_changes["winner_id"]
        rows.append(_event_row("game_finished", step.game_id,
                               step.room_changes[0] if step.room_changes else None, at,
                               {"winner_id": None if winner is None else str(winner),
                                "totals": final["totals"], "rounds": final["rounds"]}))
    return rows


def _event_row(kind, game_id, room_id, at, data):
    return {"event_type": kind, "player_id": None, "game_id": game_id, "room_id": room_id,
            "event_data": data, "timestamp": at}
