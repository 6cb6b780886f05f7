"""Who a shared link opens for: signed-in teammates, or anyone where the operator allows it; audited."""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import quote

import pytest

from app import create_app, messages
from app.config import Config, ConfigError, Rate
from tests.conftest import Visitor
from tests.test_accounts import csrf_of, person, sign_up

LINK = re.compile(r'value="http://[^/]+(/s/[A-Za-z0-9_-]{32})"')
accounts = {"sign_in": "accounts", "sign_up": "invite", "login_rate": Rate(100, 60)}
TEAMMATES = "people who have the link and are signed in to this app"
ANYONE = "anyone who has the link, signed in or not"


async def chat_to_share(client) -> None:
    visitor = Visitor(client)
    await visitor.open("/")
    response = await visitor.ask("What is on the roadmap?")
    exchange_id = int(re.search(r"/answers/(\d+)/stream", await response.get_data(as_text=True)).group(1))
    await visitor.stream(exchange_id)


async def make_link(client, audience: str | None = None, status: int = 303):
    form = {"csrf_token": await csrf_of(client, "/c/1/share")}
    if audience:
        form["audience"] = audience
    made = await client.post("/c/1/share", form=form)
    assert made.status_code == status, await made.get_data(as_text=True)
    return made


async def newest_link(client) -> str:
    return LINK.findall(await (await client.get("/c/1/share")).get_data(as_text=True))[0]


def sent_to_sign_in(response, link: str) -> bool:
    return response.status_code == 302 and response.headers["Location"] == f"/login?next={quote(link)}"


@pytest.mark.settings(**accounts)
async def test_a_link_for_teammates_sends_a_stranger_to_sign_in_and_back(app, db):
    ada = app.test_client()
    await sign_up(ada, "ada")
    bob = await person(app, ada, "bob")
    await chat_to_share(ada)
    page = await (await ada.get("/c/1/share")).get_data(as_text=True)
    assert 'name="audience" value="anyone"' not in page and f"It opens for {TEAMMATES}." in page
    refused = await make_link(ada, "anyone", status=422)
    assert messages.PUBLIC_SHARES_OFF in await refused.get_data(as_text=True)
    assert await db.fetch_one("SELECT COUNT(*) AS n FROM shares") == {"n": 0}
    await make_link(ada)
    link = await newest_link(ada)

    stranger = app.test_client()
    assert sent_to_sign_in(await stranger.get(link), link)
    assert "What is on the roadmap?" not in await (await stranger.get(link)).get_data(as_text=True)
    opened = await bob.get(link)
    text = await opened.get_data(as_text=True)
    assert opened.status_code == 200 and "What is on the roadmap?" in text
    assert "shared <time" in text and f"with {TEAMMATES}." in text

    # Signing in from the link leads back to it.
    carol = await person(app, ada, "carol")
    await carol.post("/logout", form={"csrf_token": await csrf_of(carol, "/")})
    assert sent_to_sign_in(await carol.get(link), link)
    token = await csrf_of(carol, f"/login?next={link}")
    back = await carol.post(
        "/login",
        form={"username": "carol", "password": "correct horse battery", "csrf_token": token, "next": link},
    )
    assert back.status_code == 303 and back.headers["Location"] == link
    assert (await carol.get(link)).status_code == 200


@pytest.mark.settings(**accounts, public_shares=True)
async def test_where_the_operator_allows_it_a_link_for_anyone_opens_signed_out(app, config, db):
    ada = app.test_client()
    await sign_up(ada, "ada")
    await chat_to_share(ada)
    page = await (await ada.get("/c/1/share")).get_data(as_text=True)
    assert 'name="audience" value="teammates" checked' in page and 'name="audience" value="anyone"' in page
    await make_link(ada, "teammates")
    for_teammates = await newest_link(ada)
    await make_link(ada, "anyone")
    for_anyone = await newest_link(ada)

    stranger = app.test_client()
    opened = await stranger.get(for_anyone)
    text = await opened.get_data(as_text=True)
    assert opened.status_code == 200 and "What is on the roadmap?" in text and f"with {ANYONE}." in text
    assert "ada" not in text
    assert sent_to_sign_in(await stranger.get(for_teammates), for_teammates)

    # The operator stops allowing public links: every link is for teammates from then on.
    closed = create_app(replace(config, public_shares=False))
    async with closed.test_app():
        assert sent_to_sign_in(await closed.test_client().get(for_anyone), for_anyone)


@pytest.mark.settings(**accounts)
async def test_sharing_and_stopping_are_in_the_audit_trail_without_the_link(app, db):
    ada = app.test_client()
    await sign_up(ada, "ada")
    await chat_to_share(ada)
    await make_link(ada)
    link = await newest_link(ada)
    stopped = await ada.post(link + "/revoke", form={"csrf_token": await csrf_of(ada, "/c/1/share")})
    assert stopped.status_code == 303
    trail = await (await ada.get("/admin/audit")).get_data(as_text=True)
    assert "shared a chat" in trail and "stopped sharing" in trail and "chat 1" in trail
    rows = await db.fetch_all(
        "SELECT action, detail FROM audit WHERE action IN ('shared a chat', 'stopped sharing')"
    )
    assert [row["action"] for row in rows] == ["shared a chat", "stopped sharing"]
    assert all("for teammates" in row["detail"] for row in rows)
    assert not any(link.removeprefix("/s/") in str(row) for row in await db.fetch_all("SELECT * FROM audit"))


@pytest.mark.settings(app_password="the shared gate password")
async def test_behind_the_password_gate_a_link_asks_for_the_password(app):
    owner = app.test_client()
    token = await csrf_of(owner, "/login")
    await owner.post(
        "/login", form={"password": "the shared gate password", "csrf_token": token, "next": "/"}
    )
    await chat_to_share(owner)
    page = await (await owner.get("/c/1/share")).get_data(as_text=True)
    assert "It opens for people who have the link and know this app&#39;s password." in page
    await make_link(owner)
    link = await newest_link(owner)
    assert sent_to_sign_in(await app.test_client().get(link), link)


async def test_without_sign_in_the_page_says_anyone_who_can_open_the_app_may_read_it(app):
    owner = app.test_client()
    await chat_to_share(owner)
    page = await (await owner.get("/c/1/share")).get_data(as_text=True)
    assert "It opens for anyone who can open this app and has the link." in page
    await make_link(owner)
    link = await newest_link(owner)
    text = await (await app.test_client().get(link)).get_data(as_text=True)
    assert "with anyone who can open this app and has the link." in text


@pytest.mark.parametrize(("raw", "allowed"), [("true", True), ("on", True), ("false", False), ("0", False)])
def test_public_shares_reads_true_or_false(tmp_path, raw, allowed):
    assert Config.from_env({"INSTANCE_PATH": str(tmp_path), "PUBLIC_SHARES": raw}).public_shares is allowed


def test_public_shares_refuses_anything_else(tmp_path):
    with pytest.raises(ConfigError, match=r"^PUBLIC_SHARES: must be true or false \(got 'sometimes'\)$"):
        Config.from_env({"INSTANCE_PATH": str(tmp_path), "PUBLIC_SHARES": "sometimes"})
