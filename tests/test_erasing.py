"""Erasing a person leaves nothing personal behind, and the audit trail itself is kept for a set time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app import create_app
from app.config import Config, Rate
from app.storage import audit, preferences
from tests import test_accounts
from tests.test_accounts import PASSWORD, csrf_of, invite, person
from tests.waiting import until

admin = test_accounts.admin  # the first account, which is an admin
accounts = pytest.mark.settings(sign_in="accounts", sign_up="invite", login_rate=Rate(1000, 60))
BOBS_HOME = "192.0.2.77"


async def sign_in_from(app, address: str, password: str = PASSWORD):
    browser = app.test_client()
    token = await csrf_of(browser, "/login")
    form = {"username": "bob", "password": password, "csrf_token": token, "next": "/"}
    await browser.post("/login", form=form, scope_base={"client": (address, 4000)})
    return browser


async def post(client, path: str, **form: str):
    response = await client.post(path, form={"csrf_token": await csrf_of(client, "/admin/users"), **form})
    assert response.status_code == 303, await response.get_data(as_text=True)


@accounts
async def test_erasing_a_person_leaves_nothing_personal_behind(app, admin, db):
    await person(app, admin, "bob")
    bob_row = await db.fetch_one("SELECT id, owner FROM users WHERE username = 'bob'")
    bob_id, owner = bob_row["id"], bob_row["owner"]
    await preferences.save(db, owner, {"instructions": "Bob lives at 12 Quiet Lane; answer as a pirate."})
    await sign_in_from(app, BOBS_HOME, "a wrong guess")
    bob = await sign_in_from(app, BOBS_HOME)
    # Bob, made an admin, invites someone and makes a reset link; Ada makes one for Bob.
    await post(admin, f"/admin/users/{bob_id}/promote")
    await invite(bob)
    ada_id = (await db.fetch_one("SELECT id FROM users WHERE username = 'ada'"))["id"]
    await invite(bob, f"/admin/users/{ada_id}/reset")
    await invite(admin, f"/admin/users/{bob_id}/reset")
    await post(admin, f"/admin/users/{bob_id}/demote")
    lines_before = await db.fetch_one("SELECT COUNT(*) AS n FROM audit")

    await post(admin, f"/admin/users/{bob_id}/erase", confirmed="yes")

    assert await preferences.get(db, owner) is None
    assert (
        await db.fetch_all(
            "SELECT id FROM invitations WHERE user_id = :id OR created_by = :id", {"id": bob_id}
        )
        == []
    )
    lines = await db.fetch_all("SELECT action, actor_id, subject, address, detail FROM audit ORDER BY id")
    assert len(lines) == lines_before["n"] + 1
    for line in lines:
        assert "bob" not in (line["subject"] + line["detail"]).lower(), line
        assert line["address"] != BOBS_HOME, line
    # What happened stays, as done by or to an erased person without a name.
    actions = [(line["action"], line["subject"]) for line in lines]
    for action in ("signed up", "sign-in failed", "signed in", "invited", "made admin", "made user"):
        assert any(done == action for done, _ in actions), action
    assert ("erased", f"#{bob_id}") in actions
    erased = lines[-1]
    assert erased["action"] == "erased" and erased["address"] != BOBS_HOME
    # Ada's own lines keep her address: only Bob's personal data went.
    ada_lines = [line for line in lines if line["action"] == "made admin"]
    assert ada_lines and all(line["address"] for line in ada_lines)
    assert (await bob.get("/")).status_code == 302


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


async def test_the_audit_trail_is_kept_for_its_retention_only(db):
    for age in (400, 366, 364, 1):
        await audit.record(db, audit.SIGNED_IN, subject=f"aged {age}", address="192.0.2.1", at=days_ago(age))
    assert await audit.sweep(db, 365, batch=1) == 2
    left = await db.fetch_all("SELECT subject FROM audit ORDER BY at")
    assert [row["subject"] for row in left] == ["aged 364", "aged 1"]
    assert await audit.sweep(db, 365) == 0


def test_the_audit_trail_is_kept_a_year_unless_told_otherwise(tmp_path):
    environment = {"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x" * 32}
    assert Config.from_env(environment).audit_retention_days == 365
    assert Config.from_env({**environment, "AUDIT_RETENTION_DAYS": "0"}).audit_retention_days == 0
    assert Config.from_env({**environment, "AUDIT_RETENTION_DAYS": "30"}).audit_retention_days == 30


async def test_the_app_sweeps_the_audit_trail_in_the_background(config, db):
    await audit.record(db, audit.SIGNED_IN, subject="long ago", at=days_ago(500))
    await audit.record(db, audit.SIGNED_IN, subject="lately", at=days_ago(2))
    app = create_app(replace(config, audit_retention_days=365))

    async def swept() -> bool:
        return len(await db.fetch_all("SELECT id FROM audit")) == 1

    async with app.test_app():
        await until(swept, "the old line swept")
    assert [row["subject"] for row in await db.fetch_all("SELECT subject FROM audit")] == ["lately"]
