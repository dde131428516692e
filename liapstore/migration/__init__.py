"""Move a live in-memory server's rooms and running games into a store.

DATABASE_SCHEMA.md describes a ``DataMigrator`` that copies the reference
Liap Tui server's rooms into the database without losing a game. This is
that migrator. It reads the server through an adapter, one per shape:

- ``TuiBackendAdapter`` (``tui.py``): the reference server as it really runs,
  an ``AsyncRoomManager`` whose rooms hold a ``GameStateMachine`` each;
- ``SketchAdapter`` (``sketch.py``): the dict-based ``RoomManager`` that
  DATABASE_SCHEMA.md sketches.

``DataMigrator(store).migrate_active_games(manager)`` picks the adapter that
fits (or takes one), reads every room first, then writes each room in its own
transaction and returns a ``MigrationReport`` saying per room what moved and
what was skipped and why; ``dry_run=True`` reads and reports without writing.
The live objects are only read: nothing is changed, paused or locked. Call it
on the server's event-loop thread (the objects change only between awaits
there) so each room is read whole; from another thread, a room caught in the
middle of a change fails the consistency checks rather than moving half-changed.

Each game is stored with its exact rules-engine state (``Store.import_game``),
whatever phase it is in, so it continues in liapstore with the same next
legal actions and scores; a finished game is stored finished. Humans are one
stored player per name; bots ("Bot 3") are one per room, so two rooms' "Bot
3" never become one player seated in two games. Rooms whose code is already
stored are skipped, so a second run changes nothing. A room the adapter cannot
read raises ``InvalidInput`` naming the room and the attribute, before anything
is written.
"""
import re
from dataclasses import dataclass, field
from typing import Optional

from ..errors import InvalidInput, NotFound
from ..game import rules
from .common import Reader, RoomSnapshot, show
from .sketch import SketchAdapter
from .tui import TuiBackendAdapter

__all__ = ["DataMigrator", "MigrationReport", "RoomReport", "RoomSnapshot",
           "SketchAdapter", "TuiBackendAdapter", "adapter_for"]

ADAPTERS = (SketchAdapter, TuiBackendAdapter)


def adapter_for(manager):
    """The adapter whose shape ``manager`` has; InvalidInput if none fits."""
    for adapter in ADAPTERS:
        if adapter.fits(manager):
            return adapter()
    raise InvalidInput(f"cannot migrate a {type(manager).__name__}: it has neither the "
                       "reference server's rooms nor DATABASE_SCHEMA.md's dicts")


@dataclass
class RoomReport:
    """What happened to one room: ``outcome`` is 'moved', 'skipped' or, in a
    dry run, 'would move'; ``detail`` says why or what."""

    code: str
    outcome: str
    detail: str
    phase: str
    game_id: Optional[object] = None


@dataclass
class MigrationReport:
    """The per-room account of one run (``entries``), with shortcuts."""

    dry_run: bool = False
    shape: str = ""
    entries: list = field(default_factory=list)

    @property
    def rooms(self):
        """Codes of the rooms moved (or, in a dry run, that would move)."""
        return [e.code for e in self.entries if e.outcome != "skipped"]

    @property
    def games(self):
        """Ids of the games created."""
        return [e.game_id for e in self.entries if e.game_id is not None]

    @property
    def skipped(self):
        """(room code, why) for each room left alone."""
        return [(e.code, e.detail) for e in self.entries if e.outcome == "skipped"]

    def __str__(self):
        head = f"{'dry run: ' if self.dry_run else ''}{len(self.rooms)} rooms " \
               f"{'would move' if self.dry_run else 'moved'}, {len(self.skipped)} skipped ({self.shape})"
        return "\n".join([head] + [f"  {e.code:<10} {e.outcome:<10} {e.phase:<13} {e.detail}"
                                   for e in self.entries])


class DataMigrator:
    """Copies a live server's rooms and games into ``store``."""

    def __init__(self, store, adapter=None):
        self.store = store
        self.adapter = adapter

    def read(self, room_manager):
        """Every room as a RoomSnapshot, read without writing anything."""
        return _checked((self.adapter or adapter_for(room_manager)).read(room_manager))

    def migrate_active_games(self, room_manager, *, dry_run=False):
        """Move every room and its game, if any; return a MigrationReport.

        All rooms are read before anything is written, so a room of a bad
        shape (InvalidInput) stops the run with nothing written.
        """
        adapter = self.adapter or adapter_for(room_manager)
        report = MigrationReport(dry_run=dry_run, shape=adapter.shape)
        for snap in _checked(adapter.read(room_manager)):
            try:
                self.store.get_room_by_code(snap.code)
                report.entries.append(RoomReport(snap.code, "skipped", "already in the store",
                                                 snap.phase))
                continue
            except NotFound:
                pass
            if dry_run:
                report.entries.append(RoomReport(snap.code, "would move", _describe(snap), snap.phase))
                continue
            with self.store.transaction():
                game = self._write(snap)
            report.entries.append(RoomReport(snap.code, "moved", _describe(snap), snap.phase,
                                             game and game.id))
        return report

    def _write(self, snap):
        """Store one room (and its game); the caller holds the transaction."""
        host = None
        if snap.host is not None:
            host = self._player(snap.host, snap.code if snap.host in snap.bots else None).id
        room = self.store.create_room(snap.code, snap.name, is_public=snap.is_public,
                                      created_by=host)
        for name in snap.members:
            self._player(name)
        if snap.state is None:
            return None
        seats = [self._player(n, snap.code if n in snap.bots else None) for n in snap.seats]
        return self.store.import_game(room.id, [p.id for p in seats], snap.state,
                                      bots=[i for i, n in enumerate(snap.seats) if n in snap.bots])

    def _player(self, name, room=None):
        """The stored player for a server's name, created on first sight."""
        return self.store.get_or_create_player(_username(name, room), name[:100])


def _username(name, room=None):
    """The username a server's player name is stored under.

    Names may hold spaces or other characters usernames may not; the
    username replaces those with '_' (the display name keeps the name). A
    bot's username carries its room (``room``), because servers reuse default
    bot names ("Bot 3") in every room.
    """
    base = re.sub(r"[^a-zA-Z0-9_-]", "_", name)
    if room is not None:
        base = f"{base[:30]}-{re.sub(r'[^a-zA-Z0-9_-]', '_', room)[:19]}"
    return base[:50].ljust(3, "_")


def _checked(snaps):
    """The snapshots, once what the store will refuse is refused up front."""
    for snap in snaps:
        r = Reader(snap.code)
        if not isinstance(snap.code, str) or not snap.code:
            r.fail("room id", "must be a non-empty string")
        if not isinstance(snap.name, str) or not snap.name:
            r.fail("name", f"must be a non-empty string, not {show(snap.name)}")
        if not isinstance(snap.is_public, bool):
            r.fail("is_public", f"must be true or false, not {show(snap.is_public)}")
        users = {_username(n, snap.code if n in snap.bots else None) for n in snap.seats}
        if snap.seats and len(users) != 4:
            r.fail("game.players", f"names {snap.seats} become the same stored username twice")
    return snaps


def _describe(snap):
    if snap.state is None:
        return f"room only ({len(snap.members)} waiting)"
    s = snap.state
    if s.phase == "GAME_OVER":
        return f"finished game, totals {list(s.scores)}"
    return f"game at round {s.round}, {s.phase.lower()}, next: {_next(s)}"


def _next(state):
    want = rules.expected(state)
    return want.kind if want.seat is None else f"{want.kind} by seat {want.seat}"

