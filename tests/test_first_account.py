"""The first account, made by many people at once on an empty database: one admin, and no more accounts
than sign-up allows, on both engines."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from app.config import Rate
from tests.test_accounts import PASSWORD, csrf_of

AT_ONCE = 16


async def sign_ups_at_once(app, count: int) -> list[int]:
    """Many browsers, each with its form loaded, send it at the same moment; their statuses."""
    browsers = [app.test_client() for _ in range(count)]
    tokens = [await csrf_of(browser, "/login") for browser in browsers]
    forms = [
        {"username": f"person{number}", "password": PASSWORD, "again": PASSWORD, "csrf_token": token}
        for number, token in enumerate(tokens)
    ]
    responses = await asyncio.gather(
        *(browser.post("/signup", form=form) for browser, form in zip(browsers, forms, strict=True))
    )
    return [response.status_code for response in responses]


async def roles(db, kind: str) -> list[str]:
    rows = await db.fetch_all("SELECT role FROM users WHERE kind = :kind ORDER BY role", {"kind": kind})
    return [row["role"] for row in rows]


@pytest.mark.settings(sign_in="accounts", sign_up="closed", login_rate=Rate(1000, 60))
async def test_with_sign_up_closed_only_one_of_many_first_sign_ups_makes_an_account(app, db):
    statuses = await sign_ups_at_once(app, AT_ONCE)
    assert sorted(statuses) == [303] + [403] * (AT_ONCE - 1)
    assert await roles(db, "local") == ["admin"]


@pytest.mark.settings(sign_in="accounts", sign_up="invite", login_rate=Rate(1000, 60))
async def test_with_invitations_only_one_of_many_first_sign_ups_makes_an_account(app, db):
    statuses = await sign_ups_at_once(app, AT_ONCE)
    assert sorted(statuses) == [303] + [403] * (AT_ONCE - 1)
    assert await roles(db, "local") == ["admin"]


@pytest.mark.settings(sign_in="accounts", sign_up="open", login_rate=Rate(1000, 60))
async def test_with_sign_up_open_many_first_sign_ups_make_one_admin(app, db):
    statuses = await sign_ups_at_once(app, AT_ONCE)
    assert statuses == [303] * AT_ONCE
    assert await roles(db, "local") == ["admin"] + ["user"] * (AT_ONCE - 1)


@pytest.mark.settings(sign_in="proxy", trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),))
async def test_many_first_people_named_by_a_proxy_make_one_admin(app, db):
    responses = await asyncio.gather(
        *(
            app.test_client().get(
                "/", headers={"Remote-User": f"person{number}"}, scope_base={"client": ("10.0.0.2", 4000)}
            )
            for number in range(AT_ONCE)
        )
    )
    assert [response.status_code for response in responses] == [200] * AT_ONCE
    assert await roles(db, "proxy") == ["admin"] + ["user"] * (AT_ONCE - 1)
