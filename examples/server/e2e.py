"""End to end: real clients, a real server process, a real SIGKILL.

    python -m examples.server.e2e [--url URL] [--cache REDIS_URL] [--games 6] [--kills 2]

Starts the example server as a separate process on a free loopback port,
connects four WebSocket clients per game (the ``websockets`` package) for
several games at once, plus one all-bot game followed by a spectator, and
plays. In the middle of play it kills the server with SIGKILL, starts a new
one on the same store and port, and every client reconnects with its session
token and plays on; the bots resume by themselves. Then it checks the store:
every action a client saw acknowledged is there, unchanged; every game is
there once, finished, and passes ``verify_game``. It prints its figures.

The clients play legal moves of their own (seeded by name and version, so a
move re-sent after a reconnect is the same move); the server never trusts
them: the store's rules engine checks every action.
"""
import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from liapstore import NotFound
from liapstore.game import bots, rules

ROOT = Path(__file__).resolve().parents[2]
# Small games (five rounds) keep a run to seconds; a round is about 30 actions.
WINNING_SCORE, MAX_ROUNDS = 50, 5
KILL_EVERY = 25           # actions each game plays between two kills
# The bots' pause after each move: slow enough that the bot game is still
# being played when the server is killed, so that it has to resume by itself.
BOT_DELAY = 0.015
DEADLINE = 240.0          # seconds a whole run may take


@dataclass
class Figures:
    """What a run measured, and what the store says afterwards."""
    url: str = ""
    cache: bool = False
    games: int = 0
    clients: int = 0
    kills: int = 0
    reconnects: int = 0
    acknowledged: int = 0
    actions: int = 0              # actions stored in the run's games
    lost: int = 0                 # acknowledged, yet not in the store as acknowledged
    duplicated: int = 0           # games stored more than once for one room
    missing: int = 0              # rooms or games the store does not have
    unfinished: int = 0
    failed_verify: int = 0
    errors: list = field(default_factory=list)
    running_at_kills: list = field(default_factory=list)  # games under way at each kill
    ready_seconds: list = field(default_factory=list)    # restart -> server answers
    resumed_seconds: list = field(default_factory=list)  # restart -> every game moved on
    seconds: float = 0.0

    @property
    def ok(self):
        return (not self.lost and not self.duplicated and not self.missing and not self.unfinished
                and not self.failed_verify and not self.errors and self.games > 0)

    def lines(self):
        worst = lambda xs: f"{max(xs):.2f} s" if xs else "-"  # noqa: E731
        return [f"store {self.url}{' + Redis cache' if self.cache else ''}",
                f"games {self.games} ({self.games - 1} of 4 clients, 1 of 4 bots watched), "
                f"clients {self.clients}, kills {self.kills} (SIGKILL) with "
                f"{'/'.join(map(str, self.running_at_kills))} games under way, "
                f"reconnects {self.reconnects}",
                f"actions {self.actions} stored, {self.acknowledged} acknowledged to clients, "
                f"lost {self.lost}, games missing {self.missing}, duplicated {self.duplicated}, "
                f"unfinished {self.unfinished}, "
                f"failing verify {self.failed_verify}, client errors {len(self.errors)}",
                f"restart -> server answering: worst {worst(self.ready_seconds)}; "
                f"restart -> every game resumed: worst {worst(self.resumed_seconds)}",
                f"whole run {self.seconds:.1f} s"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The example server as a child process (``python -m examples.server``)."""

    def __init__(self, url, port, cache=None, log_path=None):
        self.url, self.port, self.cache = url, port, cache
        self.log_path = log_path or os.path.join(tempfile.mkdtemp(prefix="liap-e2e-"), "server.log")
        self.process = None

    def start(self):
        argv = [sys.executable, "-m", "examples.server", "--url", self.url, "--host", "127.0.0.1",
                "--port", str(self.port), "--bot-delay", str(BOT_DELAY)]
        if self.cache:
            argv += ["--cache", self.cache]
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": str(ROOT) + (os.pathsep + path if path else "")}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=log)

    def answers(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/status", timeout=1) as r:
                return json.load(r).get("ready") is True
        except OSError:
            return False

    async def wait_ready(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(self.answers):
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}):\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer in {timeout} s:\n{self.log_tail()}")
            await asyncio.sleep(0.02)

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines=30):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])


class Client:
    """One player (or the spectator) on a WebSocket, reconnecting with its token."""

    def __init__(self, run, username, code, spectator=False):
        self.run, self.username, self.code, self.spectator = run, username, code, spectator
        self.token = None
        self.ws = None
        self.sent = {}            # seq -> the action sent under it (seat added)
        self.acked = {}           # (game_id, seq) -> action
        self.state = None
        self.acting = None        # the version we last sent an action for
        self.done = asyncio.Event()
        self.replies = {}
        self.refs = 0
        self.reconnects = 0

    async def connect(self):
        """Open a connection (retrying while the server restarts) and log in
        (the first time) or resume with the token."""
        from websockets.asyncio.client import connect
        while True:
            try:
                self.ws = await connect(self.run.ws_url, open_timeout=5, max_queue=None)
                break
            except (OSError, asyncio.TimeoutError):
                await asyncio.sleep(0.02)
        self.acting = None
        self.reader = asyncio.get_running_loop().create_task(self._read(self.ws))
        hello = {"op": "resume", "token": self.token} if self.token else \
            {"op": "login", "username": self.username}
        welcome = await self.request(hello)
        self.token = welcome["token"]
        if self.spectator and self.run.started.is_set():
            await self.request({"op": "watch", "code": self.code})

    async def request(self, message):
        """Send and wait for the reply naming our ``ref``; an error raises."""
        self.refs += 1
        ref = self.refs
        future = self.replies[ref] = asyncio.get_running_loop().create_future()
        await self.ws.send(json.dumps({**message, "ref": ref}))
        reply = await asyncio.wait_for(future, 30)
        if reply["type"] == "error":
            raise RuntimeError(f"{self.username}: {message['op']} refused: {reply['message']}")
        return reply

    async def _read(self, ws):
        from websockets.exceptions import ConnectionClosed
        try:
            async for raw in ws:
                message = json.loads(raw)
                future = self.replies.pop(message.get("ref"), None)
                if future is not None and not future.done():
                    future.set_result(message)
                    if message["type"] != "ack":
                        continue
                kind = message["type"]
                if kind == "state" and message["code"] == self.code:
                    await self._on_state(ws, message)
                elif kind == "ack":
                    self.acked[(message["game_id"], message["seq"])] = self.sent[message["seq"]]
                    self.run.acknowledged(self.code)
                elif kind == "error":
                    self.run.errors.append(f"{self.username}: {message['message']}")
        except ConnectionClosed:
            pass
        for future in self.replies.values():
            if not future.done():
                future.set_exception(ConnectionError("connection lost"))
        self.replies.clear()

    async def _on_state(self, ws, state):
        if self.state is not None and state["version"] < self.state["version"] \
                and state["game_id"] == self.state["game_id"]:
            # The server forgot actions we saw: the check will count them as lost.
            self.run.errors.append(f"{self.username}: {self.code} went back from version "
                                   f"{self.state['version']} to {state['version']}")
        self.state = state
        self.run.saw(self.code, state["version"])
        if state["phase"] == "GAME_OVER":
            self.done.set()
            await ws.close()
            return
        want = state.get("expected")
        if self.spectator or not want or want["seat"] != state["seat"] \
                or want["kind"] not in ("redeal", "declare", "play") \
                or self.acting == state["version"]:
            return
        self.acting = state["version"]
        action = choose(want, state["hand"], random.Random(f"{self.username}:{state['version']}"))
        seq = state["version"] + 1
        self.sent[seq] = {**action, "seat": state["seat"]}
        await ws.send(json.dumps({"op": "act", "code": self.code, "seq": seq, "action": action}))

    async def play(self):
        """Play until the game is over, reconnecting whenever the server goes away."""
        from websockets.exceptions import WebSocketException
        while not self.done.is_set():
            await self.reader
            if self.done.is_set():
                break
            self.reconnects += 1
            while True:
                try:
                    await self.connect()
                    break
                except (ConnectionError, OSError, asyncio.TimeoutError, WebSocketException):
                    await asyncio.sleep(0.05)   # the server died again mid-hello


def choose(want, hand, rng):
    """A legal move for what the table waits for, from our own hand only."""
    if want["kind"] == "redeal":
        return {"type": "redeal", "accept": rng.random() < 0.3}
    if want["kind"] == "declare":
        return {"type": "declare", "piles": rng.choice(want["allowed"])}
    if want["count"] is None:
        pieces = rng.choice(bots.valid_plays(rules.sort_hand(hand)))
    else:
        pieces = rng.sample(hand, want["count"])
    return {"type": "play", "pieces": list(pieces)}


class Run:
    """Several games at once through one server, killed ``kills`` times."""

    def __init__(self, server, games, tag):
        self.server, self.games, self.tag = server, games, tag
        self.ws_url = f"ws://127.0.0.1:{server.port}/ws"
        self.codes = [f"{tag}G{i}" for i in range(games)]
        self.bot_code = f"{tag}B"
        self.versions = {}         # code -> highest version a client saw
        self.errors = []
        self.started = asyncio.Event()
        self.progress = asyncio.Event()
        self.restarted_at = None
        self.pending = {}          # code -> version to beat after the last restart
        self.resumed = {}          # code -> seconds from restart to its first new version
        self.running_at_kills = []  # games under way at each kill

    def saw(self, code, version):
        self.versions[code] = max(version, self.versions.get(code, 0))
        if self.restarted_at is not None and code in self.pending \
                and code not in self.resumed and version > self.pending[code]:
            self.resumed[code] = time.monotonic() - self.restarted_at
        self.progress.set()

    def acknowledged(self, code):
        self.progress.set()

    async def setup(self):
        """Log every client in, make the rooms, seat everyone, start the games."""
        self.players = {code: [Client(self, f"{code.lower()}_p{s}", code) for s in range(4)]
                        for code in self.codes}
        self.spectator = Client(self, f"{self.bot_code.lower()}_watch", self.bot_code, spectator=True)
        everyone = [c for cs in self.players.values() for c in cs] + [self.spectator]
        await asyncio.gather(*(c.connect() for c in everyone))
        for code, (host, *others) in self.players.items():
            await host.request({"op": "create", "code": code, "winning_score": WINNING_SCORE,
                                "max_rounds": MAX_ROUNDS})
            await asyncio.gather(*(c.request({"op": "sit", "code": code}) for c in others))
        watcher = self.spectator
        await watcher.request({"op": "create", "code": self.bot_code,
                               "winning_score": WINNING_SCORE, "max_rounds": MAX_ROUNDS})
        await watcher.request({"op": "leave", "code": self.bot_code})
        for seat in range(4):
            await watcher.request({"op": "bot", "code": self.bot_code, "seat": seat})
        self.started.set()
        # All at once, so that the games run neck and neck and every kill
        # finds them all under way.
        await asyncio.gather(*(host.request({"op": "start", "code": code})
                               for code, (host, *_) in self.players.items()),
                             watcher.request({"op": "start", "code": self.bot_code}))
        return everyone

    async def play(self, kills):
        everyone = await self.setup()
        playing = asyncio.gather(*(c.play() for c in everyone))
        kill_times = []
        for k in range(1, kills + 1):
            # Kill once every game still running has moved KILL_EVERY actions on.
            target = k * KILL_EVERY
            while not all(self.versions.get(c, 0) >= target or self._over(c) for c in self.all_codes):
                self.progress.clear()
                await asyncio.wait_for(self.progress.wait(), 60)
            running = [c for c in self.all_codes if not self._over(c)]
            if not running:
                break
            self.running_at_kills.append(len(running))
            self.pending = {c: self.versions.get(c, 0) for c in running}
            self.server.kill()
            self.restarted_at = time.monotonic()
            self.resumed = {}
            self.server.start()
            await self.server.wait_ready()
            ready = time.monotonic() - self.restarted_at
            while set(self.resumed) | {c for c in running if self._over(c)} != set(running):
                self.progress.clear()
                await asyncio.wait_for(self.progress.wait(), 60)
            kill_times.append((ready, max(self.resumed.values(), default=0.0)))
        await playing
        return everyone, kill_times

    @property
    def all_codes(self):
        return self.codes + [self.bot_code]

    def _over(self, code):
        clients = self.players[code] if code in self.players else [self.spectator]
        return any(c.done.is_set() for c in clients)


def check(store, run, everyone, figures):
    """Compare what the clients were told with what the store holds."""
    acked = {}
    for client in everyone:
        for key, action in client.acked.items():
            if acked.setdefault(key, action) != action:
                figures.lost += 1   # two different actions acknowledged under one number
    by_game = {}
    for code in run.all_codes:
        try:
            room = store.get_room_by_code(code)
        except NotFound:
            figures.missing += 1
            continue
        games = store.list_games(room_id=room.id).items
        figures.missing += not games
        figures.duplicated += max(0, len(games) - 1)
        for game in games:
            figures.unfinished += game.current_phase != "GAME_OVER"
            figures.failed_verify += bool(store.verify_game(game.id))
            stored = {a.sequence_number: a.action_data for a in store.list_actions(game.id)}
            figures.actions += len(stored)
            by_game[str(game.id)] = stored
    for (game_id, seq), action in acked.items():
        if by_game.get(game_id, {}).get(seq) != action:
            figures.lost += 1
    figures.acknowledged = len(acked)


async def run_async(url, *, cache=None, games=6, kills=2, tag="E", port=None, log_path=None):
    """One whole run; returns its Figures (``figures.ok`` says whether it passed)."""
    import liapstore
    started = time.monotonic()
    figures = Figures(url=liapstore.urls.redact(url), cache=bool(cache), games=games + 1,
                      clients=4 * games + 1)
    server = Server(url, port or free_port(), cache, log_path)
    run = Run(server, games, tag)
    server.start()
    try:
        await server.wait_ready()
        everyone, kill_times = await asyncio.wait_for(run.play(kills), DEADLINE)
    except BaseException:
        server.stop()
        print(f"--- server log tail ({server.log_path}):\n{server.log_tail()}", file=sys.stderr)
        raise
    server.stop()
    figures.kills = len(kill_times)
    figures.running_at_kills = run.running_at_kills
    figures.ready_seconds = [r for r, _ in kill_times]
    figures.resumed_seconds = [s for _, s in kill_times]
    figures.reconnects = sum(c.reconnects for c in everyone)
    figures.errors = run.errors
    with liapstore.connect(url) as store:
        check(store, run, everyone, figures)
    figures.seconds = time.monotonic() - started
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m examples.server.e2e",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="the store (default: a new SQLite file)")
    parser.add_argument("--cache", help="a Redis URL for liapstore's cache")
    parser.add_argument("--games", type=int, default=6, help="games of 4 clients (one bot game comes on top)")
    parser.add_argument("--kills", type=int, default=2, help="SIGKILLs in the middle of play")
    args = parser.parse_args(argv)
    url = args.url or f"sqlite:///{tempfile.mkdtemp(prefix='liap-e2e-')}/e2e.db"
    tag = "E" + os.urandom(2).hex().upper()   # room codes no earlier run used
    figures = asyncio.run(run_async(url, cache=args.cache, games=args.games, kills=args.kills, tag=tag))
    print("\n".join(figures.lines()))
    for error in figures.errors:
        print("client error:", error)
    print("PASS" if figures.ok else "FAIL")
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
