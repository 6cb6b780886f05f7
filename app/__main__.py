"""`python -m app`: serve GPT Answers with Hypercorn."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import uvloop
from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig
from quart import Quart

from . import create_app
from .config import Config, ConfigError

BACKLOG = 2048


def main() -> int:
    """Read the settings, then serve until interrupted; a bad setting is one line on stderr."""
    try:
        config = Config.from_env()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    app = create_app(config)
    server = HypercornConfig()
    server.bind = [f"[{config.host}]:{config.port}" if ":" in config.host else f"{config.host}:{config.port}"]
    server.accesslog = None
    # Hypercorn's errors as the app's own JSON lines, masked like them, not in a format of its own.
    server.errorlog = logging.getLogger("hypercorn.error")
    server.graceful_timeout = 10
    # Hypercorn's default queue of 100 unaccepted connections drops the rest of a burst of
    # visitors, whose connections then wait seconds for TCP to try again.
    server.backlog = BACKLOG
    print(f"GPT Answers on http://{config.host}:{config.port}/ (model: {config.model_name})", flush=True)
    # uvloop: the event loop's own work (sockets, timers, callbacks) at a fraction of the cost.
    asyncio.run(_serve(app, server), loop_factory=uvloop.new_event_loop)
    return 0


async def _serve(app: Quart, server: HypercornConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for name in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(name, stop.set)
    await serve(app, server, shutdown_trigger=stop.wait)


if __name__ == "__main__":
    sys.exit(main())
