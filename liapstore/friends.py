"""Friends: requests, friendships and blocks (a mixin of Store).

Rows of ``friendships`` go from one player to another with a status:

- a request is one ``pending`` row from the requester to the addressee;
- a friendship is two ``accepted`` rows, one each way, so that "my friends"
  is one index range whichever side asked;
- a block is one ``blocked`` row from the blocker; it replaces every other
  row between the two players.

Every change runs in one transaction, so two players acting at once (both
requesting, one accepting while the other blocks) leave a consistent pair of
rows. A transition that makes no sense (accepting a request that does not
exist, befriending yourself, a second request) raises InvalidInput or
Conflict and changes nothing.
"""
from . import validate as v
from .errors import Conflict, InvalidInput
from .records import Friendship, from_row


class Friends:
    """Mixin of Store: the friend system of DATABASE_SCHEMA.md's phase 4."""

    def request_friend(self, player_id, friend_id):
        """Ask ``friend_id`` to be ``player_id``'s friend; return the request.

        If ``friend_id`` had already asked ``player_id``, the two requests
        meet and the friendship is made at once (returned as ``accepted``).
        Raises Conflict for a second request, for players who are already
        friends, and when either has blocked the other (without saying which,
        so a blocked player does not learn who blocked them).
        """
        me, other = self._pair(player_id, friend_id, "befriend")
        with self.transaction():
            self._both_exist(me, other)
            mine, theirs = self._link(me, other), self._link(other, me)
            if mine is not None:
                raise Conflict({
                    "pending": f"player {me} already asked player {other} to be friends",
                    "accepted": f"players {me} and {other} are already friends",
                    "blocked": f"player {me} has blocked player {other}; unblock first",
                }[mine["status"]])
            if theirs is not None and theirs["status"] == "blocked":
                raise Conflict(f"player {other} does not take friend requests from player {me}")
            if theirs is not None and theirs["status"] == "pending":
                return self._befriend(me, other)
            now = v.now()
            return from_row(Friendship, self._insert("friendships", {
                "player_id": me, "friend_id": other, "status": "pending",
                "created_at": now, "updated_at": now}))

    def accept_friend(self, player_id, requester_id):
        """Accept ``requester_id``'s pending request; return the friendship
        (as seen from ``player_id``). InvalidInput if there is no such request."""
        me, requester = self._pair(player_id, requester_id, "befriend")
        with self.transaction():
            request = self._link(requester, me)
            if request is None or request["status"] != "pending":
                raise InvalidInput(f"no pending friend request from player {requester} "
                                   f"to player {me}")
            return self._befriend(me, requester)

    def decline_friend(self, player_id, requester_id):
        """Turn down ``requester_id``'s pending request (it is deleted; the
        requester may ask again). InvalidInput if there is no such request."""
        me, requester = self._pair(player_id, requester_id, "befriend")
        if not self._delete("friendships", _link_where(requester, me, "pending")):
            raise InvalidInput(f"no pending friend request from player {requester} to player {me}")

    def cancel_friend_request(self, player_id, friend_id):
        """Withdraw ``player_id``'s own pending request to ``friend_id``.
        InvalidInput if there is no such request."""
        me, other = self._pair(player_id, friend_id, "befriend")
        if not self._delete("friendships", _link_where(me, other, "pending")):
            raise InvalidInput(f"player {me} has no pending friend request to player {other}")

    def remove_friend(self, player_id, friend_id):
        """End a friendship, for both players. InvalidInput if they are not friends."""
        me, other = self._pair(player_id, friend_id, "unfriend")
        with self.transaction():
            removed = (self._delete("friendships", _link_where(me, other, "accepted"))
                       + self._delete("friendships", _link_where(other, me, "accepted")))
        if not removed:
            raise InvalidInput(f"players {me} and {other} are not friends")

    def block(self, player_id, blocked_id):
        """Block a player: any friendship or request between the two ends, the
        blocked player can send no new request, and ``list_players(viewer=...)``
        no longer shows them the blocker. Blocking twice changes nothing.
        Returns the block."""
        me, other = self._pair(player_id, blocked_id, "block")
        with self.transaction():
            self._both_exist(me, other)
            mine = self._link(me, other)
            if mine is not None and mine["status"] == "blocked":
                return from_row(Friendship, mine)
            self._delete("friendships", [("player_id", "=", me), ("friend_id", "=", other)])
            self._delete("friendships", [("player_id", "=", other), ("friend_id", "=", me),
                                         ("status", "!=", "blocked")])
            now = v.now()
            return from_row(Friendship, self._insert("friendships", {
                "player_id": me, "friend_id": other, "status": "blocked",
                "created_at": now, "updated_at": now}))

    def unblock(self, player_id, blocked_id):
        """Lift a block (no friendship comes back). InvalidInput if there is none."""
        me, other = self._pair(player_id, blocked_id, "block")
        if not self._delete("friendships", _link_where(me, other, "blocked")):
            raise InvalidInput(f"player {me} has not blocked player {other}")

    def list_friends(self, player_id):
        """A player's friends, as Players ordered by username."""
        return self._players_by_id(self._friend_ids(v.uuid_(player_id, "player_id")))

    def list_friend_requests(self, player_id, *, outgoing=False):
        """Pending requests to ``player_id`` (or, with ``outgoing=True``, the
        ones they sent), oldest first, as Friendships from requester to addressee."""
        player_id = v.uuid_(player_id, "player_id")
        self._check_self(player_id, "see the friend requests")
        side = "player_id" if v.boolean(outgoing, "outgoing") else "friend_id"
        rows = self._select("friendships", [(side, "=", player_id), ("status", "=", "pending")],
                            ("created_at", "player_id", "friend_id"))
        return [from_row(Friendship, r) for r in rows]

    def list_blocked(self, player_id):
        """The players ``player_id`` has blocked, as Players ordered by username."""
        player_id = v.uuid_(player_id, "player_id")
        self._check_self(player_id, "see the blocks")
        rows = self._select("friendships", [("player_id", "=", player_id),
                                            ("status", "=", "blocked")], ())
        return self._players_by_id({r["friend_id"] for r in rows})

    # -- internals ---------------------------------------------------------------

    def _friend_ids(self, player_id):
        """The ids of the player's friends (accepted both ways)."""
        self._check_self(player_id, "see the friends")
        rows = self._select("friendships", [("player_id", "=", player_id),
                                            ("status", "=", "accepted")], ())
        return {r["friend_id"] for r in rows}

    def _blockers_of(self, player_id):
        """The ids of the players who blocked ``player_id``: hidden from them."""
        self._check_self(player_id, "see the blocks")
        rows = self._select("friendships", [("friend_id", "=", player_id),
                                            ("status", "=", "blocked")], ())
        return {r["player_id"] for r in rows}

    def _pair(self, player_id, other_id, verb):
        me, other = v.uuid_(player_id, "player_id"), v.uuid_(other_id, "friend_id")
        if me == other:
            raise InvalidInput(f"a player cannot {verb} themselves")
        self._check_self(me, f"{verb} on behalf")
        return me, other

    def _both_exist(self, me, other):
        self._get("players", "id", me)
        self._get("players", "id", other)

    def _link(self, frm, to):
        rows = self._select("friendships", [("player_id", "=", frm), ("friend_id", "=", to)], (),
                            limit=1)
        return rows[0] if rows else None

    def _befriend(self, me, other):
        """Turn the pending row(s) between the two into the two accepted rows."""
        now = v.now()
        for frm, to in ((other, me), (me, other)):
            if not self._update("friendships", [("player_id", "=", frm), ("friend_id", "=", to)],
                                {"status": "accepted", "updated_at": now}):
                self._insert("friendships", {"player_id": frm, "friend_id": to,
                                             "status": "accepted", "created_at": now,
                                             "updated_at": now})
        return from_row(Friendship, self._link(me, other))

    def _players_by_id(self, ids):
        rows = self._select("players", [("id", "in", list(ids))], ("username",)) if ids else []
        return self._players(rows)


def _link_where(frm, to, status):
    return [("player_id", "=", frm), ("friend_id", "=", to), ("status", "=", status)]
