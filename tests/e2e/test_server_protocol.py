"""The example server's promises one by one, through a real server process
and real WebSocket clients: refusals, secrecy of hands, a waiting room and a
seat that outlive a SIGKILL, and a token that brings a player back."""
import asyncio
import json
import urllib.error
import urllib.request

import pytest

import liapstore
from examples.server import e2e


class Socket:
    """A bare client: send an op, read messages until the reply comes."""

    def __init__(self, port):
        self.port, self.ref, self.states = port, 0, []

    async def __aenter__(self):
        from websockets.asyncio.client import connect
        self.ws = await connect(f"ws://127.0.0.1:{self.port}/ws")
        return self

    async def __aexit__(self, *exc):
        await self.ws.close()

    async def ask(self, op, **fields):
        self.ref += 1
        await self.ws.send(json.dumps({"op": op, "ref": self.ref, **fields}))
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), 20))
            if message["type"] == "state":
                self.states.append(message)
            if message.get("ref") == self.ref:
                return message

    async def state(self, code, until=lambda s: True):
        for state in reversed(self.states):
            if state["code"] == code and until(state):
                return state
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), 20))
            if message["type"] == "state":
                self.states.append(message)
                if message["code"] == code and until(message):
                    return message


@pytest.fixture
def server(store_url, tmp_path):
    running = e2e.Server(store_url, e2e.free_port(), log_path=str(tmp_path / "server.log"))
    running.start()
    asyncio.run(running.wait_ready())
    yield running
    running.stop()


def get(server, path):
    """(status, body) of an HTTP GET on the server."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def restart(server):
    server.kill()
    server.start()
    asyncio.run(server.wait_ready())


@pytest.mark.backends("sqlite")
def test_refusals_secrecy_and_a_seat_that_outlives_a_kill(server, store_url):
    async def before_the_kill():
        async with Socket(server.port) as alice, Socket(server.port) as bob, \
                Socket(server.port) as carol, Socket(server.port) as watcher:
            assert (await alice.ask("create", code="ROOM1"))["type"] == "error"  # not logged in
            welcome = await alice.ask("login", username="alice")
            assert welcome["type"] == "welcome" and welcome["token"]
            bob_token = (await bob.ask("login", username="bob"))["token"]
            assert (await carol.ask("login", username="bot_9"))["type"] == "error"
            assert (await alice.ask("create", code="room one"))["type"] == "error"
            assert (await alice.ask("create", code="ROOM1", max_rounds=2))["type"] == "ok"
            assert (await carol.ask("login", username="carol"))["type"] == "welcome"
            assert (await carol.ask("create", code="ROOM1"))["message"] == "room ROOM1 exists already"
            assert (await bob.ask("sit", code="ROOM1"))["type"] == "ok"
            assert (await bob.ask("bot", code="ROOM1", seat=2))["message"] == \
                "only the room's creator seats bots"
            assert (await alice.ask("start", code="ROOM1"))["message"] == \
                "every seat needs a player or a bot"
            # Carol's room waits for players when the server dies.
            assert (await carol.ask("create", code="WAIT1", name="Carol's"))["type"] == "ok"
            for seat in (2, 3):
                assert (await alice.ask("bot", code="ROOM1", seat=seat))["type"] == "ok"
            assert (await watcher.ask("watch", code="ROOM1"))["type"] == "ok"
            assert (await alice.ask("start", code="ROOM1"))["type"] == "ok"
            # Alice or Bob must act soon (the bots and the deal go by themselves).
            human = lambda s: s.get("expected", {}).get("seat") in (0, 1)  # noqa: E731
            state = await alice.state("ROOM1", human)
            mover, seat = (alice, 0) if state["expected"]["seat"] == 0 else (bob, 1)
            state = await mover.state("ROOM1", lambda s: s["version"] >= state["version"])
            assert state["seat"] == seat and len(state["hand"]) == state["hand_sizes"][seat]
            seen = await watcher.state("ROOM1", lambda s: s["version"] >= state["version"])
            assert seen["seat"] is None and seen["hand"] is None
            assert "hands" not in json.dumps(seen)          # not even inside an event
            # Out of turn, an illegal move, a deal: refused, nothing recorded.
            other = bob if mover is alice else alice
            assert (await other.ask("act", code="ROOM1", action={"type": "declare", "piles": 1}))[
                "type"] == "error"
            wrong = {"redeal": {"type": "declare", "piles": 1},
                     "declare": {"type": "declare", "piles": 9},
                     "play": {"type": "play", "pieces": ["NOT_A_PIECE"]}}[state["expected"]["kind"]]
            refused = await mover.ask("act", code="ROOM1", seq=state["version"] + 1, action=wrong)
            assert refused["type"] == "error"
            assert (await mover.ask("act", code="ROOM1", action={"type": "deal", "hands": []}))[
                "type"] == "error"
            return state, seat, bob_token

    state, seat, bob_token = asyncio.run(before_the_kill())
    with liapstore.connect(store_url) as store:
        assert store.get_game(state["game_id"]).version == state["version"]

    restart(server)

    async def after_the_kill():
        async with Socket(server.port) as bob, Socket(server.port) as alice, \
                Socket(server.port) as stranger:
            assert (await stranger.ask("resume", token="not-a-token"))["type"] == "error"
            rooms = {r["code"]: r for r in (await stranger.ask("rooms"))["rooms"]}
            assert rooms["WAIT1"]["phase"] == "WAITING" and rooms["WAIT1"]["name"] == "Carol's"
            assert [s and s["name"] for s in rooms["WAIT1"]["seats"]] == ["carol", None, None, None]
            assert rooms["ROOM1"]["version"] == state["version"]
            # Bob comes back with his token: his seat, his hand.
            welcome = await bob.ask("resume", token=bob_token)
            assert welcome["player"]["name"] == "bob"
            assert welcome["seats"] == [{"code": "ROOM1", "seat": 1}]
            again = await bob.state("ROOM1")
            if seat == 1:
                assert again["hand"] == state["hand"] and again["version"] == state["version"]
            # And the game goes on to its end with a fresh log-in for Alice.
            await alice.ask("login", username="alice")
            players = {0: alice, 1: bob}
            while True:
                current = await alice.state("ROOM1", lambda s: s["version"] >= again["version"])
                if current["phase"] == "GAME_OVER":
                    return current
                want = current["expected"]
                if want["seat"] in players:
                    me = players[want["seat"]]
                    mine = await me.state("ROOM1", lambda s: s["version"] == current["version"])
                    action = e2e.choose(want, mine["hand"], __import__("random").Random(current["version"]))
                    reply = await me.ask("act", code="ROOM1", seq=current["version"] + 1, action=action)
                    assert reply["type"] == "ack" and reply["seq"] == current["version"] + 1
                again = await alice.state("ROOM1", lambda s: s["version"] > current["version"])

    final = asyncio.run(after_the_kill())
    with liapstore.connect(store_url) as store:
        game = store.get_game(final["game_id"])
        assert game.final_scores["totals"] == final["scores"]
        assert store.verify_game(game.id) == []
    # What an operator watches: the health check and the store's metrics.
    status, body = get(server, "/healthz")
    assert status == 200 and json.loads(body) == {
        "ok": True, "checks": {"database": {"up": True, "error": None}}}
    status, body = get(server, "/metrics")
    recorded = [line for line in body.splitlines()
                if line.startswith("liapstore_actions_recorded_total{")]
    assert status == 200 and recorded and float(recorded[0].split()[-1]) > 0


@pytest.mark.backends("postgres")
def test_bots_wait_out_a_database_outage(backend, tmp_path, figures):
    """The database server itself dies (SIGKILL, a throwaway cluster) under
    the example server while the bots play: their moves fail and are tried
    again every second, a human's action is refused with the reason, and once
    PostgreSQL is back the game goes on to its end, intact."""
    del backend  # only selects the test when PostgreSQL is among the backends
    from support.servers import PostgresServer, create_database
    with PostgresServer.start() as postgres:
        url = create_database(postgres.url, "liap_server_outage")
        server = e2e.Server(url, e2e.free_port(), log_path=str(tmp_path / "server.log"))
        server.start()
        try:
            async def play():
                async with Socket(server.port) as watcher, Socket(server.port) as dave:
                    await watcher.ask("login", username="watcher")
                    await dave.ask("login", username="dave")
                    assert (await watcher.ask("create", code="DOWN1", max_rounds=2))["type"] == "ok"
                    assert (await watcher.ask("leave", code="DOWN1"))["type"] == "ok"
                    for seat in range(4):
                        assert (await watcher.ask("bot", code="DOWN1", seat=seat))["type"] == "ok"
                    assert (await watcher.ask("start", code="DOWN1"))["type"] == "ok"
                    before = await watcher.state("DOWN1", lambda s: s["version"] >= 10)
                    postgres.kill()
                    status, body = await asyncio.to_thread(get, server, "/healthz")
                    assert status == 503
                    assert json.loads(body)["checks"]["database"]["up"] is False
                    refused = await dave.ask("create", code="DOWN2")
                    assert refused["type"] == "error" and "StorageUnavailable" in refused["message"]
                    await asyncio.sleep(2.5)    # two or three failed tries
                    stalled = (await watcher.ask("rooms"))["rooms"]
                    stalled = next(r for r in stalled if r["code"] == "DOWN1")["version"]
                    await asyncio.to_thread(postgres.restart)
                    final = await watcher.state("DOWN1", lambda s: s["phase"] == "GAME_OVER")
                    return before, stalled, final

            asyncio.run(server.wait_ready())
            before, stalled, final = asyncio.run(play())
        finally:
            server.stop()
        assert "retrying" in server.log_tail(200)
        with liapstore.connect(url) as store:
            game = store.get_game(final["game_id"])
            assert store.verify_game(game.id) == []
            assert game.final_scores["totals"] == final["scores"]
            # Nothing was recorded while the database was down, and nothing lost.
            assert before["version"] <= stalled < game.version
            assert len(store.list_actions(game.id)) == game.version
        figures(f"e2e: PostgreSQL SIGKILLed under the example server at action {before['version']}; "
                f"bots retried, game finished after {game.version} actions, verify clean")
