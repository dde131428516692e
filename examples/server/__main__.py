"""``python -m examples.server``: run the example server with uvicorn."""
import argparse
import logging

import uvicorn

from liapstore.metrics import JsonFormatter
from liapstore.urls import redact

from . import create_app


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m examples.server",
                                     description="A Liap Tui server whose games survive a restart.")
    parser.add_argument("--url", default=None,
                        help="the store (default: $LIAPSTORE_URL, then sqlite:///liapstore.db)")
    parser.add_argument("--cache", default=None, help="a Redis URL for liapstore's cache")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (uvicorn's --host)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (uvicorn's --port)")
    parser.add_argument("--bot-delay", type=float, default=0.5,
                        help="seconds a bot waits after each of its moves (0: as fast as it can)")
    parser.add_argument("--json-logs", action="store_true",
                        help="log one JSON object a line (liapstore's fields included)")
    args = parser.parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if args.json_logs else logging.Formatter(
        "%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.getLogger("examples.server").info(
        "store %s%s", redact(args.url or "default"),
        f", cache {redact(args.cache)}" if args.cache else "")
    uvicorn.run(create_app(args.url, args.cache, bot_delay=args.bot_delay),
                host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
