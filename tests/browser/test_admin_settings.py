"""The settings page in Chromium: a server added on one instance is offered on another with no restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_people import make_account, new_page
from tests.fake_llm import FakeLLM
from tests.test_several_instances import instance_env, start_instances

pytestmark = pytest.mark.browser


@pytest.fixture
def second_server() -> Iterator[FakeLLM]:
    """A second model server with other models, and a key it requires."""
    server = FakeLLM().start_in_thread()
    server.configure(models=["llama-local", "qwen-local"], require_key="sk-the-second-key")
    yield server
    server.stop_thread()


def offered_after_reloads(page: Page, url: str, model: str, tries: int = 40) -> None:
    """Reload the chat until the picker offers the model (each look waits up to a second; no clock read)."""
    option = page.locator(f'#model-picker option[value="{model}"]')
    for _ in range(tries):
        page.goto(url)
        try:
            expect(option).to_have_count(1, timeout=1000)
            return
        except AssertionError:
            continue
    expect(option).to_have_count(1)


def test_a_server_added_on_one_instance_is_offered_on_the_other(
    page: Page, browser, problems, tmp_path: Path, model: FakeLLM, second_server: FakeLLM
):
    env = instance_env(
        f"sqlite:///{tmp_path / 'shared.db'}",
        SIGN_IN="accounts",
        SIGN_UP="open",
        ALLOW_PRIVATE_MODEL_SERVERS="true",
    )
    with start_instances(env, tmp_path, model) as (a, b):
        make_account(page, f"{a.url}/signup", "Ada")
        person = new_page(browser, problems)
        make_account(person, f"{b.url}/signup", "bob")
        expect(person.locator('option[value="llama-local@local"]')).to_have_count(0)

        page.goto(f"{a.url}/admin/settings")
        # Set by the environment: shown, not changeable.
        switch = page.get_by_label("Allow servers on this machine or a private network")
        expect(switch).to_be_disabled()
        expect(switch).to_be_checked()
        expect(page.get_by_text("Set by the environment (ALLOW_PRIVATE_MODEL_SERVERS).")).to_be_visible()

        servers = page.locator("#settings-servers")
        servers.get_by_label("New server's name").fill("local")
        servers.locator("#server-0-url").fill(second_server.url)
        servers.locator("#server-0-key").fill("sk-the-second-key")
        servers.get_by_role("button", name="Test connection").click()
        expect(servers.get_by_role("status")).to_contain_text("llama-local")
        servers.locator("#server-0-key").fill("sk-the-second-key")
        servers.get_by_role("button", name="Save servers").click()
        expect(page.locator("#settings-servers").get_by_role("status")).to_contain_text("Saved")
        expect(page.locator("#server-0-key")).to_have_attribute("placeholder", "unchanged")
        expect(page.locator("#server-0-key")).to_have_value("")

        offered_after_reloads(person, f"{b.url}/", "llama-local@local")
        person.locator("#model-picker").select_option("qwen-local@local")
        person.get_by_label("Your question").fill("Who answers?")
        person.get_by_label("Your question").press("Enter")
        expect(person.locator("article.answer .answer-meta").last).to_contain_text("qwen-local")
        assert any(request.get("model") == "qwen-local" for request in second_server.requests)
        person.context.close()


def test_a_wrong_value_is_said_beside_its_field_and_nothing_is_saved(page: Page, server_with_accounts):
    server = server_with_accounts
    make_account(page, f"{server.url}/signup", "Ada")
    page.goto(f"{server.url}/admin/settings")
    retention = page.locator("#settings-retention")
    retention.get_by_label("Keep questions and answers for (days)").fill("-1")
    retention.get_by_role("button", name="Save retention").click()
    field = page.locator("#settings-retention").get_by_label("Keep questions and answers for (days)")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#setting-retention_days-error")).to_contain_text("keep forever")
    page.goto(f"{server.url}/admin/settings")
    expect(page.get_by_label("Keep questions and answers for (days)")).to_have_value("0")


@pytest.fixture
def server_with_accounts(tmp_path: Path, model: FakeLLM):
    from tests.browser.conftest import AppServer

    server = AppServer(tmp_path, model.url, SIGN_IN="accounts", SIGN_UP="invite")
    yield server
    server.stop()
