"""Rooms, seats and games of the example server, with no web code in them.

A ``Table`` is one room: four seats (players or bots) and, once started, its
game. Every change to a table happens under the table's lock, in this order:
check, record in the store, change the table in memory, then tell the
clients. An action is therefore in the store before any client sees it, and
a crash can never take back something a client was shown.

The store is the only truth across restarts: ``Lobby.recover`` rebuilds every
waiting room (its seats are kept in the room's ``game_settings``) and every
unfinished game (``unfinished_games``); human seats wait for their players to
log in again with their token, bot seats play on by themselves.
"""
import asyncio
import logging
import re
import secrets
import time
import uuid

from liapstore import Conflict, InvalidInput, NotFound, StorageUnavailable
from liapstore.game import bots, rules

from .storage import as_player

log = logging.getLogger("examples.server")

CODE = re.compile(r"^[A-Z0-9]{3,12}$")
# Bots are players too (a seat names a player); these four take seats 0-3.
BOT_NAMES = tuple(f"bot_{seat + 1}" for seat in range(4))
BOT_KIND = "smart"
# The actions a client may send; the server deals itself.
CLIENT_ACTIONS = ("redeal", "declare", "play")


class Refused(Exception):
    """A request the server turns down; the message goes back to the client."""


class Seat:
    """Who sits in one of a table's four seats."""

    def __init__(self, player_id, name, bot=False):
        self.player_id, self.name, self.bot = player_id, name, bot

    def to_settings(self):
        return {"player_id": str(self.player_id), "name": self.name, "bot": self.bot}


class Table:
    """One room and its current game, as the server holds it in memory."""

    def __init__(self, room, seats, seed):
        self.room_id, self.code, self.name = room.id, room.room_code, room.name
        self.created_by = room.created_by
        self.settings = {k: room.game_settings[k] for k in ("winning_score", "max_rounds")
                         if k in room.game_settings}
        self.seats = seats
        self.seed = seed
        self.game_id = None
        self.version = 0
        self.state = None          # rules.GameState once a game is started
        self.last_turn = None      # the last turn_result event
        self.rounds = []           # round_result events of this game, in order
        self.lock = asyncio.Lock()
        self.watchers = set()      # connections following this table
        self.driver = None         # the task playing the bots and the deals
        self.stale = False         # the store may hold more of the game than we do

    @property
    def over(self):
        return self.state is not None and self.state.phase == "GAME_OVER"

    def seat_of(self, player_id):
        for position, seat in enumerate(self.seats):
            if seat is not None and not seat.bot and seat.player_id == player_id:
                return position
        return None

    def view(self, player_id, connected):
        """What a client sees: everything public, and its own hand only."""
        seat = self.seat_of(player_id)
        view = {"type": "state", **self.summary(connected), "seat": seat,
                "settings": self.settings}
        if self.state is None:
            return view
        state, want = self.state, rules.expected(self.state)
        return {**view, "multiplier": state.multiplier,
                "declarations": list(state.declarations), "captured": list(state.captured),
                "plays": [[s, list(p)] for s, p in state.plays],
                "hand_sizes": [len(h) for h in state.hands],
                "hand": None if seat is None else list(state.hands[seat]),
                "expected": {"kind": want.kind, "seat": want.seat, "count": want.count,
                             "allowed": None if want.allowed is None else list(want.allowed)},
                "last_turn": self.last_turn, "rounds": self.rounds, "winner": state.winner}

    def summary(self, connected):
        """One line of the rooms list."""
        return {"code": self.code, "name": self.name,
                "phase": "WAITING" if self.state is None else self.state.phase,
                "game_id": None if self.game_id is None else str(self.game_id),
                "version": self.version,
                "round": None if self.state is None else self.state.round,
                "scores": None if self.state is None else list(self.state.scores),
                "seats": [None if s is None else
                          {"name": s.name, "bot": s.bot,
                           "connected": s.bot or s.player_id in connected}
                          for s in self.seats]}


class Lobby:
    """Every table of the server, the players' logins, and the bots."""

    def __init__(self, db, *, bot_delay=0.5, send=None):
        self.db = db
        self.bot_delay = bot_delay
        self.tables = {}           # room code -> Table
        self.online = {}           # player id -> number of open connections
        # send(connection, message): set by the web layer.
        self.send = send
        self._bot_players = None

    # -- start-up ------------------------------------------------------------------

    async def recover(self):
        """Rebuild the tables from the store after a start or a crash; return
        how many unfinished games were taken up."""
        started = time.monotonic()
        after = None
        while True:
            page = await self.db.list_rooms(status="waiting", limit=500, after=after)
            for room in page.items:
                seats = room.game_settings.get("seats")
                if isinstance(seats, list) and room.room_code not in self.tables:
                    self.tables[room.room_code] = Table(room, _seats(seats), _seed(room))
            if page.next_cursor is None:
                break
            after = page.next_cursor
        games = await self.db.unfinished_games()
        names = {}      # player id -> display name (the bots sit at many tables)
        for saved in games:
            for seat in saved.seats:
                names.setdefault(seat.player_id, None)
        # The reads of the games are independent: the AsyncStore runs them side by side.
        players = await asyncio.gather(*(self.db.get_player(p) for p in names))
        names = {p.id: p.display_name for p in players}
        for table in await asyncio.gather(*(self._recovered(saved, names) for saved in games)):
            self.tables[table.code] = table
            self._drive(table)
        log.info("recovered %d waiting room(s) and %d unfinished game(s) in %.2f s",
                 len(self.tables) - len(games), len(games), time.monotonic() - started)
        return len(games)

    async def _recovered(self, saved, names):
        """The table of an unfinished game, as the store has it."""
        room, rounds = await asyncio.gather(self.db.get_room(saved.game.room_id),
                                            self.db.list_rounds(saved.game.id))
        table = Table(room, [Seat(s.player_id, names[s.player_id], s.is_bot) for s in saved.seats],
                      _seed(room))
        self._load_game(table, saved.game, saved.state)
        table.rounds = [r.round_data for r in rounds if r.ended_at is not None]
        return table

    def _load_game(self, table, game, state):
        table.game_id, table.version, table.state, table.stale = game.id, game.version, state, False
        table.settings = {"winning_score": game.winning_score, "max_rounds": game.max_rounds}
        table.last_turn, table.rounds = None, []

    # -- players -----------------------------------------------------------------------

    async def login(self, username, ip_address=None, user_agent=None):
        """The player of this name (created on first log-in) and a new session
        token. This example has no passwords: a name is enough."""
        if not isinstance(username, str) or username.lower().startswith("bot_"):
            raise Refused("choose another name (bot_ names are the bots')")
        try:
            player = await self.db.get_or_create_player(username)
        except InvalidInput as e:
            raise Refused(str(e)) from None
        async with as_player(self.db, player.id, ip_address):
            _, token = await self.db.create_session(player.id, ip_address=ip_address,
                                                    user_agent=user_agent)
        return player, token

    async def resume(self, token):
        """The player whose live session this token opens."""
        if not isinstance(token, str) or not token:
            raise Refused("a token is needed")
        try:
            session = await self.db.get_session(token)
        except (NotFound, InvalidInput):
            raise Refused("unknown or expired token: log in again") from None
        return await self.db.get_player(session.player_id)

    def tables_of(self, player_id):
        """The tables where this player holds a seat."""
        return [t for t in self.tables.values() if t.seat_of(player_id) is not None]

    # -- rooms -----------------------------------------------------------------------------

    def table(self, code):
        table = self.tables.get(code if isinstance(code, str) else None)
        if table is None:
            raise Refused(f"no room {code!r}")
        return table

    async def create_room(self, player, code, name=None, *, winning_score=None, max_rounds=None,
                          ip=None):
        """A new room, its creator in seat 0."""
        if not isinstance(code, str) or not CODE.match(code):
            raise Refused("a room code is 3-12 capital letters or digits")
        settings = {"seed": secrets.token_hex(8)}
        for key, value, top in (("winning_score", winning_score, 10_000),
                                ("max_rounds", max_rounds, 1_000)):
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
                    raise Refused(f"{key} is a whole number from 1 to {top}")
                settings[key] = value
        seats = [Seat(player.id, player.display_name), None, None, None]
        settings["seats"] = _seat_settings(seats)
        try:
            async with as_player(self.db, player.id, ip):
                room = await self.db.create_room(code, name or f"{player.display_name}'s table",
                                                 created_by=player.id, game_settings=settings)
        except Conflict:
            raise Refused(f"room {code} exists already") from None
        except InvalidInput as e:
            raise Refused(str(e)) from None
        table = self.tables[code] = Table(room, seats, settings["seed"])
        await self.broadcast(table)
        return table

    async def sit(self, player, code, seat=None, *, bot=False):
        """Take a free seat (the first one unless ``seat`` is given), or with
        ``bot=True`` put a bot there (the room's creator only)."""
        table = self.table(code)
        async with table.lock:
            if table.state is not None and not table.over:
                raise Refused("the game has started")
            if bot and table.created_by != player.id:
                raise Refused("only the room's creator seats bots")
            if not bot and table.seat_of(player.id) is not None:
                return table
            free = [i for i, s in enumerate(table.seats) if s is None]
            if seat is None:
                seat = free[0] if free else None
            if seat not in free:
                raise Refused("no free seat there")
            if bot:
                bots_ = await self._bots()
                table.seats[seat] = Seat(bots_[seat].id, f"Bot {seat + 1}", bot=True)
            else:
                table.seats[seat] = Seat(player.id, player.display_name)
            await self._save_seats(table)
            await self.broadcast(table)
        return table

    async def leave(self, player, code):
        """Give up a seat before the game starts."""
        table = self.table(code)
        async with table.lock:
            if table.state is not None and not table.over:
                raise Refused("the game has started: your seat waits for you")
            seat = table.seat_of(player.id)
            if seat is not None:
                table.seats[seat] = None
                await self._save_seats(table)
            await self.broadcast(table)

    async def _save_seats(self, table):
        room = await self.db.get_room(table.room_id)
        await self.db.update_room(table.room_id, game_settings={
            **room.game_settings, "seats": _seat_settings(table.seats)})

    async def _bots(self):
        if self._bot_players is None:
            self._bot_players = [await self.db.get_or_create_player(name, f"Bot {i + 1}")
                                 for i, name in enumerate(BOT_NAMES)]
        return self._bot_players

    # -- games -------------------------------------------------------------------------------

    async def start(self, player, code, ip=None):
        """Start the room's game once all four seats are taken."""
        table = self.table(code)
        async with table.lock:
            if table.state is not None and not table.over:
                raise Refused("the game is under way")
            if table.seat_of(player.id) is None and table.created_by != player.id:
                raise Refused("only a seated player starts the game")
            if any(s is None for s in table.seats):
                raise Refused("every seat needs a player or a bot")
            try:
                async with as_player(self.db, player.id, ip):
                    game = await self.db.start_game(
                        table.room_id, [s.player_id for s in table.seats],
                        bots=[i for i, s in enumerate(table.seats) if s.bot], **table.settings)
            except (InvalidInput, Conflict) as e:
                raise Refused(str(e)) from None
            self._load_game(table, game, rules.new_game(game.winning_score, game.max_rounds))
            await self.broadcast(table)
        self._drive(table)
        return table

    async def act(self, player, code, action, seq=None, ip=None):
        """Record a player's action (its seat is the player's own) and return
        its sequence number. ``seq``, the number the client expects
        (``version + 1``), makes a retry after a lost reply harmless: the store
        acknowledges an action already recorded under that number again."""
        table = self.table(code)
        if not isinstance(action, dict) or action.get("type") not in CLIENT_ACTIONS:
            raise Refused(f"an action is one of {', '.join(CLIENT_ACTIONS)}")
        async with table.lock:
            if table.state is None:
                raise Refused("no game here yet")
            seat = table.seat_of(player.id)
            if seat is None:
                raise Refused("you have no seat at this table")
            action = {**action, "seat": seat}
            seq = table.version + 1 if seq is None else seq
            if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
                raise Refused("seq is the game's version + 1")
            if seq > table.version + 1:
                raise Refused(f"the next action is #{table.version + 1}")
            reloading = table.stale
            events = await self._record(table, seq, action, player.id, ip)
            if events is not None or reloading:
                await self.broadcast(table, events or ())
        self._drive(table)
        return seq

    async def _record(self, table, seq, action, player_id=None, ip=None):
        """Record under the table's lock, as the player (None: the server's
        own deals and bots); update the table only once the store has the
        action. Returns the events, or None for a retry of an action already
        recorded (nothing changes)."""
        if table.stale:
            await self._reload(table)
            if table.over:
                raise Refused("the game is over")
        try:
            async with as_player(self.db, player_id, ip):
                game = await self.db.record_action(table.game_id, seq, action)
        except InvalidInput as e:
            raise Refused(str(e).split(": ", 1)[-1]) from None
        except Conflict as e:
            table.stale = True      # the store may be ahead of us: read it again next time
            raise Refused(str(e)) from None
        except StorageUnavailable:
            # The write may have committed before the connection broke.
            table.stale = True
            raise
        if seq <= table.version:
            return None
        outcome = rules.apply(table.state, action)
        table.state, table.version = outcome.state, seq
        table.stale = game.version != seq
        for event in outcome.events:
            if event["type"] == "turn_result":
                table.last_turn = event
            elif event["type"] == "round_result":
                table.rounds.append({k: v for k, v in event.items() if k != "type"})
        return outcome.events

    async def _reload(self, table):
        """Take the game as the store has it (after an error that leaves us unsure)."""
        saved = await self.db.load_game(table.game_id)
        self._load_game(table, saved.game, saved.state)
        table.rounds = [r.round_data for r in await self.db.list_rounds(table.game_id)
                        if r.ended_at is not None]

    def _drive(self, table):
        """Make sure the deals and the bots' moves are being played."""
        if table.driver is None or table.driver.done():
            table.driver = asyncio.get_running_loop().create_task(self._play_bots(table))

    async def _play_bots(self, table):
        """Record deals and bot decisions until a human must act or the game
        ends. While the store is unavailable it tries again every second."""
        while True:
            async with table.lock:
                try:
                    if table.stale:
                        await self._reload(table)
                        await self.broadcast(table)
                    if table.state is None or table.over:
                        return
                    want = rules.expected(table.state)
                    if want.kind != "deal" and not table.seats[want.seat].bot:
                        return
                    action = bots.next_action(table.state, table.seed, table.version + 1,
                                              bots=(BOT_KIND,) * 4)
                    events = await self._record(table, table.version + 1, action)
                    if events is not None:
                        await self.broadcast(table, events)
                except (StorageUnavailable, Refused) as e:
                    log.warning("table %s: a bot's move failed (%s); retrying", table.code, e)
                    events = None
            if events is None:
                await asyncio.sleep(1.0)
            elif want.kind != "deal" and self.bot_delay:
                await asyncio.sleep(self.bot_delay)

    # -- telling the clients ------------------------------------------------------------------

    async def broadcast(self, table, events=()):
        """Send the table's state (and what the last action settled) to
        everyone following it. Called under the table's lock, after the
        store has what changed, so every client sees the versions in order."""
        connected = {pid for pid, n in self.online.items() if n}
        sends = []
        for connection in list(table.watchers):
            message = table.view(connection.player_id, connected)
            if events:
                message["events"] = list(events)
            sends.append(self.send(connection, message))
        await asyncio.gather(*sends)


def _seat_settings(seats):
    return [None if s is None else s.to_settings() for s in seats]


def _seats(stored):
    seats = []
    for s in (stored + [None] * 4)[:4]:
        seats.append(None if not isinstance(s, dict) else
                     Seat(uuid.UUID(s["player_id"]), s["name"], bool(s.get("bot"))))
    return seats


def _seed(room):
    """The seed of the room's deals and bots: the server's own, or the one a
    simulation stored, or the room's id for a game another program started."""
    settings = room.game_settings
    return str(settings.get("seed") or settings.get("simulation_seed") or room.id)
