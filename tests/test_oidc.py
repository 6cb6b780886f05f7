"""Signing in with OpenID Connect against a real provider on this machine (oidc-provider-mock), no mocks."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from oidc_provider_mock import run_server_in_thread

from app import create_app, messages


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """A real OpenID provider serving on a free port; its issuer URL."""
    with run_server_in_thread(require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


class KeylessProvider(BaseHTTPRequestHandler):
    """An OpenID provider whose key set names no keys, and whose tokens are therefore never good."""

    def do_GET(self) -> None:
        issuer = f"http://localhost:{self.server.server_address[1]}"
        if self.path == "/.well-known/openid-configuration":
            self._send(
                {
                    "issuer": issuer,
                    "authorization_endpoint": f"{issuer}/authorize",
                    "token_endpoint": f"{issuer}/token",
                    "jwks_uri": f"{issuer}/jwks",
                }
            )
        else:
            self._send({"no": "keys"})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._send({"id_token": "e30.e30.c2lnbmF0dXJl", "token_type": "Bearer"})

    def _send(self, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def keyless_provider() -> Iterator[str]:
    """A provider on a free port whose key set is missing its keys; its issuer URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), KeylessProvider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def config(config, provider):
    return replace(
        config,
        sign_in="oidc",
        oidc_issuer=provider,
        oidc_client_id="gpt-answers",
        oidc_client_secret="a-client-secret",
        admin_emails=frozenset({"boss@example.com"}),
    )


async def sign_in_at_provider(client, subject: str, next_: str = "/"):
    """Follow the flow as a browser would: to the provider, pick the person, back to the app's callback."""
    start = await client.get(f"/login/oidc?next={next_}")
    assert start.status_code == 302
    authorize = start.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    answer = await asyncio.to_thread(requests.post, authorize, data={"sub": subject}, allow_redirects=False)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert back.path == "/login/oidc/callback"
    return await client.get(f"{back.path}?{back.query}")


async def test_a_person_signs_in_through_the_provider_and_sees_their_own_chats(app, client):
    assert (await client.get("/")).status_code == 302
    done = await sign_in_at_provider(client, "alice@example.com", "/list")
    assert done.status_code == 303 and done.headers["Location"] == "/list"
    page = await (await client.get("/list")).get_data(as_text=True)
    assert "alice@example.com" in page and "Everyone&#39;s history" not in page
    # The first person in is the admin; the next is not, unless ADMIN_EMAILS names them.
    other = app.test_client()
    await sign_in_at_provider(other, "bob@example.com")
    assert (await other.get("/admin/users")).status_code == 404
    boss = app.test_client()
    await sign_in_at_provider(boss, "boss@example.com")
    people = await (await boss.get("/admin/users")).get_data(as_text=True)
    assert "bob@example.com" in people and "alice@example.com" in people
    assert "Invite someone" not in people


async def test_a_callback_with_another_state_is_refused(app, client):
    start = await client.get("/login/oidc")
    authorize = start.headers["Location"]
    answer = await asyncio.to_thread(
        requests.post, authorize, data={"sub": "eve@example.com"}, allow_redirects=False
    )
    back = urlsplit(answer.headers["Location"])
    forged = back.query.replace("state=", "state=x")
    refused = await client.get(f"{back.path}?{forged}")
    assert refused.status_code == 400
    assert "did not go through" in await refused.get_data(as_text=True)
    assert (await client.get("/")).status_code == 302
    # The attempt is spent: the real state no longer works either.
    assert (await client.get(f"{back.path}?{back.query}")).status_code == 400


async def test_a_code_from_another_browsers_attempt_is_refused(app):
    victim, attacker = app.test_client(), app.test_client()
    start = await attacker.get("/login/oidc")
    answer = await asyncio.to_thread(
        requests.post, start.headers["Location"], data={"sub": "mallory@example.com"}, allow_redirects=False
    )
    back = urlsplit(answer.headers["Location"])
    await victim.get("/login/oidc")
    assert (await victim.get(f"{back.path}?{back.query}")).status_code == 400


async def test_the_password_forms_do_not_exist_with_oidc(client):
    for path in ("/signup", "/link/x"):
        assert (await client.get(path)).status_code == 404
    assert "Sign in with your organisation" in await (await client.get("/login")).get_data(as_text=True)


async def test_a_provider_whose_key_set_has_no_keys_gets_a_refused_sign_in_not_an_error_page(
    config, keyless_provider
):
    app = create_app(replace(config, oidc_issuer=keyless_provider))
    async with app.test_app():
        client = app.test_client()
        start = await client.get("/login/oidc")
        state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
        back = await client.get(f"/login/oidc/callback?state={state}&code=a-code")
        assert back.status_code == 400
        assert messages.SIGN_IN_AGAIN in await back.get_data(as_text=True)
        assert (await client.get("/")).status_code == 302
