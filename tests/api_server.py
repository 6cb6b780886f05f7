"""The app served by Hypercorn inside the test's own event loop, with an account and API keys to call it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import openai
import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig
from quart import Quart

from app import create_app
from app.config import Config, Rate
from app.people import api_keys
from app.people.passwords import hash_password
from app.storage import Database, Row, users

PASSWORD = "correct horse battery"
# API calls need accounts; the test decides the rest.
ACCOUNTS = {"sign_in": "accounts", "sign_up": "open", "login_rate": Rate(1000, 60)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    """The app on a real port: its address, its database, and how to make people and keys."""

    app: Quart
    url: str

    @property
    def db(self) -> Database:
        return self.app.extensions["db"]

    @property
    def api(self) -> str:
        return f"{self.url}/v1"

    async def person(self, name: str = "ada", role: str = "user") -> Row:
        """An account (made on first call)."""
        found = await users.by_username(self.db, name)
        return found or await users.create_account(self.db, name, await hash_password(PASSWORD), role)

    async def key(self, name: str = "ada", label: str = "laptop") -> str:
        """A new API key of a person (made if need be)."""
        return await api_keys.make(self.db, await self.person(name), label, None)

    def client(self, key: str, **options: object) -> openai.AsyncOpenAI:
        """The real openai client pointed at the app, without retries."""
        return openai.AsyncOpenAI(base_url=self.api, api_key=key, max_retries=0, **options)  # type: ignore[arg-type]


async def serving(config: Config) -> AsyncIterator[Served]:
    """Serve an app made from `config` until the block ends."""
    app = create_app(config)
    port = free_port()
    hyper = HypercornConfig()
    hyper.bind = [f"127.0.0.1:{port}"]
    hyper.accesslog = None
    hyper.graceful_timeout = 2
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, hyper, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    # Hypercorn listens once the app has started (migrations and all), which takes a while on a busy machine.
    for _ in range(1200):
        if task.done():
            await task
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        break
    try:
        yield Served(app, f"http://127.0.0.1:{port}")
    finally:
        stop.set()
        await task


@pytest.fixture
async def served(config: Config) -> AsyncIterator[Served]:
    """The app with accounts, served by Hypercorn on 127.0.0.1."""
    async for running in serving(replace(config, **{**ACCOUNTS, **_marked(config)})):
        yield running


def _marked(config: Config) -> dict[str, object]:
    # `@pytest.mark.settings` already shaped `config`; keep what it set over ACCOUNTS.
    return {
        name: getattr(config, name) for name in ACCOUNTS if getattr(config, name) != getattr(Config(), name)
    }
