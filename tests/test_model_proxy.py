"""The road to the model: the proxy the environment names, and a ~/.netrc that must not get in the way."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import pytest

from app import create_app
from app.config import Config
from tests.conftest import Visitor

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
ANSWER = "through the proxy and back"

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class Forwarder:
    """A plain-HTTP proxy: each request goes to the host its absolute address names, then the line closes."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._forward, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.server.close()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        line, _, headers = head.partition(b"\r\n")
        method, target, version = line.decode().split(" ")
        self.requests.append(f"{method} {target}")
        address = urlsplit(target)
        upstream_reader, upstream_writer = await asyncio.open_connection(address.hostname, address.port)
        kept = [
            h for h in headers.split(b"\r\n") if h and not h.lower().startswith((b"connection:", b"proxy-"))
        ]
        upstream_writer.write(
            f"{method} {address.path or '/'} {version}\r\n".encode()
            + b"\r\n".join([*kept, b"Connection: close"])
            + b"\r\n\r\n"
        )

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            finally:
                sink.close()

        await asyncio.gather(
            pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True
        )


@pytest.fixture
async def proxy() -> AsyncIterator[Forwarder]:
    """A proxy on 127.0.0.1 that records what it forwards."""
    forwarder = Forwarder()
    await forwarder.start()
    yield forwarder
    await forwarder.stop()


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment without the proxies or netrc of the machine running the tests."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "NETRC"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@asynccontextmanager
async def serving(config: Config) -> AsyncIterator[Visitor]:
    """The app started with the environment as it is now, and a browser that has opened its page."""
    app = create_app(config)
    async with app.test_app():
        visitor = Visitor(app.test_client())
        await visitor.open()
        yield visitor


async def answer_seen(visitor: Visitor) -> str:
    """Ask a question and read its answer's stream to the end; the answer's final HTML."""
    response = await visitor.ask("Which way did you come?")
    exchange_id = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    events = await visitor.stream(exchange_id)
    assert [name for name, _ in events][-1] == "done"
    return dict(events)["final"]


async def test_an_answer_travels_through_the_proxy_the_environment_names(environment, proxy, model, config):
    environment.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    model.configure(answer=ANSWER)
    async with serving(config) as visitor:
        assert ANSWER in await answer_seen(visitor)
    assert f"POST {model.url}/chat/completions" in proxy.requests


async def test_a_host_in_no_proxy_is_asked_directly(environment, proxy, model, config):
    environment.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    environment.setenv("NO_PROXY", "127.0.0.1")
    model.configure(answer=ANSWER)
    async with serving(config) as visitor:
        assert ANSWER in await answer_seen(visitor)
    assert proxy.requests == []


async def test_a_netrc_default_entry_does_not_stop_answers(environment, tmp_path, model, config):
    # A `default` line names every host. The model's own key is what it is sent.
    netrc = tmp_path / "netrc"
    netrc.write_text("default login someone password elsewhere\n")
    netrc.chmod(0o600)
    environment.setenv("NETRC", str(netrc))
    model.configure(answer=ANSWER)
    async with serving(config) as visitor:
        assert ANSWER in await answer_seen(visitor)
