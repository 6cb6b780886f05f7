"""What frames every page: the top bar's menu, the model badge, the sign-in links, the keyboard hints."""

from __future__ import annotations

import re

import pytest

from app.config import Config, Server
from tests.conftest import Visitor
from tests.test_models import options, second_server, server_of  # noqa: F401 (a fixture)
from tests.test_quotas import signed_in

MENU = '<nav aria-label="Main"'
BADGE = re.compile(r'<span class="model"[^>]*>(.*?)</span>\s*</header>', re.S)
accounts_by_invitation = {"sign_in": "accounts", "sign_up": "invite"}


def badge(page: str) -> str | None:
    found = BADGE.search(page)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip() if found else None


@pytest.mark.settings(**accounts_by_invitation)
async def test_signed_out_pages_show_neither_the_apps_menu_nor_a_model(app):
    await signed_in(app, "ada")  # the first account; sign-up is by invitation from now on
    stranger = Visitor(app.test_client())
    for path in ("/login", "/signup", "/link/no-such-link"):
        page = await stranger.open(path)
        assert MENU not in page and badge(page) is None, path
        assert "New chat" not in page and "Settings" not in page, path


@pytest.mark.settings(**accounts_by_invitation)
async def test_make_an_account_is_offered_only_where_anyone_may_make_one(app):
    first = await Visitor(app.test_client()).open("/login")
    assert "Make an account" in first  # nobody has one yet: the first is the admin
    await signed_in(app, "ada")
    assert "Make an account" not in await Visitor(app.test_client()).open("/login")


@pytest.mark.settings(sign_in="accounts", sign_up="open")
async def test_with_sign_up_open_the_sign_in_page_offers_an_account(app):
    await signed_in(app, "ada")
    assert "Make an account" in await Visitor(app.test_client()).open("/login")


@pytest.mark.settings(**accounts_by_invitation)
async def test_a_link_that_cannot_be_used_offers_the_way_to_sign_in(app):
    await signed_in(app, "ada")
    page = await Visitor(app.test_client()).open("/link/spent-or-unknown")
    assert "This link cannot be used" in page and 'href="/login"' in page


async def test_the_model_badge_names_the_chats_model_on_chat_pages_only(visitor, db):
    await visitor.ask("a question")
    await db.execute("UPDATE conversations SET model = 'older-model' WHERE id = 1")
    assert badge(await visitor.open("/c/1")) == "Model: older-model"
    assert badge(await visitor.open("/")) == "Model: fake-model"
    for path in ("/list", "/usage", "/settings", "/conversations", "/c/1/share"):
        assert badge(await visitor.open(path)) is None, path


async def test_the_picker_names_no_server_when_there_is_only_one(client, model):
    model.configure(models=["fake-model", "second-model"])
    here = server_of(model)
    assert options(await Visitor(client).open("/")) == [
        (f"fake-model@{here}", True, "fake-model"),
        (f"second-model@{here}", False, "second-model"),
    ]


async def test_the_picker_names_an_unnamed_server_by_its_host(model, second_server, config):  # noqa: F811
    from app import create_app

    config = Config(**{**config.__dict__, "llm_servers": (Server("local", second_server.url),)})
    app = create_app(config)
    async with app.test_app():
        page = await Visitor(app.test_client()).open("/")
    labels = [label for _, _, label in options(page)]
    assert "fake-model · 127.0.0.1" in labels and "llama-local · local" in labels


async def test_keyboard_hints_are_shown_only_with_javascript(visitor):
    page = await visitor.open("/")
    assert re.search(r'<p id="composer-help" class="composer-help"[^>]* hidden>', page)
