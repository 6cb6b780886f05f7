"""Invitation and reset links: they die with their maker's rights, with newer links, password changes and
disabling; admins list and revoke them; a link that says it failed has changed nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.config import Rate
from tests import figures, test_accounts
from tests.conftest import CSRF
from tests.test_accounts import PASSWORD, csrf_of, invite, person, sign_in, sign_up

accounts = pytest.mark.settings(sign_in="accounts", sign_up="invite", login_rate=Rate(1000, 60))
NEW = "a brand new password"
admin = test_accounts.admin  # the first account, which is an admin


async def user_id(db, name: str) -> int:
    return (await db.fetch_one("SELECT id FROM users WHERE username = :name", {"name": name}))["id"]


async def reset_link(admin, db, name: str) -> str:
    return await invite(admin, f"/admin/users/{await user_id(db, name)}/reset")


async def act(admin, db, name: str, action: str) -> None:
    token = await csrf_of(admin, "/admin/users")
    response = await admin.post(
        f"/admin/users/{await user_id(db, name)}/{action}", form={"csrf_token": token}
    )
    assert response.status_code == 303


async def use(app, link: str, name: str = "newcomer", *, works: bool):
    """Try a link as a stranger's browser would (its page, then its form), counting it in the figures."""
    browser = app.test_client()
    page = await browser.get(link)
    response = await sign_up(browser, name, NEW, path=link)
    worked = response.status_code == 303
    figures.add("links", tried=1, worked=int(works and worked), refused=int(not works and not worked))
    figures.add("links", leaked=int(not works and worked), lost=int(works and not worked))
    if not works:
        assert page.status_code == 404 and "This link cannot be used" in await page.get_data(as_text=True)
    assert worked is works, await response.get_data(as_text=True)
    return response


async def password_of(db, name: str) -> str:
    row = await db.fetch_one("SELECT password_hash FROM users WHERE username = :name", {"name": name})
    return row["password_hash"]


@accounts
async def test_links_die_when_their_maker_is_demoted_and_disabled(app, admin, db):
    admin2 = await person(app, admin, "eve")
    await act(admin, db, "eve", "promote")
    for_ada = await reset_link(admin2, db, "ada")
    invitation = await invite(admin2)
    await act(admin, db, "eve", "demote")
    await use(app, for_ada, works=False)
    await use(app, invitation, "mallory", works=False)
    await act(admin, db, "eve", "disable")
    await act(admin, db, "eve", "enable")
    await act(admin, db, "eve", "promote")
    # Made again an admin, Eve's old links stay dead: they ended when she lost the right to make them.
    await use(app, for_ada, works=False)
    await use(app, invitation, "mallory", works=False)
    assert (await sign_in(app.test_client(), "ada")).status_code == 303
    assert await db.fetch_one("SELECT id FROM users WHERE username = 'mallory'") is None


@accounts
async def test_a_link_works_only_while_its_maker_is_an_enabled_admin(app, admin, db):
    admin2 = await person(app, admin, "eve")
    await act(admin, db, "eve", "promote")
    invitation = await invite(admin2)
    # Changed behind the app's back (another tool, a restore): the link still asks its maker's rights.
    await db.execute("UPDATE users SET role = 'user' WHERE username = 'eve'")
    await use(app, invitation, "mallory", works=False)
    await db.execute("UPDATE users SET role = 'admin' WHERE username = 'eve'")
    await use(app, invitation, "mallory", works=True)


@accounts
async def test_a_new_reset_link_ends_the_older_ones(app, admin, db):
    await person(app, admin, "bob")
    first = await reset_link(admin, db, "bob")
    second = await reset_link(admin, db, "bob")
    await use(app, first, works=False)
    await use(app, second, works=True)
    assert (await sign_in(app.test_client(), "bob", NEW)).status_code == 303


@accounts
async def test_changing_ones_password_ends_the_reset_links(app, admin, db):
    bob = await person(app, admin, "bob")
    link = await reset_link(admin, db, "bob")
    token = await csrf_of(bob, "/account")
    changed = await bob.post(
        "/account/password",
        form={
            "current": PASSWORD,
            "password": "bobs own new password",
            "again": "bobs own new password",
            "csrf_token": token,
        },
    )
    assert changed.status_code == 200
    await use(app, link, works=False)
    assert (await sign_in(app.test_client(), "bob", "bobs own new password")).status_code == 303


@accounts
async def test_a_spent_reset_link_ends_the_other_links_for_that_person(app, admin, db):
    await person(app, admin, "bob")
    # Two admins each made one: using either ends the other.
    admin2 = await person(app, admin, "eve")
    await act(admin, db, "eve", "promote")
    mine, hers = await reset_link(admin, db, "bob"), await reset_link(admin2, db, "bob")
    await use(app, hers, works=True)
    await use(app, mine, works=False)


@accounts
async def test_disabling_a_person_ends_the_links_for_them_and_by_them(app, admin, db):
    await person(app, admin, "bob")
    admin2 = await person(app, admin, "eve")
    await act(admin, db, "eve", "promote")
    for_eve = await reset_link(admin, db, "eve")
    by_eve = await invite(admin2)
    by_eve_for_bob = await reset_link(admin2, db, "bob")
    await act(admin, db, "eve", "disable")
    await act(admin, db, "eve", "enable")
    for link in (for_eve, by_eve, by_eve_for_bob):
        await use(app, link, works=False)


@accounts
async def test_a_reset_link_for_a_disabled_person_changes_nothing(app, admin, db):
    await person(app, admin, "bob")
    link = await reset_link(admin, db, "bob")
    before = await password_of(db, "bob")
    # Disabled behind the app's back, so that the link itself is still live.
    await db.execute("UPDATE users SET disabled_at = '2026-01-01 00:00:00.000000' WHERE username = 'bob'")
    await use(app, link, works=False)
    assert await password_of(db, "bob") == before
    await db.execute("UPDATE users SET disabled_at = NULL WHERE username = 'bob'")
    assert (await sign_in(app.test_client(), "bob")).status_code == 303
    assert (await sign_in(app.test_client(), "bob", NEW)).status_code == 401


@accounts
async def test_a_link_made_before_sign_up_closed_does_not_make_an_account(app, admin, db):
    invitation = await invite(admin)
    app.config["ANSWERS"] = replace(app.config["ANSWERS"], sign_up="closed")
    await use(app, invitation, "mallory", works=False)


@accounts
async def test_making_a_link_is_a_post_then_a_page_that_shows_it_on_top_once(app, admin, db):
    token = await csrf_of(admin, "/admin/users")
    made = await admin.post("/admin/users/invite", form={"csrf_token": token})
    assert made.status_code == 303 and made.headers["Location"] == "/admin/links"
    shown = await (await admin.get("/admin/links")).get_data(as_text=True)
    assert 'id="new-link"' in shown
    link = shown.split('id="new-link">', 1)[1].split("<", 1)[0]
    # Reloading makes nothing; the invitation stays listed with its link to copy, no longer on top.
    again = await (await admin.get("/admin/links")).get_data(as_text=True)
    assert 'id="new-link"' not in again and again.count(link) == 1
    assert (await db.fetch_one("SELECT COUNT(*) AS n FROM invitations"))["n"] == 1
    # A person's reset link too, shown on top this once only.
    await person(app, admin, "bob")
    made = await admin.post(f"/admin/users/{await user_id(db, 'bob')}/reset", form={"csrf_token": token})
    assert made.status_code == 303 and made.headers["Location"] == "/admin/links"
    shown = await (await admin.get("/admin/links")).get_data(as_text=True)
    assert "new password for <strong>bob</strong>" in shown
    reset = shown.split('id="new-link">', 1)[1].split("<", 1)[0]
    assert reset not in await (await admin.get("/admin/links")).get_data(as_text=True)


@accounts
async def test_admins_list_the_live_links_and_revoke_them(app, admin, db):
    await person(app, admin, "bob")
    invitation = await invite(admin)
    for_bob = await reset_link(admin, db, "bob")
    page = await (await admin.get("/admin/links")).get_data(as_text=True)
    rows = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert rows.count('<tr id="link-') == 2
    assert "Invitation" in rows and "New password for bob" in rows and ">ada<" in rows
    # The invitation's link is listed to copy again; a reset link never is.
    assert page.count("/link/") == 1 and invitation in page and for_bob not in page
    ids = [part.split('"', 1)[0] for part in rows.split('<tr id="link-')[1:]]
    token = CSRF.search(page).group(1)
    # Without JavaScript: a form, then the list again.
    revoked = await admin.post(f"/admin/links/{ids[0]}/revoke", form={"csrf_token": token})
    assert revoked.status_code == 303 and revoked.headers["Location"] == "/admin/links"
    # With htmx: the row goes.
    gone = await admin.post(
        f"/admin/links/{ids[1]}/revoke", headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert gone.status_code == 200 and await gone.get_data(as_text=True) == ""
    await use(app, invitation, "mallory", works=False)
    await use(app, for_bob, works=False)
    listed = await (await admin.get("/admin/links")).get_data(as_text=True)
    assert '<tr id="link-' not in listed
    trail = await (await admin.get("/admin/audit")).get_data(as_text=True)
    assert trail.count("link revoked") == 2
    missing = await admin.post(f"/admin/links/{'0' * 64}/revoke", form={"csrf_token": token})
    assert missing.status_code == 404


@accounts
async def test_ordinary_people_find_no_links_page(app, admin):
    bob = await person(app, admin, "bob")
    token = await csrf_of(bob, "/")
    assert (await bob.get("/admin/links")).status_code == 404
    assert (await bob.post(f"/admin/links/{'a' * 64}/revoke", form={"csrf_token": token})).status_code == 404
