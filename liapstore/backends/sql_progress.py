"""The progress primitives as single SQL statements (SQLite and PostgreSQL).

A mixin of SqlStore, overriding the generic primitives of ``progress.py`` and
``analytics.py``: each answers with one statement served by an index of
migration 0005_progress, whatever the number of players or games.

- A board's top, and the neighbours of a player, are range scans of the
  board's partial index ``(period, value DESC, username) WHERE games_played
  >= 10``. Continuing after (value, username) is the UNION ALL of the rest of
  that tie group and the values below it, each its own index range, because
  a row comparison cannot mix descending and ascending columns.
- A rank is two range sums over the count tables (see ranking.py).
- Match history joins games, rooms, seats and players in one statement.
"""
from peewee import Tuple

from .. import ranking
from ..schema.models import BY_TABLE, AnalyticsEvent, Game, GamePlayer

_STATS = ("period", "player_id", "username", "games_played", "games_won", "total_score",
          "highest_score", "win_rate")
_CHUNK = 200


class SqlProgress:
    #: (shared, exclusive) statements ordering season creation against game
    #: ends; None where writers are serialised anyway (SQLite).
    season_lock_sql = None
    #: SQL for the UTC day (text YYYY-MM-DD) of a timestamp column.
    day_sql = None
    #: SQL for the seconds between two timestamp columns.
    seconds_sql = None
    #: Whether analytics events live in monthly partitions (dropped whole).
    partitioned_events = False

    def _rows(self, sql, params, converters):
        with self.translate_errors():
            cursor = self.db.execute_sql(sql, params)
            names = [d[0] for d in cursor.description]
            out = []
            for values in cursor.fetchall():
                row = dict(zip(names, values))
                for name, convert in converters.items():
                    if name in row:
                        row[name] = convert(row[name])
                out.append(row)
            return out

    def _lock_seasons(self, exclusive):
        if self.season_lock_sql:
            with self.translate_errors():
                self.db.execute_sql(self.season_lock_sql[exclusive])

    def _upsert(self, table, rows, key, add=()):
        model, p = BY_TABLE[table], self.db.param
        columns = tuple(rows[0])
        fields = [model._meta.columns[c] for c in columns]
        sets = ", ".join(f'"{c}" = "{table}"."{c}" + excluded."{c}"' if c in add
                         else f'"{c}" = excluded."{c}"' for c in columns if c not in key)
        names = ", ".join(f'"{c}"' for c in columns)
        keys = ", ".join(f'"{c}"' for c in key)
        one = "(" + ", ".join([p] * len(columns)) + ")"
        for first in range(0, len(rows), _CHUNK):
            chunk = rows[first:first + _CHUNK]
            sql = (f'INSERT INTO "{table}" ({names}) VALUES {", ".join([one] * len(chunk))} '
                   f"ON CONFLICT ({keys}) DO UPDATE SET {sets}")
            params = [f.db_value(row[c]) for row in chunk for f, c in zip(fields, columns)]
            with self._write():
                self.db.execute_sql(sql, params)

    # -- boards ---------------------------------------------------------------------------

    def _stats_converters(self):
        uuid = BY_TABLE["players"].id.python_value
        return {"player_id": uuid, "win_rate": float}

    def _board_row(self, period, player_id):
        p = self.db.param
        rows = self._rows(
            f'SELECT {", ".join("s." + c for c in _STATS)}, p.display_name FROM player_stats s '
            f'JOIN players p ON p.id = s.player_id WHERE s.period = {p} AND s.player_id = {p}',
            [period, BY_TABLE["players"].id.db_value(player_id)], self._stats_converters())
        return rows[0] if rows else None

    def _board_slice(self, period, by, start, backward, limit):
        col, p, n = ranking.column(by), self.db.param, int(limit)
        cols = ", ".join(_STATS)
        base = f"SELECT {cols} FROM player_stats WHERE period = {p} AND games_played >= {ranking.MIN_GAMES}"
        down, up = f"{col} DESC, username", f"{col}, username DESC"
        if start is None:
            inner, params = f"{base} ORDER BY {down} LIMIT {n}", [period]
            order = down
        else:
            x, name = start
            tie, rest, order, tie_order = (("<", ">", up, "username DESC") if backward
                                           else (">", "<", down, "username"))
            inner = (f"SELECT * FROM ({base} AND {col} = {p} AND username {tie} {p} "
                     f"ORDER BY {tie_order} LIMIT {n}) tie UNION ALL "
                     f"SELECT * FROM ({base} AND {col} {rest} {p} ORDER BY {order} LIMIT {n}) rest")
            params = [period, x, name, period, x]
        order = ", ".join(f"x.{c}" for c in order.split(", "))
        sql = (f"SELECT x.*, p.display_name FROM ({inner}) x JOIN players p ON p.id = x.player_id "
               f"ORDER BY {order} LIMIT {n}")
        return self._rows(sql, params, self._stats_converters())

    def _board_better(self, period, by, x):
        p, b = self.db.param, ranking.bucket(by, x)
        sql = (f"SELECT (SELECT COALESCE(SUM(players), 0) FROM leaderboard_buckets "
               f"WHERE period = {p} AND board = {p} AND bucket > {p}), "
               f"(SELECT COALESCE(SUM(players), 0) FROM leaderboard_values "
               f"WHERE period = {p} AND board = {p} AND bucket = {p} AND value > {p}), "
               f"(SELECT COALESCE(SUM(players), 0) FROM leaderboard_values "
               f"WHERE period = {p} AND board = {p} AND bucket = {p} AND value = {p})")
        params = [period, by, b, period, by, b, float(x), period, by, b, float(x)]
        with self.translate_errors():
            buckets, values, same = self.db.execute_sql(sql, params).fetchone()
        return int(buckets) + int(values), int(same)

    # -- games ------------------------------------------------------------------------------

    def _select_seated(self, player_id, where, order_by, after=None, limit=None):
        query = self._where(Game.select(Game).join(GamePlayer, on=(GamePlayer.game_id == Game.id))
                            .where(GamePlayer.player_id == player_id), Game, where)
        if order_by:
            columns = [Game._meta.columns[c] for c in order_by]
            query = query.order_by(*columns)
            if after is not None:
                query = query.where(Tuple(*columns) > Tuple(*[f.db_value(x) for f, x in
                                                              zip(columns, after)]))
        if limit is not None:
            query = query.limit(limit)
        with self.translate_errors():
            return list(query.dicts().execute(self.db))

    def _history(self, player_id, room_id, before, limit):
        p, ids = self.db.param, BY_TABLE["players"].id
        conds, params, join = ["g.ended_at IS NOT NULL"], [], ""
        if player_id is not None:
            join = f" JOIN game_players me ON me.game_id = g.id AND me.player_id = {p}"
            params.append(ids.db_value(player_id))
        if room_id is not None:
            conds.append(f"g.room_id = {p}")
            params.append(Game.room_id.db_value(room_id))
        if before is not None:
            conds.append(f"(g.ended_at, g.id) < ({p}, {p})")
            params += [Game.ended_at.db_value(before[0]), Game.id.db_value(before[1])]
        sql = (
            "SELECT g.id, g.room_id, r.room_code, g.started_at, g.ended_at, g.current_round, "
            "g.winner_id, g.final_scores, gp.position, gp.player_id, gp.is_bot, gp.score, "
            "pl.username, pl.display_name FROM ("
            "SELECT g.id, g.room_id, g.started_at, g.ended_at, g.current_round, g.winner_id, "
            f"g.final_scores FROM games g{join} WHERE {' AND '.join(conds)} "
            f"ORDER BY g.ended_at DESC, g.id DESC LIMIT {int(limit)}) g "
            "JOIN rooms r ON r.id = g.room_id JOIN game_players gp ON gp.game_id = g.id "
            "JOIN players pl ON pl.id = gp.player_id "
            "ORDER BY g.ended_at DESC, g.id DESC, gp.position")
        convert = {c: Game._meta.columns[c].python_value
                   for c in ("id", "room_id", "started_at", "ended_at", "winner_id", "final_scores")}
        convert.update(player_id=ids.python_value, is_bot=bool)
        games = []
        for row in self._rows(sql, params, convert):
            if not games or games[-1]["id"] != row["id"]:
                games.append({k: row[k] for k in ("id", "room_id", "room_code", "started_at",
                                                  "ended_at", "current_round", "winner_id",
                                                  "final_scores")} | {"seats": []})
            games[-1]["seats"].append({k: row[k] for k in ("position", "player_id", "username",
                                                           "display_name", "is_bot", "score")})
        return games

    def _game_results(self, since=None, until=None):
        p = self.db.param
        sql = ("SELECT g.id, g.ended_at, g.winner_id, g.final_scores, gp.position, gp.player_id "
               "FROM games g JOIN game_players gp ON gp.game_id = g.id "
               "WHERE g.ended_at IS NOT NULL AND g.final_scores IS NOT NULL")
        params = []
        if since is not None:
            sql += f" AND g.ended_at >= {p} AND g.ended_at < {p}"
            params = [Game.ended_at.db_value(since), Game.ended_at.db_value(until)]
        convert = {c: Game._meta.columns[c].python_value
                   for c in ("id", "ended_at", "winner_id", "final_scores")}
        convert["player_id"] = BY_TABLE["players"].id.python_value
        games = {}
        for r in self._rows(sql, params, convert):
            entry = games.setdefault(r["id"], (r["ended_at"], r["winner_id"], []))
            entry[2].append((r["player_id"], r["final_scores"]["totals"][r["position"]]))
        return list(games.values())

    # -- analytics ------------------------------------------------------------------------------

    def _event_counts(self, since, until):
        p, day = self.db.param, self.day_sql.format('"timestamp"')
        sql = (f"SELECT {day} AS day, event_type, COUNT(*) FROM analytics_events "
               f'WHERE "timestamp" >= {p} AND "timestamp" < {p} GROUP BY 1, 2 ORDER BY 1, 2')
        ts = AnalyticsEvent.timestamp.db_value
        with self.translate_errors():
            return [(d, k, int(n)) for d, k, n in
                    self.db.execute_sql(sql, [ts(since), ts(until)]).fetchall()]

    def _games_per_day(self, since, until):
        p, day = self.db.param, self.day_sql.format("ended_at")
        sql = (f"SELECT {day} AS day, COUNT(*), AVG({self.seconds_sql}), AVG(current_round) "
               f"FROM games WHERE ended_at >= {p} AND ended_at < {p} AND final_scores IS NOT NULL "
               "GROUP BY 1 ORDER BY 1")
        ts = Game.ended_at.db_value
        with self.translate_errors():
            return [(d, int(n), float(s), float(r)) for d, n, s, r in
                    self.db.execute_sql(sql, [ts(since), ts(until)]).fetchall()]

    def _player_events(self, player_id, where, after, limit):
        E = AnalyticsEvent
        # player_id = X is NULL, not false, for lifecycle events; OR still
        # keeps the rows the subquery matches.
        mine = E.player_id == player_id
        seated = E.game_id.in_(GamePlayer.select(GamePlayer.game_id)
                               .where(GamePlayer.player_id == player_id))
        query = self._where(E.select().where(mine | seated), E, where).order_by(E.timestamp, E.id)
        if after is not None:
            query = query.where(Tuple(E.timestamp, E.id) > Tuple(E.timestamp.db_value(after[0]),
                                                                 after[1]))
        with self.translate_errors():
            return list(query.limit(limit).dicts().execute(self.db))

    def _drop_events_before(self, cutoff):
        if not self.partitioned_events:
            return super()._drop_events_before(cutoff)
        with self.translate_errors(), self.db.atomic():
            self._lock_for_migration()  # partitions are created under the same lock
            before = self.db.execute_sql("SELECT count(*) FROM analytics_events WHERE "
                                         '"timestamp" < %s', [cutoff]).fetchone()[0]
            dropped = self.db.execute_sql("SELECT liapstore_drop_analytics_partitions(%s)",
                                          [cutoff]).fetchone()[0]
        return {"partitions_dropped": dropped, "events_deleted": before}
