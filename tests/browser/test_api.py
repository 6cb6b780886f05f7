"""In Chromium: a key made on the account page, a script's call on the admin's /list; once revoked, 401."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import OUTPUT, AppServer
from tests.browser.test_people import make_account
from tests.fake_llm import FakeLLM

pytestmark = pytest.mark.browser

# What a person's own script does: the openai client, nothing of this project.
SCRIPT = """
import sys
import openai

client = openai.OpenAI(base_url=sys.argv[1], api_key=sys.argv[2], max_retries=0)
try:
    reply = client.chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": "Which planet is largest?"}]
    )
except openai.AuthenticationError as refused:
    print("refused", refused.status_code)
else:
    print("answered", reply.choices[0].message.content)
"""


@pytest.fixture
def server(tmp_path: Path, model: FakeLLM) -> Iterator[AppServer]:
    """The app with accounts, anyone may make one (the first is an admin)."""
    server = AppServer(tmp_path, model.url, SIGN_IN="accounts", SIGN_UP="open")
    yield server
    server.stop()


def run_script(server: AppServer, key: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, f"{server.url}/v1", key], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_key_made_on_the_account_page_calls_the_api_until_revoked(page: Page, server: AppServer, model):
    model.configure(answer="Jupiter is the largest planet.")
    make_account(page, f"{server.url}/signup", "ada")
    page.get_by_role("link", name="ada").click()
    page.get_by_label("A name for the new key").fill("my script")
    page.get_by_role("button", name="Make a key").click()
    shown = page.locator(".new-key-value")
    expect(shown).to_be_visible()
    key = shown.inner_text()
    assert key.startswith("ga-")
    page.screenshot(path=OUTPUT / "api-key-made.png", full_page=True)

    assert run_script(server, key) == "answered Jupiter is the largest planet."

    page.goto(f"{server.url}/list")
    row = page.locator("tr", has_text="Which planet is largest?")
    expect(row.locator(".pill-source")).to_have_text("API · my script")
    expect(row.locator("td.answer")).to_contain_text("Jupiter is the largest planet.")
    page.get_by_label("Source").select_option("api:my script")
    expect(page.locator("#history-rows tr", has_text="Which planet is largest?")).to_be_visible()
    page.screenshot(path=OUTPUT / "api-call-on-the-list.png", full_page=True)
    # The sidebar holds one link to every API call, not the calls themselves.
    page.goto(server.url + "/")
    expect(page.locator(".sidebar .api-calls")).to_have_text("API calls")
    expect(page.locator(".sidebar")).not_to_contain_text("Which planet is largest?")

    page.goto(f"{server.url}/account")
    expect(page.locator(".keys-table")).not_to_contain_text(key)
    page.locator("#api-keys ~ table tr", has_text="my script").get_by_role("button", name="Revoke").click()
    expect(page.locator(".keys-table")).to_contain_text("revoked")
    page.screenshot(path=OUTPUT / "api-key-revoked.png", full_page=True)
    assert run_script(server, key) == "refused 401"
