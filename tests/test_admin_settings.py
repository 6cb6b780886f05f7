"""The admin settings page: sections saved all or nothing, audited, applied at once; 404 for the others."""

from __future__ import annotations

import re

import pytest

from app import messages
from app.config import Rate
from tests.conftest import CSRF
from tests.test_accounts import sign_up

accounts = pytest.mark.settings(sign_in="accounts", sign_up="invite", login_rate=Rate(100, 60))
SEEN = re.compile(r'<form id="settings-(\w+)".*?name="seen" value="([0-9a-f]*)"', re.S)


@pytest.fixture
async def admin(app):
    client = app.test_client()
    assert (await sign_up(client, "Ada")).status_code == 303
    return client


async def form_of(client, section: str) -> dict[str, str]:
    """The hidden fields a section posts (CSRF token and what it saw)."""
    page = await (await client.get("/admin/settings")).get_data(as_text=True)
    seen = dict(SEEN.findall(page))
    return {"csrf_token": CSRF.search(page).group(1), "seen": seen[section]}


async def post(client, section: str, htmx: bool = False, **fields: str):
    form = await form_of(client, section) | fields
    headers = {"HX-Request": "true"} if htmx else {}
    return await client.post(f"/admin/settings/{section}", form=form, headers=headers)


BEHAVIOUR = {
    "system_prompt": "Answer like a pirate.",
    "temperature_min": "0",
    "temperature_max": "2",
    "context_size": "5",
    "context_tokens": "0",
    "max_question_chars": "8000",
}


@accounts
async def test_a_saved_setting_applies_at_once_and_is_audited_with_before_and_after(app, admin, db):
    response = await post(admin, "behaviour", **BEHAVIOUR)
    assert response.status_code == 303
    assert app.config["ANSWERS"].system_prompt == "Answer like a pirate."
    trail = await (await admin.get("/admin/audit")).get_data(as_text=True)
    assert (
        "SYSTEM_PROMPT" in trail
        and "Answer like a pirate." in trail
        and "You are a helpful assistant" in trail
    )
    page = await (await admin.get("/admin/settings?saved=behaviour")).get_data(as_text=True)
    assert messages.SETTINGS_SAVED in page and "Answer like a pirate." in page
