"""Who reads the app's state: /readyz says ready or not to anyone, its details and /metrics to operators."""

from __future__ import annotations

import pytest

from app.config import Rate
from tests.test_accounts import invite, sign_up

TOKEN = "a-metrics-token-of-enough-length"
accounts = {"sign_in": "accounts", "sign_up": "invite", "login_rate": Rate(100, 60)}
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.settings(**accounts)
async def test_with_accounts_readiness_is_public_and_its_details_and_metrics_are_for_admins(app):
    stranger = app.test_client()
    ready = await stranger.get("/readyz")
    assert ready.status_code == 200 and await ready.get_json() == {"status": "ready"}
    assert "Set-Cookie" not in ready.headers
    assert (await stranger.get("/metrics")).status_code == 302
    admin = app.test_client()
    assert (await sign_up(admin, "ada")).status_code == 303
    person = app.test_client()
    assert (await sign_up(person, "bob", path=await invite(admin))).status_code == 303
    assert (await person.get("/metrics")).status_code == 404
    assert await (await person.get("/readyz")).get_json() == {"status": "ready"}
    assert (await admin.get("/metrics")).status_code == 200
    details = await (await admin.get("/readyz")).get_json()
    assert details["status"] == "ready" and details["database"] == "up" and "spooled_writes" in details


@pytest.mark.settings(**accounts, metrics_token=TOKEN)
async def test_a_scraper_with_the_metrics_token_needs_no_account(app):
    scraper = app.test_client()
    response = await scraper.get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert "answers_http_requests_total" in await response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    assert (await (await scraper.get("/readyz", headers=BEARER)).get_json())["database"] == "up"
    wrong = await scraper.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert await (await scraper.get("/readyz", headers={"Authorization": "Bearer no"})).get_json() == {
        "status": "ready"
    }


@pytest.mark.settings(metrics_token=TOKEN)
async def test_without_accounts_the_metrics_token_closes_the_figures_to_visitors(client):
    refused = await client.get("/metrics")
    assert refused.status_code == 401 and "bearer token" in await refused.get_data(as_text=True)
    assert await (await client.get("/readyz")).get_json() == {"status": "ready"}
    assert (await client.get("/metrics", headers=BEARER)).status_code == 200


async def test_without_accounts_or_a_token_the_figures_are_open_as_the_app_is(client):
    assert (await client.get("/metrics")).status_code == 200
    assert (await (await client.get("/readyz")).get_json())["database"] == "up"
