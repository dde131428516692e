"""The web half of the example server: a FastAPI app with one WebSocket.

Every message is a JSON object. A client sends ``{"op": ..., ...}`` and may
add ``"ref"``, which the reply repeats. The ops:

    login   {username}                  -> welcome {token, player}; a new session
    resume  {token}                     -> welcome; back in every seat the player holds
    rooms                               -> rooms {rooms}
    create  {code, name?, winning_score?, max_rounds?}  -> the room, creator in seat 0
    sit     {code, seat?}               -> a seat at a table that has not started
    bot     {code, seat}                -> a bot in that seat (the room's creator)
    leave   {code}                      -> give a seat up before the game starts
    start   {code}                      -> the game starts (four seats taken)
    watch   {code}  /  unwatch {code}   -> follow a table as a spectator (no log-in needed)
    act     {code, action, seq?}        -> ack {code, seq, game_id} once the store has it
    ping                                -> pong

``action`` is ``{"type": "redeal", "accept": bool}``, ``{"type": "declare",
"piles": n}`` or ``{"type": "play", "pieces": [...]}``: the seat is the
player's own. After every change a table sends each follower a ``state``
message (its own hand only, never another's) with the ``events`` the action
settled (turn, round and game results). Refusals come back as ``error``.

HTTP: ``/`` the page, ``/api/rooms``, ``/api/games`` (finished games, paged),
``/api/games/{id}/replay`` (a finished game, turn by turn, re-derived by the
store's replay), ``/api/status`` (ready once the games are recovered),
``/healthz`` (the database and the cache each checked) and ``/metrics``
(the store's Prometheus metrics).
"""
import asyncio
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from liapstore import InvalidInput, LiapstoreError, NotFound, metrics
from liapstore.game.replay import describe

from .storage import open_store
from .tables import Lobby, Refused

log = logging.getLogger("examples.server")
STATIC = Path(__file__).resolve().parent / "static"


class Client:
    """One WebSocket connection: who is logged in on it, which tables it follows."""

    def __init__(self, websocket):
        self.websocket = websocket
        self.ip = websocket.client.host if websocket.client else None
        self.player = None
        self.following = set()     # room codes

    @property
    def player_id(self):
        return None if self.player is None else self.player.id


def create_app(url=None, cache=None, *, bot_delay=0.5):
    """The server's ASGI app; the store is opened, and every unfinished game
    recovered, before it accepts a connection."""

    @asynccontextmanager
    async def lifespan(app):
        db = await open_store(url, cache)
        app.state.lobby = Lobby(db, bot_delay=bot_delay, send=_send)
        app.state.recovered = await app.state.lobby.recover()
        log.info("ready: %d unfinished game(s) recovered", app.state.recovered)
        try:
            yield
        finally:
            for table in app.state.lobby.tables.values():
                if table.driver is not None:
                    table.driver.cancel()
            await db.close()

    app = FastAPI(title="Liap Tui on liapstore", lifespan=lifespan)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/")
    async def page():
        return FileResponse(STATIC / "index.html")

    @app.get("/favicon.ico", status_code=204)
    async def favicon():
        return None

    @app.get("/api/status")
    async def status():
        lobby = app.state.lobby
        return {"ready": True, "recovered": app.state.recovered, "tables": len(lobby.tables),
                "playing": sum(1 for t in lobby.tables.values()
                               if t.state is not None and not t.over)}

    @app.get("/healthz")
    async def healthz():
        """200 when the database (and the cache, when there is one) answers,
        else 503; either way the body says which is down and why."""
        health = await metrics.ahealth(app.state.lobby.db)
        return JSONResponse(health, status_code=200 if health["ok"] else 503)

    @app.get("/metrics")
    async def prometheus():
        """The store's metrics in Prometheus' text format (needs prometheus_client)."""
        try:
            body, content_type = await app.state.lobby.db.run(metrics.render)
        except RuntimeError as e:  # prometheus_client is not installed
            raise HTTPException(501, str(e)) from None
        return Response(body, media_type=content_type)

    @app.get("/api/rooms")
    async def rooms():
        return _rooms(app.state.lobby)

    @app.get("/api/games")
    async def games(after: str | None = None, limit: int = 20):
        return await _finished_games(app.state.lobby, after, limit)

    @app.get("/api/games/{game_id}/replay")
    async def replay(game_id: str):
        return await _replay(app.state.lobby.db, game_id)

    @app.websocket("/ws")
    async def websocket(websocket: WebSocket):
        await websocket.accept()
        client = Client(websocket)
        lobby = app.state.lobby
        try:
            while True:
                message = await websocket.receive_json()
                if not isinstance(message, dict):
                    await _send(client, {"type": "error", "message": "send JSON objects"})
                    continue
                try:
                    reply = await _handle(lobby, client, message)
                except Refused as e:
                    reply = {"type": "error", "op": message.get("op"), "message": str(e)}
                except LiapstoreError as e:
                    # The store is unreachable or the data disagrees: say so and carry on.
                    log.warning("%s failed: %s", message.get("op"), e)
                    reply = {"type": "error", "op": message.get("op"),
                             "message": f"{type(e).__name__}: {e}"}
                except Exception:  # noqa: BLE001 - a bug of ours: log it, keep the connection
                    log.exception("%s failed", message.get("op"))
                    reply = {"type": "error", "op": message.get("op"), "message": "internal error"}
                if reply is not None:
                    if "ref" in message:
                        reply["ref"] = message["ref"]
                    await _send(client, reply)
        except (WebSocketDisconnect, RuntimeError):
            pass
        except ValueError:  # not JSON
            await websocket.close(code=1003)
        finally:
            await _gone(lobby, client)

    return app


async def _send(client, message):
    """Send one message; a connection that has gone is dropped by its own loop."""
    try:
        await client.websocket.send_json(message)
    except Exception:  # noqa: BLE001 - closed while we were writing: nothing to tell
        pass


async def _handle(lobby, client, message):
    op = message.get("op")
    if op == "ping":
        return {"type": "pong"}
    if op == "rooms":
        return {"type": "rooms", "rooms": _rooms(lobby)}
    if op in ("login", "resume"):
        if op == "login":
            player, token = await lobby.login(message.get("username"), client.ip,
                                              client.websocket.headers.get("user-agent"))
        else:
            player, token = await lobby.resume(message.get("token")), message.get("token")
        if client.player is not None and client.player.id != player.id:
            raise Refused("this connection is logged in as someone else")
        if client.player is None:
            client.player = player
            lobby.online[player.id] = lobby.online.get(player.id, 0) + 1
        tables = lobby.tables_of(player.id)
        for table in tables:
            await _follow(lobby, client, table)
        return {"type": "welcome", "token": token,
                "player": {"id": str(player.id), "name": player.display_name},
                "seats": [{"code": t.code, "seat": t.seat_of(player.id)} for t in tables]}
    if op == "watch":
        await _follow(lobby, client, lobby.table(message.get("code")))
        return {"type": "ok", "op": op}
    if op == "unwatch":
        table = lobby.table(message.get("code"))
        table.watchers.discard(client)
        client.following.discard(table.code)
        return {"type": "unwatched", "code": table.code}
    if client.player is None:
        raise Refused("log in first")
    code = message.get("code")
    if op == "create":
        table = await lobby.create_room(client.player, code, message.get("name"),
                                        winning_score=message.get("winning_score"),
                                        max_rounds=message.get("max_rounds"), ip=client.ip)
        await _follow(lobby, client, table)
    elif op == "sit":
        table = await lobby.sit(client.player, code, message.get("seat"))
        await _follow(lobby, client, table)
    elif op == "bot":
        await lobby.sit(client.player, code, message.get("seat"), bot=True)
    elif op == "leave":
        await lobby.leave(client.player, code)
    elif op == "start":
        await lobby.start(client.player, code, ip=client.ip)
    elif op == "act":
        seq = await lobby.act(client.player, code, message.get("action"), message.get("seq"),
                              ip=client.ip)
        return {"type": "ack", "code": code, "seq": seq,
                "game_id": str(lobby.table(code).game_id)}
    else:
        raise Refused(f"unknown op {op!r}")
    return {"type": "ok", "op": op, "code": code}


async def _follow(lobby, client, table):
    """Add the client to the table's followers and send it the table as it is."""
    async with table.lock:
        table.watchers.add(client)
        client.following.add(table.code)
        await _send(client, table.view(client.player_id, _online(lobby)))


async def _gone(lobby, client):
    for code in client.following:
        table = lobby.tables.get(code)
        if table is not None:
            table.watchers.discard(client)
    if client.player is not None:
        lobby.online[client.player.id] -= 1
        # The others see the seat go grey.
        for table in lobby.tables_of(client.player.id):
            async with table.lock:
                await lobby.broadcast(table)


def _online(lobby):
    return {pid for pid, n in lobby.online.items() if n}


def _rooms(lobby):
    online = _online(lobby)
    return [t.summary(online) for t in lobby.tables.values()]


async def _finished_games(lobby, after, limit):
    db = lobby.db
    try:
        page = await db.list_games(active=False, limit=max(1, min(limit, 100)), after=after)
    except InvalidInput as e:
        raise HTTPException(400, str(e)) from None

    async def line(game):
        room, names = await asyncio.gather(db.get_room(game.room_id), _seat_names(db, game.id))
        winner = next((i for i, s in enumerate(names) if s["player_id"] == str(game.winner_id)), None)
        return {"id": str(game.id), "code": room.room_code,
                "started_at": game.started_at.isoformat(), "ended_at": game.ended_at.isoformat(),
                "rounds": game.current_round, "finished": game.current_phase == "GAME_OVER",
                "totals": (game.final_scores or {}).get("totals"), "winner": winner,
                "seats": [s["name"] for s in names]}
    # Each game's reads are independent: the AsyncStore runs them side by side.
    return {"games": list(await asyncio.gather(*(line(g) for g in page.items))),
            "next": page.next_cursor}


async def _seat_names(db, game_id):
    seats = await db.get_seats(game_id)
    players = await asyncio.gather(*(db.get_player(seat.player_id) for seat in seats))
    return [{"player_id": str(seat.player_id), "name": player.display_name}
            for seat, player in zip(seats, players)]


async def _replay(db, game_id):
    """A finished game's every step as the rules re-derive it from the log,
    with the state after it (hands included: the game is over) and the
    scores after each round."""
    try:
        game = await db.get_game(game_id)
    except (InvalidInput, NotFound) as e:
        raise HTTPException(404, str(e)) from None
    if game.ended_at is None:
        raise HTTPException(409, "the game is still being played: its hands are secret; watch it live")
    replay = await db.replay(game.id)
    steps = []
    for step in replay.steps:
        s = step.state
        steps.append({"seq": step.sequence, "action": step.action, "lines": describe(step),
                      "round": s.round, "phase": s.phase, "multiplier": s.multiplier,
                      "scores": list(s.scores), "declarations": list(s.declarations),
                      "captured": list(s.captured), "hands": [list(h) for h in s.hands],
                      "plays": [[seat, list(p)] for seat, p in s.plays],
                      "events": list(step.events)})
    return {"id": str(game.id), "seats": [s["name"] for s in await _seat_names(db, game.id)],
            "winning_score": game.winning_score, "max_rounds": game.max_rounds,
            "final": (game.final_scores or {}).get("totals"),
            "problems": [str(p) for p in replay.problems], "steps": steps}
