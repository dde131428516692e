"""An example Liap Tui game server on liapstore: FastAPI, uvicorn, one WebSocket.

    python -m examples.server [--url URL] [--cache REDIS_URL] [--host H] [--port P]

See README.md beside this file. ``create_app`` builds the ASGI app;
``tables`` holds the game logic (rooms, seats, bots), ``app`` the web half,
``storage`` the store the server awaits.
"""


def create_app(*args, **kwargs):
    """The ASGI app (see ``app.create_app``); imported lazily so that
    ``examples.server.e2e`` does not need FastAPI."""
    from .app import create_app as make
    return make(*args, **kwargs)
