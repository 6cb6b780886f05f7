"""The lean HTTP/1.1 transport against a scripted server: framing, keep-alive, failures, TLS."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Self

import httpx2
import openai
import pytest

from app.config import Config
from app.model_transport import LeanTransport
from app.openai_model import OpenAIModel
from tests.fake_llm import FakeLLM


class Scripted:
    """A server that answers each request with its next script: bytes to write, pauses, None to close."""

    def __init__(
        self, replies: list[list[bytes | float | None]], context: ssl.SSLContext | None = None
    ) -> None:
        self.replies = replies
        self.context = context
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"{'https' if self.context else 'http'}://127.0.0.1:{port}"

    async def __aenter__(self) -> Self:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.context)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.replies:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                self.requests.append(head + await reader.readexactly(length))
                for step in self.replies.pop(0):
                    if step is None:
                        writer.close()
                        return
                    if isinstance(step, float):
                        await asyncio.sleep(step)
                        continue
                    writer.write(step)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def transport() -> AsyncIterator[LeanTransport]:
    lean = LeanTransport()
    yield lean
    await lean.aclose()


def client(transport: LeanTransport, timeout: float = 5.0) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=transport, timeout=timeout)


def one_byte_at_a_time(data: bytes) -> list[bytes | float | None]:
    steps: list[bytes | float | None] = []
    for i in range(len(data)):
        steps += [data[i : i + 1], 0.0005]
    return steps


async def test_a_chunked_body_split_anywhere_arrives_whole(transport):
    body = b"data: one\n\n" * 3 + b"data: [DONE]\n\n"
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    for part in (body[:7], body[7:30], body[30:]):
        wire += b"%x;ext=1\r\n%b\r\n" % (len(part), part)
    wire += b"0\r\nX-Trailer: yes\r\n\r\n"
    async with (
        Scripted([one_byte_at_a_time(wire)]) as server,
        client(transport).stream("POST", server.url + "/v1/x", json={"q": 1}) as response,
    ):
        received = b"".join([part async for part in response.aiter_raw()])
    assert received == body
    assert server.requests[0].startswith(b"POST /v1/x HTTP/1.1\r\n")
    assert server.requests[0].endswith(b'{"q":1}')


async def test_connections_are_kept_alive_and_reused(transport):
    reply = [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"]
    async with Scripted([reply, reply, reply]) as server:
        http = client(transport)
        texts = [(await http.get(server.url + "/")).text for _ in range(3)]
    assert texts == ["hello"] * 3
    assert server.connections == 1
    assert transport.open_responses == 0


async def test_a_kept_alive_connection_the_server_closed_is_replaced_once(transport):
    async with Scripted(
        [
            [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", None],
            [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nagain"],
        ]
    ) as server:
        http = client(transport)
        assert (await http.get(server.url + "/")).text == "ok"
        await asyncio.sleep(0.05)  # the server has closed the connection it kept
        assert (await http.get(server.url + "/")).text == "again"
    assert server.connections == 2


async def test_a_response_that_says_close_is_not_reused(transport):
    reply = [b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"]
    async with Scripted([reply, reply]) as server:
        http = client(transport)
        for _ in range(2):
            assert (await http.get(server.url + "/")).text == "ok"
    assert server.connections == 2
    assert transport.idle_connections == 0


async def test_a_body_read_to_the_close_of_the_connection(transport):
    async with Scripted([[b"HTTP/1.0 200 OK\r\n\r\nuntil ", b"the end", None]]) as server:
        assert (await client(transport).get(server.url + "/")).text == "until the end"
    assert transport.idle_connections == 0


async def test_a_body_cut_short_is_an_error_not_a_short_answer(transport):
    async with Scripted([[b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nonly part", None]]) as server:
        with pytest.raises(httpx2.RemoteProtocolError):
            await client(transport).get(server.url + "/")
    assert transport.open_responses == 0


async def test_a_server_that_goes_quiet_times_out(transport):
    async with Scripted(
        [[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n", 5.0]]
    ) as server:
        http = client(transport, timeout=0.3)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(httpx2.ReadTimeout):
            async with http.stream("GET", server.url + "/") as response:
                async for _ in response.aiter_raw():
                    pass
        assert 0.25 <= loop.time() - started < 2


async def test_a_closed_port_is_a_connect_error(transport, unused_tcp_port):
    with pytest.raises(httpx2.ConnectError):
        await client(transport).get(f"http://127.0.0.1:{unused_tcp_port}/")


async def test_interim_responses_are_skipped(transport):
    async with Scripted(
        [[b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nnew"]]
    ) as server:
        response = await client(transport).get(server.url + "/")
    assert (response.status_code, response.text) == (201, "new")


async def test_a_reply_that_is_not_http_is_refused(transport):
    async with Scripted([[b"SSH-2.0-OpenSSH\r\n\r\n", None]]) as server:
        with pytest.raises(httpx2.RemoteProtocolError):
            await client(transport).get(server.url + "/")


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_tls_with_a_trusted_certificate(certificate):
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    reply = [b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret"]
    async with Scripted([reply, reply], context=server_context) as server:
        trusting = LeanTransport(ssl.create_default_context(cafile=str(cert)))
        assert (await client(trusting).get(server.url + "/")).text == "secret"
        await trusting.aclose()
        # The system's trust store does not know a self-signed certificate.
        with pytest.raises(httpx2.ConnectError):
            await client(LeanTransport()).get(server.url + "/")


async def test_the_openai_sdk_streams_through_it_on_one_connection():
    fake = FakeLLM()
    await fake.start()
    try:
        fake.configure(answer="Streamed through the lean transport.")
        sdk = openai.AsyncOpenAI(
            base_url=fake.url,
            api_key="test",
            max_retries=0,
            http_client=openai.DefaultAsyncHttpxClient(transport=LeanTransport()),
        )
        for _ in range(3):
            stream = await sdk.chat.completions.create(
                model="fake-model", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])
            assert text == "Streamed through the lean transport."
        fake.configure(status=401)
        with pytest.raises(openai.AuthenticationError):
            await sdk.chat.completions.create(
                model="fake-model", messages=[{"role": "user", "content": "hi"}]
            )
        assert fake.stats["open_connections"] == 1
        await sdk.close()
    finally:
        await fake.stop()


async def test_a_proxy_in_the_environment_keeps_the_sdks_own_transport(monkeypatch):
    config = Config(llm_base_url="http://127.0.0.1:9/v1")
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    direct = OpenAIModel(config)
    assert isinstance(direct.client._client._transport, LeanTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    proxied = OpenAIModel(config)
    assert not isinstance(proxied.client._client._transport, LeanTransport)
    await direct.close()
    await proxied.close()


async def test_a_reader_that_stops_at_the_last_event_leaves_the_connection_reusable(transport):
    last_event = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\ne\r\ndata: [DONE]\n\n\r\n"
    again = [b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"]
    async with Scripted([[last_event, 0.01, b"0\r\n\r\n"], again]) as server:
        http = client(transport)
        async with http.stream("POST", server.url + "/v1/chat") as response:
            async for part in response.aiter_raw():
                assert part == b"data: [DONE]\n\n"
                await asyncio.sleep(0.1)  # the body's end arrives, unread
                break
        assert (await http.get(server.url + "/")).text == "next"
    assert server.connections == 1
