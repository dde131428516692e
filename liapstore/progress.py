"""Players' progress: leaderboards, seasons, match history, statistics checks.

A mixin of Store. Each public method is implemented once, here, over a few
primitives (``_board_slice``, ``_board_better``, ``_history``, ...) whose
default versions below work on any backend through the table primitives
(the memory backend uses them); the SQL backends override them with single
statements served by indexes (``backends/sql_progress.py``).

Statistics per period and the rank counts are written by
``_progress_at_game_end``, in the transaction that ends the game, so a rank
is fresh the moment ``record_action`` returns. The ranking rules themselves
live in ``liapstore/ranking.py``. Analytics (lifecycle events, reports,
retention) are in ``liapstore/analytics.py``.
"""
from . import paging, ranking, validate as v
from .analytics import Analytics
from .errors import InvalidInput
from .records import LeaderboardEntry, Match, MatchSeat, Page, Season, StatsDrift, from_row
from .updates import Add

_BOARDS = tuple(ranking.BOARDS)
_COUNT_TABLES = (("leaderboard_values", ("period", "board", "bucket", "value")),
                 ("leaderboard_buckets", ("period", "board", "bucket")))


class Progress(Analytics):
    """Mixin of Store: leaderboards, seasons, match history, statistics checks."""

    # -- seasons ---------------------------------------------------------------------

    def create_season(self, name, starts_at, ends_at):
        """Create a named season: games ending in ``[starts_at, ends_at)`` count
        in its leaderboards (``season=name``). Games already finished in that
        window are counted at once. A used name raises Conflict."""
        name = v.text(name, "name", max_length=40)
        if not ranking.valid_season_name(name):
            raise InvalidInput(f"season name {name!r}: letters, digits, '_', '.', '-' (up to 40), "
                               "not 'all', 'week' or 'month'")
        starts_at, ends_at = v.moment(starts_at, "starts_at"), v.moment(ends_at, "ends_at")
        if ends_at <= starts_at:
            raise InvalidInput("a season must end after it starts")
        row = {"name": name, "starts_at": starts_at, "ends_at": ends_at, "created_at": v.now()}
        with self.transaction():
            # Exclusive against games ending meanwhile: each of them is then
            # either counted below or sees the season when it ends.
            self._lock_seasons(exclusive=True)
            self._insert("seasons", row)
            results = self._game_results(since=starts_at, until=ends_at)
            expected = ranking.expected_stats(results, [(name, starts_at, ends_at)])
            erased = self._erased_ids()
            rows = [s for (period, pid), s in expected.items()
                    if period == ranking.season_key(name) and pid not in erased]
            self._write_full_stats(rows)
            self._notify("stats_rewritten", [ranking.season_key(name)])
        return from_row(Season, row)

    def list_seasons(self):
        """Every named season, by start."""
        return [from_row(Season, r) for r in self._select("seasons", [], ("starts_at", "name"))]

    def _period(self, season):
        period = ranking.parse_period(v.text(season, "season", optional=True, max_length=60)
                                      if season is not None else None, v.now())
        if period is False:
            raise InvalidInput(f"season {season!r} names no week or month")
        if period is None:
            if season.startswith("season:"):
                season = season[len("season:"):]
            self._get("seasons", "name", season)
            period = ranking.season_key(season)
        return period

    # -- leaderboards ----------------------------------------------------------------

    def leaderboard(self, *, by="wins", limit=100, after=None, friends_of=None, season=None):
        """Ranked players (10 games or more in the period), best first (``Page``).

        ``by``: ``wins``, ``score`` (highest game score) or ``winrate``. Each
        entry carries its ``rank``, ties ranked as SQL ``RANK()`` ranks them.
        ``season``: None (all time), ``week`` or ``month`` (the current one),
        ``week:2026-W48``, ``month:2026-11``, or a named season. ``friends_of``
        restricts the board to a player and their friends, ranked among
        themselves. Fresh as soon as ``record_action`` returns.
        """
        by = v.one_of(by, "by", _BOARDS)
        limit, period = v.limit(limit), self._period(season)
        listing = f"leaderboard:{by}:{period}" + (f":friends:{friends_of}" if friends_of else "")
        start = self._board_cursor(by, paging.decode(after, listing))
        if friends_of is not None:
            rows, ranks = self._friends_board(period, by, v.uuid_(friends_of, "friends_of"))
            if start is not None:
                keep = [i for i, r in enumerate(rows) if ranking.order_key(by, r) >
                        (-start[0], start[1])]
                rows, ranks = [rows[i] for i in keep], [ranks[i] for i in keep]
            rows, ranks = rows[:limit + 1], ranks[:limit + 1]
        else:
            rows = self._board_slice(period, by, start, False, limit + 1)
            if start is None:
                ranks = ranking.assign_ranks(by, rows, 0, None)
            elif rows:
                better, equal = self._board_better(period, by, ranking.value(by, rows[0]))
                ranks = ranking.assign_ranks(by, rows, better, equal)
            else:
                ranks = []
        return self._board_page(rows, ranks, by, period, limit, listing)

    @classmethod
    def _board_page(cls, rows, ranks, by, period, limit, listing):
        """The Page of ``rows`` (up to ``limit + 1``, the extra one telling
        that more follow) with their ``ranks`` (also the Redis cache's)."""
        entries = [cls._entry(r, n, by, period) for r, n in zip(rows[:limit], ranks)]
        cursor = None
        if len(rows) > limit and entries:
            last = rows[limit - 1]
            cursor = paging.encode(listing, [float(ranking.value(by, last)).hex(), last["username"]])
        return Page(tuple(entries), cursor)

    def rank(self, player_id, *, by="wins", season=None):
        """One player's LeaderboardEntry, or None if they are not ranked
        (fewer than 10 games in the period)."""
        by, period = v.one_of(by, "by", _BOARDS), self._period(season)
        row = self._board_row(period, v.uuid_(player_id, "player_id"))
        if row is None or not ranking.ranked(row):
            return None
        better, _ = self._board_better(period, by, ranking.value(by, row))
        return self._entry(row, better + 1, by, period)

    def leaderboard_around(self, player_id, *, by="wins", radius=5, season=None):
        """The ``radius`` entries above a player, the player, and the
        ``radius`` below, in board order; [] if the player is not ranked."""
        by, period = v.one_of(by, "by", _BOARDS), self._period(season)
        radius = v.integer(radius, "radius", 0, 100)
        row = self._board_row(period, v.uuid_(player_id, "player_id"))
        if row is None or not ranking.ranked(row):
            return []
        start = (ranking.value(by, row), row["username"])
        above = self._board_slice(period, by, start, True, radius)[::-1] if radius else []
        below = self._board_slice(period, by, start, False, radius) if radius else []
        window = above + [row] + below
        better, equal = self._board_better(period, by, ranking.value(by, window[0]))
        ranks = ranking.assign_ranks(by, window, better, equal)
        return [self._entry(r, n, by, period) for r, n in zip(window, ranks)]

    def _board_cursor(self, by, key):
        if key is None:
            return None
        try:
            x = float.fromhex(key[0])
        except (TypeError, ValueError):
            raise InvalidInput("leaderboard cursor holds no value") from None
        if len(key) != 2 or not isinstance(key[1], str):
            raise InvalidInput("leaderboard cursor is malformed")
        return (x if by == "winrate" else int(x), key[1])

    def _friends_board(self, period, by, player_id):
        """A player's and their friends' board, ranked among themselves."""
        self._get("players", "id", player_id)
        ids = sorted({player_id, *self._friend_ids(player_id)}, key=str)
        rows = self._select("player_stats", [("period", "=", period), ("player_id", "in", ids),
                                             ("games_played", ">=", ranking.MIN_GAMES)], ())
        names = {p["id"]: p["display_name"]
                 for p in self._select("players", [("id", "in", [r["player_id"] for r in rows])], ())}
        rows = sorted(({**r, "display_name": names[r["player_id"]]} for r in rows),
                      key=lambda r: ranking.order_key(by, r))
        return rows, ranking.assign_ranks(by, rows, 0, None)

    @staticmethod
    def _entry(row, rank, by, period):
        return LeaderboardEntry(
            id=row["player_id"], username=row["username"], display_name=row["display_name"],
            rank=rank, by=by, season=period, games_played=row["games_played"],
            games_won=row["games_won"], total_score=row["total_score"],
            highest_score=row["highest_score"], win_rate=float(row["win_rate"]))

    # -- match history -----------------------------------------------------------------

    def match_history(self, *, player_id=None, room_id=None, limit=20, after=None):
        """Games that have ended, newest first (``Page`` of ``Match``), of a
        player, of a room, or of a player in a room: date, room, seats (players
        and bots), final scores, winner, rounds played and, for a player, their
        own result. One query per page, however many games."""
        if player_id is None and room_id is None:
            raise InvalidInput("match_history needs a player_id or a room_id")
        player_id = v.uuid_(player_id, "player_id", optional=True)
        room_id = v.uuid_(room_id, "room_id", optional=True)
        limit = v.limit(limit)
        listing = f"history:{player_id}:{room_id}"
        key = paging.decode(after, listing)
        if key is not None and len(key) != 2:
            raise InvalidInput(f"cursor {after!r} does not belong to this listing")
        games = self._history(player_id, room_id, key, limit + 1)
        matches = [self._match(g, player_id) for g in games[:limit]]
        cursor = None
        if len(games) > limit:
            cursor = paging.encode(listing, [games[limit - 1]["ended_at"], games[limit - 1]["id"]])
        return Page(tuple(matches), cursor)

    @staticmethod
    def _match(g, player_id):
        seats = tuple(MatchSeat(**s) for s in sorted(g["seats"], key=lambda s: s["position"]))
        final = g["final_scores"]
        totals = tuple(final["totals"]) if final else None
        mine = next((s for s in seats if s.player_id == player_id), None)
        result = None
        if mine is not None:
            result = ("abandoned" if final is None else "tie" if g["winner_id"] is None
                      else "won" if g["winner_id"] == player_id else "lost")
        return Match(game_id=g["id"], room_id=g["room_id"], room_code=g["room_code"],
                     started_at=g["started_at"], ended_at=g["ended_at"],
                     rounds_played=final["rounds"] if final else g["current_round"],
                     winner_id=g["winner_id"], final_scores=totals, seats=seats, result=result,
                     position=mine.position if mine else None)

    # -- statistics: checking and rebuilding ---------------------------------------------

    def verify_stats(self):
        """Recompute every player's statistics (all time and per period) and
        the rank counts from the stored games; return the disagreements
        (``StatsDrift``), empty when everything agrees."""
        expected, ranked, values, buckets = self._expected_progress()
        drift = []
        alltime = {pid: s for (period, pid), s in expected.items() if period == ranking.ALL_TIME}
        for p in self._select("players", [], ("id",)):
            want = alltime.get(p["id"]) or ranking.blank("all", p["id"], p["username"])
            for column in ("games_played", "games_won", "total_score", "highest_score"):
                if p[column] != want[column]:
                    drift.append(StatsDrift("players", (p["id"],), column, p[column], want[column]))
        stored = {(r["period"], r["player_id"]): r for r in self._select("player_stats", [], ())}
        for key in sorted(set(stored) | set(ranked), key=str):
            have, want = stored.get(key), ranked.get(key)
            for column in ranking.STAT_COLUMNS:
                a = have[column] if have else None
                b = want[column] if want else None
                if a != b:
                    drift.append(StatsDrift("player_stats", key, column, a, b))
        for (table, cols), want in zip(_COUNT_TABLES, (values, buckets)):
            have = {tuple(r[c] for c in cols): r["players"] for r in self._select(table, [], ())
                    if r["players"]}
            for key in sorted(set(have) | set(want), key=str):
                if have.get(key, 0) != want.get(key, 0):
                    drift.append(StatsDrift(table, key, "players", have.get(key, 0), want.get(key, 0)))
        return drift

    def rebuild_stats(self):
        """Rewrite every statistic and rank count from the stored games (the
        repair for what ``verify_stats`` reports); return the number of
        per-period statistics rows written."""
        with self._as_server(), self.transaction():
            self._lock_seasons(exclusive=True)
            expected, ranked, _, _ = self._expected_progress()
            for table in ("leaderboard_buckets", "leaderboard_values", "player_stats"):
                self._delete(table, [])
            alltime = {pid: s for (period, pid), s in expected.items() if period == ranking.ALL_TIME}
            for p in self._select("players", [], ("id",)):
                want = alltime.get(p["id"]) or ranking.blank("all", p["id"], p["username"])
                changes = {c: want[c] for c in ("games_played", "games_won", "total_score",
                                                "highest_score") if p[c] != want[c]}
                if changes:
                    self._update("players", [("id", "=", p["id"])], changes)
            self._write_full_stats(list(ranked.values()))
            self._notify("stats_rewritten", None)
        return len(ranked)

    def _expected_progress(self):
        seasons = [(s["name"], s["starts_at"], s["ends_at"]) for s in self._select("seasons", [], ())]
        expected = ranking.expected_stats(self._game_results(), seasons)
        names = {p["id"]: p["username"] for p in self._select(
            "players", [("id", "in", list({pid for _, pid in expected}))], ())}
        for stats in expected.values():
            stats["username"] = names[stats["player_id"]]
        # Erased players keep their all-time counters (facts about the stored
        # games) but are on no board: no per-period rows, no rank counts.
        erased = self._erased_ids()
        ranked = {k: s for k, s in expected.items() if k[1] not in erased}
        values, buckets = ranking.counts_of(list(ranked.values()))
        return expected, ranked, values, buckets

    def _write_full_stats(self, rows):
        """Insert complete statistics rows (usernames filled in here) and add their counts."""
        if not rows:
            return
        names = {p["id"]: p["username"] for p in self._select(
            "players", [("id", "in", list({r["player_id"] for r in rows}))], ())}
        rows = [{**r, "username": names[r["player_id"]]} for r in rows]
        self._upsert("player_stats", rows, ("period", "player_id"))
        self._add_counts(*ranking.counts_of(rows))

    def _add_counts(self, values, buckets):
        for (table, cols), deltas in zip(_COUNT_TABLES, (values, buckets)):
            if deltas:
                rows = [{**dict(zip(cols, k)), "players": n} for k, n in sorted(deltas.items())]
                self._upsert(table, rows, cols, add=("players",))

    # -- written when a game ends ------------------------------------------------------

    def _progress_at_game_end(self, step):
        """The players' statistics per period and the rank counts, inside the
        transaction that ends the game. The players' rows were updated just
        before (in id order), which on PostgreSQL holds their row locks: two
        games ending at once for one player are serialised there, so the
        statistics read here cannot be stale."""
        ended = step.game_changes["ended_at"]
        results = {pid: (c["games_won"].n == 1, c["total_score"].n) for pid, c in step.player_stats}
        ids = list(results)
        self._lock_seasons(exclusive=False)
        seasons = self._select("seasons", [("starts_at", "<=", ended), ("ends_at", ">", ended)],
                               ("name",))
        periods = ranking.periods_at(ended, [s["name"] for s in seasons])
        old = {(r["period"], r["player_id"]): r for r in self._select(
            "player_stats", [("period", "in", periods), ("player_id", "in", ids)], ())}
        names = {}
        if len(old) < len(periods) * len(ids):
            names = {p["id"]: p["username"] for p in self._select("players", [("id", "in", ids)], ())}
        new = [ranking.add_game(old.get((period, pid)) or ranking.blank(period, pid, names[pid]),
                                *results[pid])
               for period in periods for pid in ids]
        self._upsert("player_stats", new, ("period", "player_id"))
        self._add_counts(*ranking.count_deltas(list(old.values()), new))
        self._notify("stats_written", new)

    # -- primitives: generic versions over the table primitives ----------------------------
    # The SQL backends override each with one statement (backends/sql_progress.py).

    def _lock_seasons(self, exclusive):
        """Order season creation against games ending (PostgreSQL: an advisory lock)."""

    def _upsert(self, table, rows, key, add=()):
        """Insert ``rows``; a row whose ``key`` exists updates it instead, adding
        the columns in ``add`` to the stored values and replacing the rest."""
        for row in rows:
            where = [(c, "=", row[c]) for c in key]
            changes = {c: (Add(row[c]) if c in add else row[c]) for c in row if c not in key}
            if not self._update(table, where, changes):
                self._insert(table, row)

    def _board_row(self, period, player_id):
        """The player's statistics in the period with their display_name, or None."""
        rows = self._select("player_stats", [("period", "=", period), ("player_id", "=", player_id)],
                            (), limit=1)
        if not rows:
            return None
        return {**rows[0], "display_name": self._get("players", "id", player_id)["display_name"]}

    def _board_slice(self, period, by, start, backward, limit):
        """Up to ``limit`` ranked rows (stats + display_name) in board order
        after ``start`` (value, username), or before it nearest first when
        ``backward``; from the top when ``start`` is None."""
        rows = sorted(self._select("player_stats", [("period", "=", period),
                                                    ("games_played", ">=", ranking.MIN_GAMES)], ()),
                      key=lambda r: ranking.order_key(by, r))
        if start is not None:
            mark = (-start[0], start[1])
            rows = ([r for r in rows if ranking.order_key(by, r) < mark][::-1] if backward
                    else [r for r in rows if ranking.order_key(by, r) > mark])
        rows = rows[:limit]
        names = {p["id"]: p["display_name"] for p in self._select(
            "players", [("id", "in", [r["player_id"] for r in rows])], ())}
        return [{**r, "display_name": names[r["player_id"]]} for r in rows]

    def _board_better(self, period, by, x):
        """(ranked players with a better value than ``x``, players with ``x``),
        from the bucket and value counts."""
        b = ranking.bucket(by, x)
        better = sum(r["players"] for r in self._select(
            "leaderboard_buckets", [("period", "=", period), ("board", "=", by), ("bucket", ">", b)], ()))
        same = self._select("leaderboard_values", [("period", "=", period), ("board", "=", by),
                                                   ("bucket", "=", b)], ())
        better += sum(r["players"] for r in same if r["value"] > x)
        return better, sum(r["players"] for r in same if r["value"] == x)

    def _history(self, player_id, room_id, before, limit):
        """Ended games newest first, each a dict of its columns plus room_code
        and seats (list of MatchSeat fields), strictly older than ``before``
        (ended_at, id) when given."""
        where = [("ended_at", "!=", None)]
        if room_id is not None:
            where.append(("room_id", "=", room_id))
        if player_id is not None:
            games = self._select_seated(player_id, where, (), None, None)
        else:
            games = self._select("games", where, ())
        games.sort(key=lambda g: (g["ended_at"], g["id"]), reverse=True)
        if before is not None:
            games = [g for g in games if (g["ended_at"], g["id"]) < tuple(before)]
        games = games[:limit]
        seats = self._select("game_players", [("game_id", "in", [g["id"] for g in games])], ())
        players = {p["id"]: p for p in self._select(
            "players", [("id", "in", list({s["player_id"] for s in seats}))], ())}
        rooms = {r["id"]: r["room_code"] for r in self._select(
            "rooms", [("id", "in", list({g["room_id"] for g in games}))], ())}
        for g in games:
            g["room_code"] = rooms[g["room_id"]]
            g["seats"] = [{"position": s["position"], "player_id": s["player_id"],
                           "username": players[s["player_id"]]["username"],
                           "display_name": players[s["player_id"]]["display_name"],
                           "is_bot": s["is_bot"], "score": s["score"]}
                          for s in seats if s["game_id"] == g["id"]]
        return games

    def _select_seated(self, player_id, where, order_by, after=None, limit=None):
        """Rows of ``games`` matching ``where`` in which ``player_id`` has a seat."""
        seats = self._select("game_players", [("player_id", "=", player_id)], ())
        return self._select("games", where + [("id", "in", [s["game_id"] for s in seats])],
                            order_by, after=after, limit=limit)

    def _game_results(self, since=None, until=None):
        """Finished games (with a result) as (ended_at, winner_id, [(player_id,
        final total)]), optionally those ending in [since, until)."""
        where = [("ended_at", "!=", None), ("final_scores", "!=", None)]
        if since is not None:
            where += [("ended_at", ">=", since), ("ended_at", "<", until)]
        games = {g["id"]: g for g in self._select("games", where, ())}
        seats = {}
        for s in self._select("game_players", [("game_id", "in", list(games))], ()):
            seats.setdefault(s["game_id"], []).append(s)
        return [(g["ended_at"], g["winner_id"],
                 [(s["player_id"], g["final_scores"]["totals"][s["position"]])
                  for s in seats.get(g["id"], ())])
                for g in games.values()]
