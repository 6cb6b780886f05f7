"""CSRF, headers, cookies, limits and the password gate, as a browser (or an attacker) meets them."""

from __future__ import annotations

import ipaddress
import re
import secrets
from dataclasses import replace

import pytest

from app import create_app
from app.config import Config, ConfigError, Rate
from tests.conftest import CSRF, Visitor
from tests.waiting import until

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')


async def count(db, table="exchanges") -> int:
    return (await db.fetch_one(f"SELECT COUNT(*) AS n FROM {table}"))["n"]


async def test_a_wrong_or_foreign_token_is_refused_with_a_message_and_stores_nothing(visitor, client, db):
    form = {"question": "sneaky", "conversation_id": ""}
    attempts = [
        ({"csrf_token": "not-the-token"}, {}),
        ({"csrf_token": "é" * 40}, {}),  # non-ASCII must not crash the comparison
        ({}, {"X-CSRF-Token": "wrong"}),
        ({"csrf_token": visitor.csrf}, {"Origin": "https://evil.example"}),
        ({"csrf_token": visitor.csrf}, {"Origin": "null"}),
        ({"csrf_token": visitor.csrf}, {"Sec-Fetch-Site": "cross-site"}),
        ({"csrf_token": visitor.csrf}, {"Sec-Fetch-Site": "same-site"}),
    ]
    for extra, headers in attempts:
        response = await client.post(
            "/ask", form={**form, **extra}, headers={"HX-Request": "true", **headers}
        )
        assert response.status_code == 403, (extra, headers)
        body = await response.get_data(as_text=True)
        assert "another site" in body or "Reload the page" in body
        assert response.headers["HX-Retarget"] == "#composer-error"
    assert await count(db) == 0 and await count(db, "conversations") == 0


async def test_the_token_in_the_header_and_a_same_origin_request_are_accepted(visitor, client, db):
    response = await client.post(
        "/ask",
        form={"question": "fine", "conversation_id": ""},
        headers={
            "HX-Request": "true",
            "X-CSRF-Token": visitor.csrf,
            "Origin": "http://localhost",
            "Sec-Fetch-Site": "same-origin",
        },
    )
    assert response.status_code == 200
    assert await count(db) == 1


@pytest.mark.parametrize(
    "path", ["/", "/static/app.css", "/nowhere", "/list", "/healthz", "/answers/99/stream"]
)
async def test_every_response_carries_the_security_headers(client, path):
    response = await client.get(path)
    headers = response.headers
    assert headers["Content-Security-Policy"].startswith(
        "default-src 'self'; script-src 'self'; style-src 'self'"
    )
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in headers["Permissions-Policy"]


async def test_the_session_cookie_is_secure_only_behind_https_from_a_trusted_proxy(config):
    app = create_app(replace(config, trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),)))
    async with app.test_app():
        client = app.test_client()
        proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        trusted = await client.get("/", headers=proxied, scope_base={"client": ("10.1.2.3", 5000)})
        stranger = await client.get("/", headers=proxied, scope_base={"client": ("198.51.100.7", 5000)})
        plain = await client.get("/", scope_base={"client": ("10.1.2.3", 5000)})
    for response in (trusted, stranger, plain):
        assert (
            "HttpOnly" in response.headers["Set-Cookie"] and "SameSite=Lax" in response.headers["Set-Cookie"]
        )
    assert "Secure" in trusted.headers["Set-Cookie"]
    assert "Secure" not in stranger.headers["Set-Cookie"]
    assert "Secure" not in plain.headers["Set-Cookie"]


async def test_asking_too_fast_gets_a_429_under_the_composer_and_stores_nothing(visitor, app, config, db):
    app.config["ANSWERS"] = replace(config, ask_rate=Rate(2, 60))
    assert (await visitor.ask("one")).status_code == 200
    assert (await visitor.ask("two")).status_code == 200
    refused = await visitor.ask("three")
    assert refused.status_code == 429
    assert refused.headers["HX-Retarget"] == "#composer-error"
    assert int(refused.headers["Retry-After"]) > 0
    assert "You are asking faster than this app allows. Wait" in await refused.get_data(as_text=True)
    assert await count(db) == 2


async def test_the_rate_limit_counts_the_client_a_trusted_proxy_names(config):
    app = create_app(
        replace(config, ask_rate=Rate(1, 60), trusted_proxies=(ipaddress.ip_network("127.0.0.1"),))
    )
    async with app.test_app():
        visitor = Visitor(app.test_client())
        await visitor.open()

        async def ask(forwarded_for: str) -> int:
            response = await visitor.client.post(
                "/ask",
                form={"question": "q", "conversation_id": "", "csrf_token": visitor.csrf},
                headers={"HX-Request": "true", "X-Forwarded-For": forwarded_for},
                scope_base={"client": ("127.0.0.1", 5000)},
            )
            return response.status_code

        assert await ask("203.0.113.1") == 200
        assert await ask("203.0.113.1") == 429
        assert await ask("203.0.113.2") == 200
        # A client cannot pick its own address by prepending one: the proxy appended the real one.
        assert await ask("198.51.100.50, 203.0.113.1") == 429


async def test_redis_shares_the_rate_limit_between_instances(config):
    settings = replace(config, ask_rate=Rate(1, 60), redis_url="redis://127.0.0.1:6379/0")
    address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    statuses = []
    for _ in range(2):
        app = create_app(settings)
        async with app.test_app():
            visitor = Visitor(app.test_client())
            await visitor.open()
            response = await visitor.client.post(
                "/ask",
                form={"question": "q", "conversation_id": "", "csrf_token": visitor.csrf},
                headers={"HX-Request": "true"},
                scope_base={"client": (address, 5000)},
            )
            statuses.append(response.status_code)
    assert statuses == [200, 429]


async def test_a_body_over_the_limit_gets_a_clear_413_and_stores_nothing(visitor, client, db, app):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    for htmx in (True, False):
        response = await visitor.ask("x" * 5000, htmx=htmx)
        assert response.status_code == 413
        body = await response.get_data(as_text=True)
        assert "larger than the 2 KB this app accepts, so nothing was stored" in body
        assert ("HX-Retarget" in response.headers) == htmx
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert await count(db) == 0


def test_the_body_limit_must_leave_room_for_the_longest_question(tmp_path):
    base = {"INSTANCE_PATH": str(tmp_path)}
    assert Config.from_env(base).max_body_bytes >= 8000 * 12
    with pytest.raises(ConfigError, match="^MAX_BODY_BYTES: must be at least 28096 .*MAX_QUESTION_CHARS"):
        Config.from_env({**base, "MAX_QUESTION_CHARS": "2000", "MAX_BODY_BYTES": "10000"})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ASK_RATE_LIMIT", "lots", "ASK_RATE_LIMIT: must look like 20/minute"),
        ("LOGIN_RATE_LIMIT", "0/minute", "LOGIN_RATE_LIMIT: must look like 20/minute"),
        ("MAX_STREAMS_PER_CLIENT", "0", "MAX_STREAMS_PER_CLIENT: must be a positive whole number"),
        ("TRUSTED_PROXIES", "10.0.0.0/8, proxy.local", "TRUSTED_PROXIES: must be a comma-separated list"),
        ("REDIS_URL", "127.0.0.1:6379", "REDIS_URL: must look like redis://"),
    ],
)
def test_bad_security_settings_stop_start_up_with_one_line(tmp_path, variable, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        Config.from_env({"INSTANCE_PATH": str(tmp_path), variable: value})


def test_security_settings_are_read(tmp_path):
    config = Config.from_env(
        {
            "INSTANCE_PATH": str(tmp_path),
            "ASK_RATE_LIMIT": "5/30s",
            "LOGIN_RATE_LIMIT": "3/hour",
            "TRUSTED_PROXIES": "10.0.0.0/8,::1",
            "APP_PASSWORD": "open sesame",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    )
    assert (config.ask_rate, config.login_rate) == (Rate(5, 30), Rate(3, 3600))
    assert [str(n) for n in config.trusted_proxies] == ["10.0.0.0/8", "::1/128"]
    assert "open sesame" not in repr(config)


@pytest.mark.settings(max_streams_per_client=1)
async def test_too_many_streams_refuse_a_new_question_and_keep_an_unstarted_answer(
    visitor, app, config, model, db
):
    model.configure(tokens=200, delay=0.02)
    first = await visitor.ask("a long one")
    first_id = int(EXCHANGE_ID.search(await first.get_data(as_text=True)).group(1))
    second = await visitor.ask("queued before the first stream began")
    second_id = int(EXCHANGE_ID.search(await second.get_data(as_text=True)).group(1))
    async with visitor.client.request(f"/answers/{first_id}/stream") as connection:
        await connection.send_complete()
        received = b""
        while b"event: delta" not in received:
            received += await connection.receive()
        refused = await visitor.ask("one more")
        assert refused.status_code == 429
        assert "Too many answers are streaming" in await refused.get_data(as_text=True)
        busy = await visitor.stream(second_id)
        assert "reload the conversation" in dict(busy)["final"] and busy[-1][0] == "done"
        await connection.disconnect()
    assert await count(db) == 2
    row = await db.fetch_one("SELECT status FROM exchanges WHERE id = :id", {"id": second_id})
    assert row["status"] == "pending"
    await until(lambda: not app.extensions["answers"].places.taken, "the answers' places let go")
    events = await visitor.stream(second_id)
    assert [name for name, _ in events][-2:] == ["final", "done"] and "w199" in dict(events)["final"]


PASSWORD = "correct horse battery staple"


@pytest.fixture
def gated(app, config):
    app.config["ANSWERS"] = replace(config, app_password=PASSWORD)
    return app


async def sign_in(client, password: str = PASSWORD, next_: str = "/"):
    page = await (await client.get("/login")).get_data(as_text=True)
    token = CSRF.search(page).group(1)
    return await client.post("/login", form={"password": password, "csrf_token": token, "next": next_})


async def test_the_gate_lets_nothing_but_the_login_page_health_and_assets_through(gated, client, db):
    page = await client.get("/c/1?x=1")
    assert page.status_code == 302 and page.headers["Location"] == "/login?next=/c/1?x%3D1"
    fragment = await client.get("/list", headers={"HX-Request": "true"})
    assert fragment.status_code == 401 and fragment.headers["HX-Redirect"] == "/login"
    assert (await client.get("/answers/1/stream", headers={"Accept": "text/event-stream"})).status_code == 401
    # The readiness probe answers, saying no more than whether the app is ready.
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and await ready.get_json() == {"status": "ready"}
    assert (await client.get("/metrics")).status_code in (302, 401)
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/static/app.css")).status_code == 200
    login = await client.get("/login")
    assert login.status_code == 200 and 'type="password"' in await login.get_data(as_text=True)
    visitor = Visitor(client)
    await visitor.open("/login")
    assert (await visitor.ask("let me in")).status_code == 401
    assert await count(db) == 0


async def test_a_wrong_password_is_refused_and_attempts_are_rate_limited(gated, client, config):
    gated.config["ANSWERS"] = replace(config, app_password=PASSWORD, login_rate=Rate(3, 60))
    for password in ("", "correct horse", "x" * 10_000):
        response = await sign_in(client, password)
        assert response.status_code == 401
        assert "That password is not right." in await response.get_data(as_text=True)
    limited = await sign_in(client, PASSWORD)
    assert limited.status_code == 429
    assert "Too many sign-in attempts from your address" in await limited.get_data(as_text=True)
    assert (await client.get("/")).status_code == 302


async def test_signing_in_rotates_the_session_and_signing_out_needs_the_token(gated, client, db):
    before = await client.get("/login")
    old_cookie = before.headers["Set-Cookie"].split(";")[0]
    response = await sign_in(client, next_="/list")
    assert response.status_code == 303 and response.headers["Location"] == "/list"
    assert response.headers["Set-Cookie"].split(";")[0] != old_cookie
    visitor = Visitor(client)
    page = await visitor.open("/")
    assert "Sign out" in page
    assert (await visitor.ask("now I may")).status_code == 200
    assert (await client.post("/logout")).status_code == 403
    assert (await client.get("/")).status_code == 200
    out = await client.post("/logout", form={"csrf_token": visitor.csrf})
    assert out.status_code == 303 and out.headers["Location"] == "/login"
    assert (await client.get("/")).status_code == 302


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
async def test_signing_in_never_sends_the_visitor_to_another_site(gated, client, target):
    response = await sign_in(client, next_=target)
    assert response.status_code == 303 and response.headers["Location"] == "/"


async def test_changing_the_password_signs_everyone_out(gated, client, config):
    await sign_in(client)
    assert (await client.get("/")).status_code == 200
    gated.config["ANSWERS"] = replace(config, app_password="a brand new password")
    assert (await client.get("/")).status_code == 302


async def test_without_a_password_there_is_no_gate(client):
    assert (await client.get("/")).status_code == 200
    assert (await client.get("/login")).headers["Location"] == "/"
    assert "Sign out" not in await (await client.get("/")).get_data(as_text=True)


async def test_signing_out_revokes_a_copied_cookie(gated, app):
    mine = app.test_client()
    await sign_in(mine)
    copied = app.test_client()
    for stored in mine.cookie_jar:
        copied.cookie_jar.set_cookie(stored)
    assert (await copied.get("/list")).status_code == 200
    visitor = Visitor(mine)
    await visitor.open("/")
    assert (await mine.post("/logout", form={"csrf_token": visitor.csrf})).status_code == 303
    assert (await copied.get("/list")).status_code == 302
    assert (await copied.get("/list", headers={"HX-Request": "true"})).status_code == 401


async def test_sessions_signed_in_elsewhere_survive_one_browser_signing_out(gated, app):
    first, second = app.test_client(), app.test_client()
    await sign_in(first)
    await sign_in(second)
    visitor = Visitor(first)
    await visitor.open("/")
    await first.post("/logout", form={"csrf_token": visitor.csrf})
    assert (await second.get("/list")).status_code == 200
