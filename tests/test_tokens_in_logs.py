"""No secret of a link reaches the logs: every route with a token in its path, real and made-up tokens."""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path

import httpx2
import pytest
from werkzeug.routing import Rule

from app.config import Rate
from app.logs import JsonFormatter
from app.views import shares as share_views
from tests import figures
from tests.browser.conftest import AppServer
from tests.conftest import CSRF, Visitor
from tests.fake_llm import FakeLLM
from tests.test_accounts import PASSWORD, invite, sign_up

accounts = pytest.mark.settings(sign_in="accounts", sign_up="invite", login_rate=Rate(1000, 60))
SECRETS = ("token", "secret")
PLACEHOLDER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
SHARE_LINK = re.compile(r'value="http://[^/]+/s/([A-Za-z0-9_-]{32,})"')
EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')


def secret_routes(rules: list[Rule]) -> list[tuple[str, str]]:
    """Each method and rule of the routes carrying a secret in their path."""
    return [
        (method, rule.rule)
        for rule in rules
        if any(found.group(2) in SECRETS for found in PLACEHOLDER.finditer(rule.rule))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


def path_of(rule: str, token: str) -> str:
    """The rule's address with `token` as its secret (and 1 for any number in it)."""

    def value(match: re.Match[str]) -> str:
        return token if match.group(2) in SECRETS else "1"

    return PLACEHOLDER.sub(value, rule)


def made_up() -> str:
    return secrets.token_urlsafe(32)


def leaked(tokens: list[str], lines: list[str]) -> list[str]:
    return [token for token in tokens if any(token in line for line in lines)]


async def shared_link(visitor: Visitor) -> str:
    """Ask, let the answer finish, share the chat; the link's token."""
    response = await visitor.ask("What is worth sharing?")
    exchange_id = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    await visitor.stream(exchange_id)
    await visitor.client.post("/c/1/share", form={"csrf_token": visitor.csrf})
    return SHARE_LINK.search(await visitor.open("/c/1/share")).group(1)


@accounts
async def test_no_token_of_a_link_reaches_the_logs_nor_its_tracebacks(app, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    ada = Visitor(app.test_client())
    assert (await sign_up(ada.client, "ada")).status_code == 303
    await ada.open("/")
    invitation = (await invite(ada.client)).removeprefix("/link/")
    shared = await shared_link(ada)
    routes = secret_routes(list(app.url_map.iter_rules()))
    assert {rule for _, rule in routes} >= {"/link/<token>", "/s/<token>", "/s/<token>/revoke"}
    tokens = [invitation, shared]
    for method, rule in routes:
        for token in (invitation, shared, made_up(), made_up()):
            tokens.append(token)
            for path in (path_of(rule, token), "/" + path_of(rule, token) + "/"):
                await ada.client.open(path, method=method, headers={"X-CSRF-Token": ada.csrf})
    stranger = app.test_client()
    await stranger.get("/login")
    form = {"username": "bob", "password": PASSWORD, "again": PASSWORD}
    token = CSRF.search(await (await stranger.get(f"/link/{invitation}")).get_data(as_text=True)).group(1)
    assert (await stranger.post(f"/link/{invitation}", form=form | {"csrf_token": token})).status_code == 303
    # A view that fails with the token in its error: the traceback is logged, the token is not.
    failing = made_up()
    tokens.append(failing)

    async def broken(db, token):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"no snapshot for {token}")

    monkeypatch.setattr(share_views.shares, "get", broken)
    assert (await stranger.get(f"/s/{failing}")).status_code == 500
    lines = [JsonFormatter().format(record) for record in caplog.records]
    found = leaked(tokens, lines)
    figures.at_least("logs", "routes", len(routes))
    figures.add("logs", found=len(found))
    assert found == []
    assert any("no snapshot for …" in line and "Traceback" in line for line in lines)
    requests = [record for record in caplog.records if record.getMessage() == "request"]
    assert {(r.route, r.path) for r in requests} >= {("/link/<token>", "/link/…"), ("/s/<token>", "/s/…")}


async def test_a_served_app_logs_no_token_of_a_link(tmp_path: Path, model: FakeLLM):
    # The process as deployed: Hypercorn's own loggers and every line on its stderr.
    server = AppServer(tmp_path, model.url, SIGN_IN="accounts", SIGN_UP="invite", LOG_LEVEL="DEBUG")
    tokens: list[str] = []
    try:
        async with httpx2.AsyncClient(base_url=server.url, timeout=15) as ada:
            token = CSRF.search((await ada.get("/login")).text).group(1)
            form = {"username": "ada", "password": PASSWORD, "again": PASSWORD, "csrf_token": token}
            assert (await ada.post("/signup", data=form)).status_code == 303
            token = CSRF.search((await ada.get("/admin/users")).text).group(1)
            made = await ada.post("/admin/users/invite", data={"csrf_token": token}, follow_redirects=True)
            page = made.text
            invitation = page.split("/link/", 1)[1].split("<", 1)[0]
            response = await ada.post(
                "/ask", data={"question": "Shared?", "csrf_token": token}, headers={"HX-Request": "true"}
            )
            await ada.get(f"/answers/{EXCHANGE_ID.search(response.text).group(1)}/stream")
            await ada.post("/c/1/share", data={"csrf_token": token})
            shared = SHARE_LINK.search((await ada.get("/c/1/share")).text).group(1)
            tokens += [invitation, shared]
            async with httpx2.AsyncClient(base_url=server.url, timeout=15) as stranger:
                for path in (f"/link/{invitation}", f"/s/{shared}", f"/s/{shared}/x"):
                    await stranger.get(path)
                for method in ("GET", "POST", "DELETE"):
                    for rule in ("/link/<token>", "/s/<token>", "/s/<token>/revoke"):
                        tokens.append(made_up())
                        await stranger.request(method, path_of(rule, tokens[-1]))
                await ada.post(f"/s/{shared}/revoke", data={"csrf_token": token})
    finally:
        server.stop()
    log = server.log.read_text()
    assert '"route":"/s/<token>"' in log.replace(" ", "")
    assert leaked(tokens, log.splitlines()) == []
