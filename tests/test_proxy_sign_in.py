"""Signing in through a proxy's user header (oauth2-proxy, Authelia): believed only from TRUSTED_PROXIES."""

from __future__ import annotations

import ipaddress

import pytest

from app.storage import migrate
from tests.conftest import CSRF
from tests.test_users_migration import migrated_before

PROXY = {"client": ("10.0.0.2", 4000)}
STRANGER = {"client": ("198.51.100.7", 4000)}
proxied = pytest.mark.settings(
    sign_in="proxy",
    trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),),
    admin_emails=frozenset({"boss@example.com"}),
)


@proxied
async def test_the_proxys_user_is_signed_in_and_sees_only_their_own(app):
    alice, bob = app.test_client(), app.test_client()
    as_alice = {"Remote-User": "alice", "Remote-Email": "alice@example.com"}
    page = await alice.get("/", headers=as_alice, scope_base=PROXY)
    assert page.status_code == 200 and ">alice</a>" in await page.get_data(as_text=True)
    token = CSRF.search(await page.get_data(as_text=True)).group(1)
    asked = await alice.post(
        "/ask",
        form={"question": "alice's own question", "csrf_token": token},
        headers={**as_alice, "HX-Request": "true"},
        scope_base=PROXY,
    )
    assert asked.status_code == 200
    theirs = await (await bob.get("/list", headers={"Remote-User": "bob"}, scope_base=PROXY)).get_data(
        as_text=True
    )
    assert "alice&#39;s own question" not in theirs
    # Alice is the first person in, so an admin; Bob is not.
    assert (await alice.get("/admin/users", headers=as_alice, scope_base=PROXY)).status_code == 200
    assert (
        await bob.get("/admin/users", headers={"Remote-User": "bob"}, scope_base=PROXY)
    ).status_code == 404


@proxied
async def test_a_user_header_from_anyone_but_a_trusted_proxy_is_ignored(app, client):
    forged = await client.get("/list", headers={"Remote-User": "alice"}, scope_base=STRANGER)
    assert forged.status_code == 302
    assert (await client.get("/list", scope_base=PROXY)).status_code == 302


@proxied
async def test_admin_emails_make_an_admin_and_a_disabled_user_is_turned_away(app, db):
    boss = app.test_client()
    as_boss = {"Remote-User": "boss", "Remote-Email": "boss@example.com"}
    await app.test_client().get("/", headers={"Remote-User": "first"}, scope_base=PROXY)
    assert (await boss.get("/admin/users", headers=as_boss, scope_base=PROXY)).status_code == 200
    await db.execute("UPDATE users SET disabled_at = '2026-01-01 00:00:00.000000' WHERE username = 'boss'")
    assert (await boss.get("/", headers=as_boss, scope_base=PROXY)).status_code == 302


@proxied
async def test_names_that_differ_only_in_case_are_one_person(app, db):
    first = app.test_client()
    as_first = {"Remote-User": "OpsAdmin"}
    page = await first.get("/", headers=as_first, scope_base=PROXY)
    token = CSRF.search(await page.get_data(as_text=True)).group(1)
    await first.post(
        "/ask",
        form={"question": "asked as OpsAdmin", "csrf_token": token},
        headers={**as_first, "HX-Request": "true"},
        scope_base=PROXY,
    )
    for name in ("opsadmin", "OPSADMIN", "opsAdmin"):
        seen = await app.test_client().get("/list", headers={"Remote-User": name}, scope_base=PROXY)
        assert "asked as OpsAdmin" in await seen.get_data(as_text=True), name
    rows = await db.fetch_all("SELECT subject, username FROM users WHERE kind = 'proxy'")
    assert rows == [{"subject": "opsadmin", "username": "opsadmin"}]


async def test_the_upgrade_gives_existing_proxy_and_oidc_names_their_normal_form(
    database_url, request, monkeypatch
):
    async with migrated_before(database_url, request, monkeypatch, "m033") as db:
        people = [
            ("proxy", "OpsAdmin", "OpsAdmin"),
            ("proxy", "Casey", "Casey"),
            ("proxy", "casey", "casey-1a2b3c4d"),
            ("oidc", "0f8e-sub", "Dana.Scully"),
            ("oidc", "77aa-sub", "ＦＯＸ"),
        ]
        for number, (kind, subject, username) in enumerate(people):
            await db.execute(
                "INSERT INTO users (owner, username, kind, subject, role, created_at)"
                " VALUES (:owner, :username, :kind, :subject, 'user', '2026-01-01 00:00:00.000000')",
                {"owner": f"owner-{number}", "username": username, "kind": kind, "subject": subject},
            )
        assert "m033_normal_names" in await migrate(db)
        rows = await db.fetch_all("SELECT kind, subject, username FROM users ORDER BY id")
        assert [(row["kind"], row["subject"], row["username"]) for row in rows] == [
            ("proxy", "opsadmin", "opsadmin"),
            # Taken by an account already in normal form: left as it was, for an admin to look at.
            ("proxy", "Casey", "Casey"),
            ("proxy", "casey", "casey-1a2b3c4d"),
            ("oidc", "0f8e-sub", "dana.scully"),
            ("oidc", "77aa-sub", "fox"),
        ]
