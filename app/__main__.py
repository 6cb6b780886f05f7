"""`python -m app`: serve GPT Answers with Hypercorn."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

import uvloop
from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig
from quart import Quart

from . import create_app
from .config import Config, ConfigError

BACKLOG = 2048


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted, or run the command given; a bad setting is one line on stderr."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        config = Config.from_env()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    if argv:
        return command(config, argv)
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


def command(config: Config, argv: list[str]) -> int:
    """`python -m app keys create --user NAME --name LABEL`: print a new API key for a person;
    `python -m app settings rotate-key --old-secret-env OLD_SECRET_KEY`: seal stored secrets anew."""
    from .people import api_keys

    parser = argparse.ArgumentParser(
        prog="python -m app", description="GPT Answers: serve it, or run a command."
    )
    commands = parser.add_subparsers(dest="what", required=True)
    keys = commands.add_parser("keys", help="API keys").add_subparsers(dest="action", required=True)
    create = keys.add_parser("create", help="make a key for a person and print it (shown this once)")
    create.add_argument("--user", required=True, help="the person's account name")
    create.add_argument("--name", required=True, help="a name for the key, e.g. the machine that uses it")
    stored = commands.add_parser("settings", help="settings kept in the database")
    rotate = stored.add_subparsers(dest="action", required=True).add_parser(
        "rotate-key", help="seal the model servers' stored keys again under the current SECRET_KEY"
    )
    rotate.add_argument(
        "--old-secret-env", required=True, help="the environment variable holding the former SECRET_KEY"
    )
    args = parser.parse_args(argv)
    if args.what == "settings":
        return _rotate(config, args.old_secret_env)
    try:
        key = asyncio.run(api_keys.make_from_command_line(config.database_url, args.user, args.name))
    except api_keys.Refusal as refusal:
        print(refusal, file=sys.stderr)
        return 1
    print(key)
    return 0


def _rotate(config: Config, variable: str) -> int:
    """Seal the stored secrets under SECRET_KEY, opening them with the key the variable holds."""
    from .settings import rotate
    from .settings.sealing import Unsealable
    from .storage import open_database

    old = os.environ.get(variable, "").strip()
    if not old:
        print(f"{variable} is not set: set it to the former SECRET_KEY", file=sys.stderr)
        return 2

    async def run() -> int:
        db = open_database(config.database_url)
        await db.open()
        try:
            return await rotate(db, old, config.secret_key)
        finally:
            await db.close()

    try:
        turned = asyncio.run(run())
    except Unsealable:
        print(
            f"a stored key opens with neither {variable} nor SECRET_KEY: nothing was changed", file=sys.stderr
        )
        return 1
    print(f"{turned} stored key{'s' if turned != 1 else ''} sealed again under the current SECRET_KEY")
    return 0


async def _serve(app: Quart, server: HypercornConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for name in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(name, stop.set)
    await serve(app, server, shutdown_trigger=stop.wait)


if __name__ == "__main__":
    sys.exit(main())
