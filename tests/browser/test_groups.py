"""Groups in Chromium: an admin keeps a model for a group; a member of another group no longer sees it
in the picker, and a forged form asking for it is refused under the composer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from app import messages
from tests.browser.conftest import OUTPUT, AppServer
from tests.browser.test_people import invitation, make_account, new_page
from tests.fake_llm import FakeLLM

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path, model: FakeLLM) -> Iterator[AppServer]:
    """The app with accounts, new ones by invitation, and two models to pick from."""
    server = AppServer(
        tmp_path, model.url, SIGN_IN="accounts", SIGN_UP="invite", LLM_MODELS="fake-model,big-model"
    )
    yield server
    server.stop()


def make_group(admin: Page, server: AppServer, name: str) -> str:
    admin.goto(f"{server.url}/admin/groups")
    admin.get_by_label("New group").fill(name)
    admin.get_by_role("button", name="Make the group").click()
    expect(admin.get_by_role("heading", name=name)).to_be_visible()
    return admin.url


def add_member(admin: Page, group_url: str, name: str) -> None:
    admin.goto(group_url)
    admin.get_by_label("Add a person").select_option(label=name)
    admin.get_by_role("button", name="Add", exact=True).click()
    expect(admin.locator(f"#group-members tr:has-text('{name}')")).to_be_visible()


def test_a_model_kept_for_a_group_is_gone_from_others_pickers_and_refused_to_them(
    page: Page, browser: Browser, server: AppServer, model: FakeLLM, problems
):
    admin = page
    make_account(admin, f"{server.url}/signup", "ada")
    bea, cyd = new_page(browser, problems), new_page(browser, problems)
    make_account(bea, invitation(admin, server), "bea")
    make_account(cyd, invitation(admin, server), "cyd")
    engineering = make_group(admin, server, "Engineering")
    # A name already taken is said beside the field.
    problems.allow("422")
    admin.goto(f"{server.url}/admin/groups")
    admin.get_by_label("New group").fill("engineering")
    admin.get_by_role("button", name="Make the group").click()
    expect(admin.locator("#group-name-error")).to_contain_text("There is already a group named")
    sales = make_group(admin, server, "Sales")
    add_member(admin, engineering, "bea")
    add_member(admin, sales, "cyd")
    big = f"big-model@{urlsplit(model.url).netloc}"
    for person in (bea, cyd):
        person.goto(server.url)
        expect(person.locator(f"#model-picker option[value='{big}']")).to_have_count(1)

    admin.goto(engineering)
    admin.get_by_role("checkbox", name="big-model").check()
    admin.get_by_role("button", name="Save the models").click()
    expect(admin.locator("#group-models")).to_contain_text("this group alone")
    OUTPUT.mkdir(exist_ok=True)
    admin.screenshot(path=OUTPUT / "admin-group.png", full_page=True)

    bea.reload()
    expect(bea.locator(f"#model-picker option[value='{big}']")).to_have_count(1)
    cyd.reload()
    # One model left to Cyd: the composer offers no picker at all.
    expect(cyd.locator(f"#model-picker option[value='{big}']")).to_have_count(0)
    cyd.wait_for_load_state()
    # A forged form naming the model anyway is refused under the composer; the question stays.
    cyd.evaluate(f"document.getElementById('model-picker').value = {big!r}")
    box = cyd.get_by_label("Your question")
    box.fill("Let me use the big model")
    box.press("Enter")
    expect(cyd.locator("#composer-error")).to_have_text(messages.MODEL_UNAVAILABLE)
    expect(box).to_have_value("Let me use the big model")
    expect(cyd.locator(".exchange")).to_have_count(0)
    assert not any(request.get("model") == "big-model" for request in model.requests)
