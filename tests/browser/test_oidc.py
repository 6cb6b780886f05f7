"""Signing in through a real OpenID provider in Chromium: to its page and back, the session cookie kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from oidc_provider_mock import run_server_in_thread
from playwright.sync_api import expect

from tests.browser.conftest import AppServer
from tests.fake_llm import FakeLLM

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path, model: FakeLLM) -> Iterator[AppServer]:
    """The app signing people in at a provider on another host name of this machine."""
    with run_server_in_thread(require_nonce=True) as provider:
        issuer = f"http://localhost:{provider.server_port}"
        server = AppServer(
            tmp_path,
            model.url,
            SIGN_IN="oidc",
            OIDC_ISSUER=issuer,
            OIDC_CLIENT_ID="gpt-answers",
            OIDC_CLIENT_SECRET="a-client-secret",
        )
        yield server
        server.stop()


def test_signing_in_at_the_provider_and_coming_back_signed_in(page, server, problems):
    # The provider's page asks a CDN for its stylesheet; nothing here reaches the internet.
    page.route("https://**/*", lambda route: route.abort())
    problems.allow("net::ERR_FAILED")
    page.goto(f"{server.url}/list")
    expect(page).to_have_url(f"{server.url}/login?next=/list")
    page.get_by_role("link", name="Sign in with your organisation").click()
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()
    page.get_by_label("Subject").fill("alice@example.com")
    page.get_by_role("button", name="Authorize", exact=True).click()
    expect(page).to_have_url(f"{server.url}/list")
    expect(page.get_by_role("link", name="alice@example.com")).to_be_visible()
    page.get_by_role("link", name="New chat").first.click()
    page.wait_for_load_state()  # Enter sends only once app.js has run
    page.get_by_label("Your question").fill("Who am I here?")
    page.get_by_label("Your question").press("Enter")
    expect(page.locator("article.answer .answer-meta")).to_contain_text("fake-model")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server.url}/login")
