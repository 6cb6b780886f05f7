"""Two people and an admin in Chromium: each sees only their own chats, the admin sees everyone's."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from bench.seed import Plan, load
from tests.browser.conftest import OUTPUT, WATCH_CSP, AppServer
from tests.fake_llm import FakeLLM

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


@pytest.fixture
def server(tmp_path: Path, model: FakeLLM) -> Iterator[AppServer]:
    """The app with accounts, new ones by invitation."""
    server = AppServer(tmp_path, model.url, SIGN_IN="accounts", SIGN_UP="invite")
    yield server
    server.stop()


def new_page(browser: Browser, problems) -> Page:
    """Another browser (its own cookies), failing the test on console errors like the first."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.add_init_script(WATCH_CSP)
    page.on("console", problems.on_console)
    return page


def make_account(page: Page, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("The same password again").fill(PASSWORD)
    page.get_by_role("button", name="Make the account").click()
    expect(page.get_by_role("link", name=name)).to_be_visible()


def invitation(admin: Page, server: AppServer) -> str:
    admin.goto(f"{server.url}/admin/users")
    admin.get_by_role("button", name="Invite someone").click()
    return admin.locator("#new-link").inner_text()


def ask(page: Page, question: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New chat").click()
    page.wait_for_load_state()  # Enter sends only once app.js has run
    page.get_by_label("Your question").fill(question)
    page.get_by_label("Your question").press("Enter")
    expect(page.locator("article.answer .answer-meta").last).to_contain_text("fake-model")


def test_two_people_and_an_admin(page, browser, server, problems):
    admin = page
    admin.goto(server.url)
    expect(admin).to_have_url(f"{server.url}/login?next=/")
    admin.get_by_role("link", name="Make an account").click()
    make_account(admin, admin.url, "ada")
    expect(admin.get_by_role("link", name="People")).to_be_visible()
    ask(admin, "Ada asks about lighthouses")

    alice, bob = new_page(browser, problems), new_page(browser, problems)
    make_account(alice, invitation(admin, server), "alice")
    make_account(bob, invitation(admin, server), "bob")
    ask(alice, "Alice asks about otters")
    ask(bob, "Bob asks about badgers")
    expect(alice.get_by_role("link", name="People")).to_have_count(0)

    # Each sees only their own, in the sidebar and the history; the other's chat is not found.
    alice.goto(f"{server.url}/list")
    expect(alice.locator("#history-rows")).to_contain_text("otters")
    expect(alice.locator("#history-rows")).not_to_contain_text("badgers")
    bob.goto(f"{server.url}/list")
    expect(bob.locator("#history-rows")).to_contain_text("badgers")
    expect(bob.locator("#history-rows")).not_to_contain_text("otters")
    bob_chat = bob.locator("#history-rows td.conversation a").first.get_attribute("href").split("#")[0]
    problems.allow("404")
    assert alice.goto(f"{server.url}{bob_chat}").status == 404
    assert bob.goto(f"{server.url}/admin/users").status == 404

    # The admin's history shows everyone, with who asked, and narrows to one person.
    admin.goto(f"{server.url}/list")
    expect(admin.get_by_role("heading", name="Everyone's history")).to_be_visible()
    for text in ("otters", "badgers", "lighthouses"):
        expect(admin.locator("#history-rows")).to_contain_text(text)
    expect(admin.locator("td.by-user")).to_have_text(["bob", "alice", "ada"])
    admin.get_by_label("User").fill("bob")
    expect(admin.locator("td.by-user")).to_have_text(["bob"])
    OUTPUT.mkdir(exist_ok=True)
    admin.screenshot(path=OUTPUT / "people-admin-history.png", full_page=True)

    # Bob on a second browser sees the same chats; signing out there leaves the first signed in.
    phone = new_page(browser, problems)
    phone.goto(f"{server.url}/login")
    phone.get_by_label("Name").fill("bob")
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    expect(phone.locator("#sidebar")).to_contain_text("Bob asks about badgers")
    phone.get_by_role("button", name="Sign out").click()
    expect(phone).to_have_url(f"{server.url}/login")
    bob.goto(f"{server.url}/list")
    expect(bob.locator("#history-rows")).to_contain_text("badgers")

    # The admin disables Bob: his next click finds the sign-in page.
    admin.goto(f"{server.url}/admin/users")
    admin.locator("tr", has_text="bob").get_by_role("button", name="Disable").click()
    expect(admin.locator("tr", has_text="bob")).to_contain_text("disabled")
    admin.screenshot(path=OUTPUT / "people-admin-users.png", full_page=True)
    bob.goto(f"{server.url}/list")
    expect(bob).to_have_url(f"{server.url}/login?next=/list")
    admin.goto(f"{server.url}/admin/audit")
    expect(admin.locator("tbody")).to_contain_text("disabled")
    for other in (alice, bob, phone):
        other.context.close()


def test_the_usage_page_draws_its_charts_within_the_csp(page, server):
    page.goto(f"{server.url}/signup")
    make_account(page, page.url, "ada")
    database = server.log.parent / "answers.db"
    with sqlite3.connect(database) as connection:
        owners = [connection.execute("SELECT owner FROM users WHERE username = 'ada'").fetchone()[0]]
        for name in ("bob", "carol", "dmitri"):
            connection.execute(
                "INSERT INTO users (owner, username, kind, role, created_at)"
                " VALUES (?, ?, 'local', 'user', ?)",
                (f"owner-of-{name}", name, "2026-01-01 00:00:00.000000"),
            )
            owners.append(f"owner-of-{name}")
    load(f"sqlite:///{database}", Plan(24_000, owners, [0.4, 0.3, 0.2, 0.1], seed=5))
    page.goto(f"{server.url}/usage")
    expect(page.get_by_role("heading", name="Everyone's usage")).to_be_visible()
    # Questions per day; tokens by model, by source (the chat, each API key) and by person.
    expect(page.locator("svg.chart")).to_have_count(4)
    expect(page.locator("svg.chart text.chart-label", has_text="Chat")).to_have_count(1)
    expect(page.locator("svg.chart text.chart-label", has_text="dmitri")).to_have_count(1)
    assert page.locator("svg.chart rect.chart-bar").count() > 30
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(
        path=OUTPUT / "usage.png", full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": 1160}
    )
