"""A real HTTP receiver of webhooks for the tests and the benchmark: it answers as told, keeps what came."""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

# What the receiver does with a request: take it, fail it, redirect it, or never answer.
OK, FAIL, REDIRECT, HANG = "ok", "fail", "redirect", "hang"


@dataclass
class Received:
    """One request as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes
    taken: bool


@dataclass
class Receiver:
    """An aiohttp server on 127.0.0.1 whose next answers are queued (then OK for the rest)."""

    answers: deque[str] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _hung: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def then(self, *answers: str) -> None:
        """Queue the next answers, in order."""
        self.answers.extend(answers)

    def taken_ids(self) -> list[str]:
        """The webhook-ids of the events the receiver took (2xx), in the order they came."""
        return [
            request.headers["webhook-id"]
            for request in self.received
            if request.taken and request.path == "/hook"
        ]

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        app.router.add_post("/elsewhere", self._elsewhere)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        self._hung.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        answer = self.answers.popleft() if self.answers else OK
        self.received.append(
            Received(request.path, dict(request.headers), await request.read(), answer == OK)
        )
        if answer == HANG:
            await self._hung.wait()
        if answer == REDIRECT:
            raise web.HTTPFound(f"http://127.0.0.1:{self.port}/elsewhere")
        if answer == FAIL:
            return web.Response(status=500, text="failed")
        return web.Response(status=204)

    async def _elsewhere(self, request: web.Request) -> web.Response:
        self.received.append(Received(request.path, dict(request.headers), await request.read(), True))
        return web.Response(status=204)
