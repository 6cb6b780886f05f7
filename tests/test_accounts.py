"""Accounts: signing up and in, roles, claimed chats, sessions that end when they should, no enumeration."""

from __future__ import annotations

import logging
import re

import pytest

from app import messages
from app.config import Rate
from app.storage import conversations, exchanges
from tests.conftest import CSRF, Visitor

PASSWORD = "correct horse battery"
TOKENS = re.compile(r'value="[^"]{40,}"|"X-CSRF-Token": "[^"]+"')
accounts = pytest.mark.settings(sign_in="accounts", sign_up="invite", login_rate=Rate(100, 60))


async def csrf_of(client, path: str) -> str:
    return CSRF.search(await (await client.get(path)).get_data(as_text=True)).group(1)


async def sign_up(client, name: str, password: str = PASSWORD, path: str = "/signup"):
    token = await csrf_of(client, "/login")
    return await client.post(
        path, form={"username": name, "password": password, "again": password, "csrf_token": token}
    )


async def sign_in(client, name: str, password: str = PASSWORD):
    token = await csrf_of(client, "/login")
    return await client.post(
        "/login", form={"username": name, "password": password, "csrf_token": token, "next": "/"}
    )


async def invite(admin, path: str = "/admin/users/invite") -> str:
    """An admin makes a link and returns its path."""
    token = await csrf_of(admin, "/admin/users")
    response = await admin.post(path, form={"csrf_token": token})
    if response.status_code == 303:
        response = await admin.get(response.headers["Location"])
    page = await response.get_data(as_text=True)
    return "/link/" + page.split("/link/", 1)[1].split("<", 1)[0]


async def owner_of(client) -> str:
    async with client.session_transaction() as session:
        return session["owner"]


@pytest.fixture
async def admin(app):
    client = app.test_client()
    assert (await sign_up(client, "Ada")).status_code == 303
    return client


async def person(app, admin, name: str):
    client = app.test_client()
    response = await sign_up(client, name, path=await invite(admin))
    assert response.status_code == 303, await response.get_data(as_text=True)
    return client


@accounts
async def test_the_first_account_is_an_admin_and_later_ones_need_an_invitation(app, admin):
    assert "People" in await (await admin.get("/")).get_data(as_text=True)
    stranger = app.test_client()
    refused = await sign_up(stranger, "mallory")
    assert refused.status_code == 403
    assert "ask an admin for a link" in await refused.get_data(as_text=True)
    link = await invite(admin)
    bob = app.test_client()
    assert (await sign_up(bob, "bob", path=link)).status_code == 303
    assert (await bob.get("/admin/users")).status_code == 404
    again = await sign_up(app.test_client(), "carol", path=link)
    assert again.status_code == 404 and "has been used" in await again.get_data(as_text=True)


@accounts
async def test_everything_but_signing_in_waits_for_an_account(app, client):
    assert (await client.get("/")).status_code == 302
    assert (await client.get("/list", headers={"HX-Request": "true"})).status_code == 401
    assert (await client.get("/login")).status_code == 200
    assert (await client.get("/healthz")).status_code == 200


@accounts
async def test_signing_in_claims_the_browsers_chats_and_rotates_the_session(app, admin, db):
    bob = await person(app, admin, "bob")
    browser = app.test_client()
    await browser.get("/login")
    anonymous = await owner_of(browser)
    chat = await conversations.create(db, anonymous, "asked before signing in")
    await exchanges.create(db, chat, anonymous, "what did I ask?")
    old_cookie = (await browser.get("/login")).headers.get("Set-Cookie", "")
    response = await sign_in(browser, "BOB")
    assert response.status_code == 303
    assert response.headers["Set-Cookie"].split(";")[0] != old_cookie.split(";")[0]
    assert await owner_of(browser) != anonymous
    # The same person in another browser sees the chat the first browser asked in.
    assert "asked before signing in" in await (await bob.get("/conversations")).get_data(as_text=True)
    assert (await bob.get(f"/c/{chat}")).status_code == 200


@accounts
async def test_people_see_only_their_own_and_an_admin_sees_everyone(app, admin):
    alice, bob = Visitor(await person(app, admin, "alice")), Visitor(await person(app, admin, "bob"))
    for visitor, question in ((alice, "alice asks about otters"), (bob, "bob asks about badgers")):
        await visitor.open("/")
        assert (await visitor.ask(question)).status_code == 200
    alice_list = await (await alice.client.get("/list")).get_data(as_text=True)
    assert "otters" in alice_list and "badgers" not in alice_list
    bob_list = await (await bob.client.get("/list")).get_data(as_text=True)
    assert "badgers" in bob_list and "otters" not in bob_list
    everyone = await (await admin.get("/list")).get_data(as_text=True)
    assert "otters" in everyone and "badgers" in everyone and "Everyone's history" in everyone
    assert ">alice</a>" in everyone and ">bob</a>" in everyone
    only_bob = await (await admin.get("/list?name=Bob")).get_data(as_text=True)
    assert "badgers" in only_bob and "otters" not in only_bob
    export = await (await admin.get("/list/export.csv")).get_data(as_text=True)
    assert "otters" in export and "badgers" in export and export.startswith("user,id,")
    assert [line.split(",", 1)[0] for line in export.splitlines() if "asks about" in line] == ["bob", "alice"]
    assert "badgers" not in await (await alice.client.get("/list/export.csv")).get_data(as_text=True)
    # Bob's chat, answer and rows are nowhere to be found for Alice.
    bob_chat = await bob.client.get("/conversations")
    chat_id = int((await bob_chat.get_data(as_text=True)).split('href="/c/', 1)[1].split('"', 1)[0])
    assert (await alice.client.get(f"/c/{chat_id}")).status_code == 404
    row = await app.extensions["db"].fetch_one(
        "SELECT id FROM exchanges WHERE conversation_id = :c", {"c": chat_id}
    )
    # A stream answers with events whatever happens; for someone else's answer they say only that.
    stream = await (await alice.client.get(f"/answers/{row['id']}/stream")).get_data(as_text=True)
    assert messages.NOT_YOUR_ANSWER in stream and "badgers" not in stream


@accounts
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/users"),
        ("GET", "/admin/audit"),
        ("POST", "/admin/users/invite"),
        ("POST", "/admin/users/1/disable"),
        ("POST", "/admin/users/1/promote"),
        ("POST", "/admin/users/1/reset"),
    ],
)
async def test_an_ordinary_user_finds_no_admin_route(app, admin, method, path):
    bob = await person(app, admin, "bob")
    token = await csrf_of(bob, "/")
    response = await (bob.get(path) if method == "GET" else bob.post(path, form={"csrf_token": token}))
    assert response.status_code == 404


@accounts
async def test_a_disabled_user_is_signed_out_at_once_and_cannot_sign_in(app, admin):
    bob = await person(app, admin, "bob")
    assert (await bob.get("/")).status_code == 200
    page = await (await admin.get("/admin/users")).get_data(as_text=True)
    bob_id = int(page.split('id="user-', 2)[2].split('"', 1)[0])
    token = await csrf_of(admin, "/admin/users")
    assert (await admin.post(f"/admin/users/{bob_id}/disable", form={"csrf_token": token})).status_code == 303
    assert (await bob.get("/")).status_code == 302
    assert (await sign_in(app.test_client(), "bob")).status_code == 401
    await admin.post(f"/admin/users/{bob_id}/enable", form={"csrf_token": token})
    assert (await sign_in(app.test_client(), "bob")).status_code == 303


@accounts
async def test_changing_the_password_ends_the_other_sessions_only(app, admin):
    await person(app, admin, "bob")
    laptop, phone = app.test_client(), app.test_client()
    await sign_in(laptop, "bob")
    await sign_in(phone, "bob")
    token = await csrf_of(laptop, "/account")
    new = "a much better password"
    changed = await laptop.post(
        "/account/password", form={"current": PASSWORD, "password": new, "again": new, "csrf_token": token}
    )
    assert changed.status_code == 200
    assert (await laptop.get("/")).status_code == 200
    assert (await phone.get("/")).status_code == 302
    assert (await sign_in(app.test_client(), "bob")).status_code == 401
    assert (await sign_in(app.test_client(), "bob", new)).status_code == 303


@accounts
async def test_a_reset_link_sets_a_new_password_and_signs_the_user_out_everywhere(app, admin):
    bob = await person(app, admin, "bob")
    page = await (await admin.get("/admin/users")).get_data(as_text=True)
    bob_id = int(page.split('id="user-', 2)[2].split('"', 1)[0])
    link = await invite(admin, f"/admin/users/{bob_id}/reset")
    assert "Choose a new password" in await (await app.test_client().get(link)).get_data(as_text=True)
    fresh = app.test_client()
    assert (await sign_up(fresh, "ignored", "brand new password", path=link)).status_code == 303
    assert (await bob.get("/")).status_code == 302
    assert (await fresh.get("/account")).status_code == 200
    assert (await sign_in(app.test_client(), "bob", "brand new password")).status_code == 303


@accounts
async def test_signing_in_does_not_tell_whether_a_name_exists(app, admin):
    await person(app, admin, "bob")
    unknown = await sign_in(app.test_client(), "nobody-here")
    wrong = await sign_in(app.test_client(), "bob", "not the password")
    assert unknown.status_code == wrong.status_code == 401
    unknown_page = (await unknown.get_data(as_text=True)).replace("nobody-here", "NAME")
    wrong_page = (await wrong.get_data(as_text=True)).replace('value="bob"', 'value="NAME"')
    assert TOKENS.sub("", unknown_page) == TOKENS.sub("", wrong_page)


@pytest.mark.settings(
    sign_in="accounts", sign_up="invite", login_rate=Rate(100, 60), login_account_rate=Rate(3, 900)
)
async def test_failed_sign_ins_are_throttled_per_account_and_recorded(app, admin):
    await person(app, admin, "bob")
    for _ in range(3):
        assert (await sign_in(app.test_client(), "bob", "guess")).status_code == 401
    throttled = await sign_in(app.test_client(), "bob")
    assert throttled.status_code == 429
    assert "Too many failed sign-ins to this account" in await throttled.get_data(as_text=True)
    assert (await sign_in(app.test_client(), "ada")).status_code == 303
    trail = await (await admin.get("/admin/audit")).get_data(as_text=True)
    assert trail.count("sign-in failed") == 3 and "signed up" in trail and "invited" in trail


@pytest.mark.settings(sign_in="accounts", sign_up="open", login_rate=Rate(3, 60))
async def test_signing_in_is_throttled_per_address(app, admin):
    for _ in range(3):
        await sign_in(app.test_client(), "ada", "guess")
    limited = await sign_in(app.test_client(), "ada")
    assert limited.status_code == 429


@accounts
async def test_passwords_are_never_logged_or_sent_back(app, caplog):
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    secret = "s3cret-never-shown-anywhere"
    short = await sign_up(client, "ada", "short-one")
    assert "short-one" not in await short.get_data(as_text=True)
    await sign_up(client, "ada", secret)
    failed = await sign_in(app.test_client(), "ada", secret + "x")
    assert secret not in await failed.get_data(as_text=True)
    assert secret not in caplog.text and "short-one" not in caplog.text
    stored = await app.extensions["db"].fetch_one("SELECT password_hash FROM users WHERE username = 'ada'")
    assert stored["password_hash"].startswith("$argon2id$")


@accounts
async def test_account_forms_need_the_csrf_token(app, admin):
    assert (
        await app.test_client().post("/login", form={"username": "ada", "password": PASSWORD})
    ).status_code == 403
    assert (await admin.post("/admin/users/invite")).status_code == 403
    assert (await admin.post("/account/password", form={"current": PASSWORD})).status_code == 403


async def test_without_accounts_the_account_and_admin_pages_do_not_exist(client):
    for path in ("/signup", "/account", "/admin/users", "/admin/audit", "/link/abc"):
        assert (await client.get(path)).status_code == 404


@pytest.mark.settings(sign_in="accounts", sign_up="closed", login_rate=Rate(100, 60))
async def test_with_sign_up_closed_only_the_first_account_is_made(app, admin, db):
    assert "Invite someone" not in await (await admin.get("/admin/users")).get_data(as_text=True)
    token = await csrf_of(admin, "/admin/users")
    assert (await admin.post("/admin/users/invite", form={"csrf_token": token})).status_code == 404
    assert (await sign_up(app.test_client(), "mallory")).status_code == 403
    assert await db.fetch_one("SELECT COUNT(*) AS n FROM users WHERE kind = 'local'") == {"n": 1}
