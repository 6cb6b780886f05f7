"""The admin's Links page in Chromium: a new link shown on top with a Copy button, pending invitations
listed to copy again, revoked with htmx and without JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import test_people
from tests.browser.conftest import OUTPUT, WATCH_CSP, AppServer
from tests.browser.test_people import make_account

pytestmark = pytest.mark.browser


server = test_people.server  # the app with accounts, new ones by invitation


def invite(admin: Page, server: AppServer) -> str:
    admin.goto(f"{server.url}/admin/users")
    admin.get_by_role("button", name="Invite someone").click()
    expect(admin).to_have_url(f"{server.url}/admin/links")
    return admin.locator("#new-link").inner_text()


def test_a_new_link_is_shown_copied_listed_to_copy_again_and_revoked(
    page, browser: Browser, server, problems
):
    admin = page
    admin.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    admin.goto(f"{server.url}/signup")
    make_account(admin, admin.url, "ada")
    first = invite(admin, server)
    admin.locator(".admin-link").get_by_role("button", name="Copy").click()
    expect(admin.get_by_role("button", name="Copied")).to_be_visible()
    assert admin.evaluate("navigator.clipboard.readText()") == first
    second = invite(admin, server)
    OUTPUT.mkdir(exist_ok=True)
    admin.screenshot(path=OUTPUT / "admin-links.png", full_page=True)
    admin.reload()
    expect(admin.locator("#new-link")).to_have_count(0)
    rows = admin.locator("tbody tr")
    expect(rows).to_have_count(2)
    # Pending invitations stay listed, each with who made it, when it expires, and its link to copy.
    expect(rows.locator(".admin-link-url")).to_have_text([second, first])
    expect(rows.first).to_contain_text("ada")
    rows.nth(1).get_by_role("button", name="Copy").click()
    expect(rows.nth(1).get_by_role("button", name="Copied")).to_be_visible()
    assert admin.evaluate("navigator.clipboard.readText()") == first

    # With htmx the row goes, the page stays.
    rows.first.get_by_role("button", name="Revoke").click()
    expect(rows).to_have_count(1)
    expect(admin).to_have_url(f"{server.url}/admin/links")

    # Without JavaScript the same form posts and comes back to the list.
    context = browser.new_context(java_script_enabled=False)
    plain = context.new_page()
    plain.add_init_script(WATCH_CSP)
    plain.goto(f"{server.url}/login")
    plain.get_by_label("Name").fill("ada")
    plain.get_by_label("Password").fill("correct horse battery")
    plain.get_by_role("button", name="Sign in").click()
    third = invite(plain, server)
    # The link is there to select; a Copy button needs a script.
    expect(plain.locator("#new-link")).to_have_text(third)
    expect(plain.get_by_role("button", name="Copy")).to_have_count(0)
    for _ in range(2):
        plain.locator("tbody tr").first.get_by_role("button", name="Revoke").click()
        expect(plain).to_have_url(f"{server.url}/admin/links")
    expect(plain.get_by_text("No link is waiting to be used.")).to_be_visible()
    context.close()

    problems.allow("404")
    for link in (first, second, third):
        assert admin.goto(link).status == 404
        expect(admin.get_by_role("heading", name="This link cannot be used")).to_be_visible()
