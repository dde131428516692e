"""Achievements: a catalogue in code, awarded when games end (a mixin of Store).

Each achievement counts something a player does in a game (a win, a perfect
round, a game played) and is awarded when the count reaches its target. The
count is kept per player in ``player_achievements.progress``, so "five
perfect rounds" needs no scan of the player's history when a game ends.

Awards are made in the transaction that ends the game (``record_action`` of
its last action), after the players' statistics rows are updated. Those
updates lock the four players' rows until the commit, so two games of the
same player ending at once count one after the other, never both from the
same old progress. A game end is recorded once (a retried action is a no-op)
and an award is a row keyed by (player, achievement), so nothing is awarded
twice.

A new achievement is awarded retroactively with ``backfill_achievements()``
(``liapstore achievements backfill``), which recounts every player's finished
games; running it again changes nothing.
"""
from dataclasses import dataclass
from typing import Callable, NamedTuple

from . import validate as v
from .records import AchievementAward, from_row
from .updates import Add


class SeatFacts(NamedTuple):
    """What one seat did in one finished game, from its stored rounds."""
    won: bool
    perfect_rounds: int     # declared d > 0 piles and captured exactly d
    zero_successes: int     # declared 0 and captured none
    had_redeal: bool        # some round was redealt (multiplier above 1)
    was_alone_last: bool    # alone at the bottom of the totals after some round


@dataclass(frozen=True)
class Achievement:
    code: str
    title: str
    description: str
    target: int
    count: Callable[[SeatFacts], int]   # how much one game adds to the progress


CATALOGUE = (
    Achievement("first_win", "First win", "Win a game.", 1, lambda f: int(f.won)),
    Achievement("perfect_round", "Perfect round",
                "Capture exactly the piles you declared (one or more) in a round.", 1,
                lambda f: f.perfect_rounds),
    Achievement("five_perfect_rounds", "Sharpshooter", "Play five perfect rounds.", 5,
                lambda f: f.perfect_rounds),
    Achievement("zero_hero", "Nothing ventured", "Declare zero piles and capture none.", 1,
                lambda f: f.zero_successes),
    Achievement("redeal_winner", "Second chances", "Win a game that had a redeal.", 1,
                lambda f: int(f.won and f.had_redeal)),
    Achievement("comeback", "Comeback", "Win a game after being alone in last place "
                "at the end of a round.", 1, lambda f: int(f.won and f.was_alone_last)),
    Achievement("games_10", "Regular", "Finish 10 games.", 10, lambda f: 1),
    Achievement("games_100", "Veteran", "Finish 100 games.", 100, lambda f: 1),
)
BY_CODE = {a.code: a for a in CATALOGUE}


def game_facts(round_results, winner):
    """SeatFacts for the four seats of a finished game, from its rounds'
    stored ``round_data`` (in round order) and the winner's seat (or None)."""
    perfect, zeros, alone_last = [0] * 4, [0] * 4, [False] * 4
    had_redeal = False
    for result in round_results:
        had_redeal |= result["multiplier"] > 1
        for seat, (declared, captured) in enumerate(zip(result["declared"], result["captured"])):
            perfect[seat] += declared > 0 and captured == declared
            zeros[seat] += declared == 0 and captured == 0
        totals = result["totals"]
        bottom = min(totals)
        if totals.count(bottom) == 1:
            alone_last[totals.index(bottom)] = True
    return [SeatFacts(seat == winner, perfect[seat], zeros[seat], had_redeal, alone_last[seat])
            for seat in range(4)]


class Achievements:
    """Mixin of Store: awarding and listing achievements."""

    def list_achievements(self, player_id):
        """The achievements a player holds, in the order they were earned."""
        rows = self._select("player_achievements",
                            [("player_id", "=", v.uuid_(player_id, "player_id")),
                             ("awarded_at", "!=", None)], ("awarded_at", "achievement"))
        return [from_row(AchievementAward, r) for r in rows]

    def achievement_progress(self, player_id):
        """``{code: progress}`` for every achievement in the catalogue (0 where
        the player has not started it); awarded ones have reached their target."""
        rows = self._select("player_achievements",
                            [("player_id", "=", v.uuid_(player_id, "player_id"))], ())
        known = {r["achievement"]: r["progress"] for r in rows}
        return {a.code: known.get(a.code, 0) for a in CATALOGUE}

    def achievement_holders(self, achievement, *, limit=50, after=None):
        """The players holding one achievement, first earned first (``Page`` of
        AchievementAward). InvalidInput for a code not in the catalogue."""
        code = v.one_of(achievement, "achievement", tuple(BY_CODE))
        return self._page("player_achievements", [("achievement", "=", code),
                                                  ("awarded_at", "!=", None)],
                          ("awarded_at", "player_id"), limit, after, AchievementAward)

    def backfill_achievements(self):
        """Recount every player's finished games and award what they earned but
        do not hold (an achievement added after their games, say), each with
        the game that earned it and that game's end as its time.

        Returns ``{"players": checked, "awarded": new awards}``. Safe while
        games are being recorded, and idempotent.
        """
        checked = awarded = 0
        after = None
        erased = self._erased_ids()  # their achievements went with their data
        while True:
            page = self._select("players", [], ("id",), after=after, limit=200)
            for player in page:
                if player["id"] not in erased:
                    awarded += self._backfill_player(player["id"])
            checked += len(page)
            if len(page) < 200:
                return {"players": checked, "awarded": awarded}
            after = (page[-1]["id"],)

    # -- internals ---------------------------------------------------------------

    def _award_achievements(self, game_id, players, winner_id, now):
        """Count the finished game towards its players' achievements; called
        inside the game-ending transaction, after the statistics updates."""
        rounds = self._select("rounds", [("game_id", "=", game_id)], ("round_number",))
        winner = players.index(winner_id) if winner_id in players else None
        facts = game_facts([r["round_data"] for r in rounds if r["ended_at"]], winner)
        held = {(r["player_id"], r["achievement"]): r for r in self._select(
            "player_achievements", [("player_id", "in", list(players))], ())}
        for player_id, seat_facts in zip(players, facts):
            for achievement in CATALOGUE:
                self._add_progress(achievement, player_id, held.get((player_id, achievement.code)),
                            achievement.count(seat_facts), game_id, now)

    def _add_progress(self, achievement, player_id, row, n, game_id, when):
        """Add ``n`` to one player's progress; award when it reaches the target.
        Returns 1 if this awarded the achievement, else 0."""
        if n <= 0 or (row is not None and row["awarded_at"] is not None):
            return 0
        progress = (row["progress"] if row else 0) + n
        changes = {"progress": progress}
        if progress >= achievement.target:
            changes.update(awarded_at=when, game_id=game_id)
        self._save_progress(player_id, achievement.code, row, changes)
        return int("awarded_at" in changes)

    def _save_progress(self, player_id, code, row, changes):
        """Write ``changes`` to one progress row: insert it if ``row`` (as read
        under the player's lock) is None, else update it. The caller read the
        row already, so no update-then-insert round trip is spent."""
        if row is None:
            self._insert("player_achievements", {"player_id": player_id, "achievement": code,
                                                 "game_id": None, "awarded_at": None, **changes})
        else:
            self._update("player_achievements", [("player_id", "=", player_id),
                                                 ("achievement", "=", code)], changes)

    def _backfill_player(self, player_id):
        with self._as_server(), self.transaction():
            # Lock the player's row first, as a game end does, then read: a
            # game of theirs ending meanwhile is counted either here or by its
            # own transaction, never by both and never by neither.
            self._update("players", [("id", "=", player_id)], {"games_played": Add(0)})
            seats = self._select("game_players", [("player_id", "=", player_id)], ())
            position = {s["game_id"]: s["position"] for s in seats}
            games = [g for g in self._select("games", [("id", "in", list(position)),
                                                       ("ended_at", "!=", None)],
                                             ("ended_at", "id"))
                     if g["current_phase"] == "GAME_OVER"]
            rounds = {}
            for r in self._select("rounds", [("game_id", "in", [g["id"] for g in games])],
                                  ("game_id", "round_number")):
                if r["ended_at"]:
                    rounds.setdefault(r["game_id"], []).append(r["round_data"])
            stored = {r["achievement"]: r for r in self._select(
                "player_achievements", [("player_id", "=", player_id)], ())}
            progress = {a.code: 0 for a in CATALOGUE}
            earned = {}
            for game in games:
                seat = position[game["id"]]
                winner = _winner_seat(game, seat, player_id)
                facts = game_facts(rounds.get(game["id"], []), winner)[seat]
                for a in CATALOGUE:
                    if progress[a.code] < a.target:  # as at game end: counting stops at the award
                        progress[a.code] += a.count(facts)
                        if progress[a.code] >= a.target:
                            earned[a.code] = (game["id"], game["ended_at"])
            return self._write_backfill(player_id, stored, progress, earned)

    def _write_backfill(self, player_id, stored, progress, earned):
        awarded = 0
        for a in CATALOGUE:
            row, counted = stored.get(a.code), progress[a.code]
            if row is not None and (row["awarded_at"] is not None or row["progress"] >= counted):
                continue
            changes = {"progress": counted}
            if a.code in earned:
                changes["game_id"], changes["awarded_at"] = earned[a.code]
                awarded += 1
            self._save_progress(player_id, a.code, row, changes)
        return awarded


def _winner_seat(game, seat, player_id):
    """This player's seat if they won the game, else None (only their own
    seat's facts are used, so the other seats' winner status does not matter)."""
    return seat if game["winner_id"] == player_id else None
