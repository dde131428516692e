"""A player's data: everything stored about one player, and its erasure.

A mixin of Store. ``export_player`` gathers what the store holds about one
player as JSON-ready data; ``erase_player`` removes the personal part of it
in one transaction while the games the player sat in stay whole for the
other players.

How erasure keeps the games valid: the ``players`` row is not deleted. It
keeps its id, so every seat, action, turn, winner and ``final_scores`` entry
that names it stays as it was, and replay, ``verify`` and the other players'
statistics and history are untouched. Every personal column of the row is
cleared instead (username ``erased-<random>``, so the old name can be taken
again; display name "Erased player"; no e-mail, settings or times of its
own), and an ``erased_players`` row marks it as a placeholder: it leaves the
leaderboards (its per-period statistics rows go and the rank counts drop by
one), it cannot take a seat again, and backfills and statistics rebuilds
skip it. Its all-time counters in ``players`` stay, because they are facts
about the stored games, which ``verify_stats`` checks against them.
"""
import secrets
import uuid
from datetime import date, datetime, timezone

from . import ranking, validate as v
from .errors import Conflict

#: The display name every erased player's placeholder shows.
ERASED_NAME = "Erased player"
#: What remains of an audit row about an erased player, beside its id.
_SCRUBBED = {"erased": True}


class PlayerData:
    """Mixin of Store: exporting and erasing one player's data."""

    def export_player(self, player_id):
        """Everything stored about one player, as JSON-ready data (a dict of
        dicts, lists, strings, numbers; ids as text, times as ISO text):
        ``profile`` (with the e-mail), ``statistics`` (all time and per
        period), ``games`` (each game the player sat in, with their seat and
        their own actions, archived games included), ``rooms_created``,
        ``sessions`` (never the token or its hash), ``connections``,
        ``analytics_events`` (those naming the player), ``friends`` (their
        requests, friendships and blocks, and requests made to them),
        ``achievements`` and ``audit`` (the audit rows about them).
        NotFound for an unknown player."""
        player_id = v.uuid_(player_id, "player_id")
        with self.transaction():
            profile = self._get("players", "id", player_id)
            erased = self._select("erased_players", [("player_id", "=", player_id)], ())
            seats = {s["game_id"]: s for s in self._select(
                "game_players", [("player_id", "=", player_id)], ())}
            games = self._select("games", [("id", "in", list(seats))], ("started_at", "id"))
            actions = {}
            for a in self._select("player_actions", [("player_id", "=", player_id)],
                                  ("game_id", "sequence_number")):
                actions.setdefault(a["game_id"], []).append(a)
            archived = [p["game_id"] for p in self._select(
                "archived_games", [("game_id", "in", list(seats))], ())]
            mine = [("player_id", "=", player_id)]
            data = {
                "format": "liapstore-player-export/1",
                "exported_at": v.now(),
                # The address decrypted; its ciphertext and blind index are not data.
                "profile": {**{k: x for k, x in profile.items()
                               if k not in ("email_encrypted", "email_blind_index")},
                            "email": self._player(profile).email},
                "erased_at": erased[0]["erased_at"] if erased else None,
                "statistics": {
                    "all_time": {c: profile[c] for c in ("games_played", "games_won",
                                                         "total_score", "highest_score")},
                    "periods": [_without(r, "player_id", "username") for r in self._select(
                        "player_stats", mine, ("period",))]},
                "games": [{**g, "seat": _without(seats[g["id"]], "game_id", "player_id"),
                           "actions": [_without(a, "game_id", "player_id")
                                       for a in actions.get(g["id"], ())]} for g in games],
                "rooms_created": self._select("rooms", [("created_by", "=", player_id)],
                                              ("created_at", "id")),
                "sessions": [_without(s, "token_hash", "player_id") for s in self._select(
                    "player_sessions", mine, ("created_at", "id"))],
                "connections": [_without(c, "player_id") for c in self._select(
                    "active_connections", mine, ("connected_at", "connection_id"))],
                "analytics_events": self._select("analytics_events", mine, ("timestamp", "id")),
                "friends": self._select("friendships", mine, ("friend_id",)) + self._select(
                    "friendships", [("friend_id", "=", player_id), ("status", "=", "pending")],
                    ("player_id",)),
                "achievements": self._select("player_achievements", mine, ("achievement",)),
                "audit": sorted(self._audit_rows_about(player_id), key=lambda r: r["id"]),
            }
        # Archived logs are fetched after the transaction: an object store's
        # round trips should not hold a SQLite write lock.
        for game in data["games"]:
            if game["id"] in archived:
                game["actions"] = [_without(a, "game_id", "player_id") for a in self._archived_rows(
                    game["id"], "player_actions", lambda a: a["player_id"] == player_id)]
        return _jsonable(data)

    def erase_player(self, player_id):
        """Erase a player's personal data, in one transaction; return a report
        (a dict: the placeholder's ``username``, ``erased_at``, and how many
        rows of each kind were ``removed``).

        Removed: sessions, connections, analytics events naming the player,
        friend requests, friendships and blocks either way, achievements,
        per-period statistics (the player leaves every leaderboard). The
        ``players`` row becomes an anonymous placeholder that keeps its id, so
        the games the player sat in still replay, verify and count for the
        other players. Audit rows about the player are scrubbed to their id,
        and one ``ERASE`` row records the erasure (counts, no data).

        Conflict while the player has a seat in an unfinished game (finish or
        abandon it first). Erasing an erased player changes nothing and
        returns ``already_erased: True``. NotFound for an unknown player.
        """
        player_id = v.uuid_(player_id, "player_id")
        self._check_self(player_id, "erase the data")
        with self.transaction():
            self._get("players", "id", player_id)
            # Before anything is read: a game starting with this player now
            # either finishes seating first (and is seen below) or waits.
            self._lock_player(player_id)
            done = self._select("erased_players", [("player_id", "=", player_id)], ())
            if done:
                row = self._get("players", "id", player_id)
                return {"player_id": str(player_id), "username": row["username"],
                        "erased_at": done[0]["erased_at"].isoformat(), "already_erased": True,
                        "removed": {}}
            if self._select_seated(player_id, [("ended_at", "=", None)], (), None, 1):
                raise Conflict(f"player {player_id} has a seat in an unfinished game; finish "
                               "or abandon it before erasing the player")
            now = v.now()
            removed = self._remove_personal_rows(player_id)
            placeholder = f"erased-{secrets.token_hex(8)}"
            self._update("players", [("id", "=", player_id)], {
                "username": placeholder, "display_name": ERASED_NAME, "email": None,
                "email_encrypted": None, "email_blind_index": None, "settings": {},
                "is_active": False,
                "created_at": now, "last_seen": now})
            self._insert("erased_players", {"player_id": player_id, "erased_at": now})
            # Destroying the player's data key (player_keys) makes the address in
            # older backups' data unreadable; inside this transaction, so a
            # failed erasure keeps the key.
            removed["email_key"] = int(self._destroy_player_key(player_id))
            removed["audit_rows_scrubbed"] = self._scrub_audit(player_id)
            report = {"player_id": str(player_id), "username": placeholder,
                      "erased_at": now.isoformat(), "already_erased": False, "removed": removed}
            self._insert("audit_log", {
                "table_name": "players", "operation": "ERASE", "user_id": self.acting_player,
                "changed_data": {"id": str(player_id), "erased_at": _utc_text(now),
                                 "removed": removed},
                "timestamp": now, "ip_address": self._client_ip()})
            # The player left every board: copies of them (a cache) rebuild.
            self._notify("stats_rewritten", None)
        return report

    def erased_at(self, player_id):
        """When the player's data was erased, or None if it was not."""
        rows = self._select("erased_players", [("player_id", "=", v.uuid_(player_id, "player_id"))],
                            ())
        return rows[0]["erased_at"] if rows else None

    # -- internals ---------------------------------------------------------------------

    def _remove_personal_rows(self, player_id):
        """Delete the player's own rows and take them off the boards; return counts."""
        mine = [("player_id", "=", player_id)]
        removed = {table: self._delete(table, mine) for table in (
            "player_sessions", "active_connections", "analytics_events", "player_achievements")}
        removed["friendships"] = (self._delete("friendships", mine)
                                  + self._delete("friendships", [("friend_id", "=", player_id)]))
        stats = self._select("player_stats", mine, ())
        self._add_counts(*ranking.count_deltas(stats, []))
        removed["player_stats"] = self._delete("player_stats", mine)
        return removed

    def _scrub_audit(self, player_id):
        """Reduce every audit row about the player to their id; return how many."""
        ids = [r["id"] for r in self._audit_rows_about(player_id)]
        if ids:
            self._update("audit_log", [("id", "in", ids)],
                         {"changed_data": {"id": str(player_id), **_SCRUBBED}, "ip_address": None})
        return len(ids)

    def _audit_rows_about(self, player_id):
        """The audit rows whose payload is the player's row (SQL: an index on
        the payload's id serves it; this default scans the players' rows)."""
        return [r for r in self._select("audit_log", [("table_name", "=", "players")], ())
                if (r["changed_data"] or {}).get("id") == str(player_id)]

    def _lock_player(self, player_id):
        """Hold the player's row until the transaction ends, against games
        being started with them (PostgreSQL: FOR UPDATE, which the seats'
        foreign keys wait for). SQLite and memory serialise every writer."""

    def _refuse_erased(self, players):
        """Conflict if any of ``players`` was erased (an erased player has no seat to take)."""
        hit = self._select("erased_players", [("player_id", "in", list(players))], (), limit=1)
        if hit:
            raise Conflict(f"player {hit[0]['player_id']} was erased and cannot take a seat")

    def _erased_ids(self):
        """The ids of every erased player."""
        return {r["player_id"] for r in self._select("erased_players", [], ())}


def _utc_text(moment):
    """A time as the audit payload writes times (schema/fields.py's utc_text,
    without importing peewee, which ``import liapstore`` must not load)."""
    return moment.astimezone(timezone.utc).isoformat(sep=" ", timespec="microseconds")


def _without(row, *columns):
    return {k: x for k, x in row.items() if k not in columns}


def _jsonable(value):
    """``value`` with ids as text and times as ISO text, recursively."""
    if isinstance(value, dict):
        return {str(k): _jsonable(x) for k, x in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(x) for x in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value

