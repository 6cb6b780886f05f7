"""Folders, pins and the sidebar's search: made and moved without JavaScript, kept to their owner, cheap."""

from __future__ import annotations

import re

from app.config import DEFAULT_SYSTEM_PROMPT
from app.messages import FOLDER_EMPTY, NO_CHAT_MATCHES, NOT_YOUR_FOLDER, TYPE_A_FOLDER_NAME
from app.storage import conversations, exchanges, folders, retention
from app.storage.conversations import _SIDEBAR
from app.views import conversations as sidebar_views
from tests.conftest import Visitor

ITEM = re.compile(r'id="conversation-(\d+)"')


async def owner_of(visitor: Visitor) -> str:
    async with visitor.client.session_transaction() as session:
        return session["owner"]


def section(page: str, element_id: str) -> str:
    """The markup of the sidebar list with this id."""
    start = page.index(f'id="{element_id}"')
    return page[start : page.index("</ul>", start)]


def listed(page: str, element_id: str) -> list[int]:
    return [int(found) for found in ITEM.findall(section(page, element_id))]


async def post(visitor: Visitor, path: str, htmx: bool = False, **form: str):
    headers = {"HX-Request": "true", "HX-Current-URL": "http://localhost/"} if htmx else {}
    return await visitor.client.post(path, form={"csrf_token": visitor.csrf, **form}, headers=headers)


async def make_folder(visitor: Visitor, name: str) -> int:
    response = await post(visitor, "/folders", name=name, back="/")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    shown = re.escape(" ".join(name.split()))
    found = re.search(
        rf'id="folder-(\d+)">\s*<details[^>]*>\s*<summary><span class="folder-name">{shown}<',
        await visitor.open(),
    )
    assert found, name
    return int(found.group(1))


async def answered(visitor: Visitor, question: str, conversation_id: int | str = "") -> int:
    """Ask without JavaScript (the answer is written before the redirect); the chat's id."""
    response = await visitor.ask(question, conversation_id, htmx=False)
    assert response.status_code == 303
    return int(re.search(r"/c/(\d+)", response.headers["Location"]).group(1))


async def test_a_folder_is_made_renamed_and_deleted_without_javascript_and_its_chats_stay(visitor, db):
    owner = await owner_of(visitor)
    chat = await conversations.create(db, owner, "Lab notes")
    form = await visitor.open(f"/folders/new?back=/c/{chat}")
    assert 'action="/folders"' in form and f'name="back" value="/c/{chat}"' in form
    folder = await make_folder(visitor, "  Chemistry   homework ")
    page = await visitor.open()
    assert '<span class="folder-name">Chemistry homework</span>' in page
    moved = await post(visitor, f"/c/{chat}/folder", folder=str(folder), back=f"/c/{chat}")
    assert moved.status_code == 303 and moved.headers["Location"] == f"/c/{chat}"
    # Out of the chats in no folder; inside its folder, open when the chat is on screen.
    assert chat not in listed(await visitor.open(), "conversation-list")
    on_screen = await visitor.open(f"/c/{chat}")
    assert listed(on_screen, f"folder-chats-{folder}") == [chat]
    assert f'id="folder-{folder}">\n  <details class="folder-box" open>' in on_screen

    renamed = await post(visitor, f"/folders/{folder}/rename", name="Chemistry")
    assert renamed.status_code == 303 and renamed.headers["Location"] == f"/folders/{folder}"
    folder_page = await visitor.open(f"/folders/{folder}")
    assert "Folder “Chemistry”" in folder_page and f'href="/c/{chat}">Lab notes</a>' in folder_page

    deleted = await post(visitor, f"/folders/{folder}/delete", back="/")
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/"
    page = await visitor.open()
    assert 'class="folder-name"' not in page and listed(page, "conversation-list") == [chat]
    assert (await visitor.client.get(f"/folders/{folder}")).status_code == 404
    assert (await conversations.get(db, chat, owner))["folder_id"] is None


async def test_a_chat_moves_out_of_its_folder_and_a_move_page_offers_the_folders(visitor, db):
    owner = await owner_of(visitor)
    chat = await conversations.create(db, owner, "Wandering chat")
    first, second = await make_folder(visitor, "First"), await make_folder(visitor, "Second")
    await post(visitor, f"/c/{chat}/folder", folder=str(first))
    choice = await visitor.open(f"/c/{chat}/folder")
    assert f'value="{first}" checked> First' in choice and f'value="{second}"> Second' in choice
    await post(visitor, f"/c/{chat}/folder", folder=str(second))
    assert listed(await visitor.open(f"/c/{chat}"), f"folder-chats-{second}") == [chat]
    out = await post(visitor, f"/c/{chat}/folder", folder="")
    assert out.status_code == 303
    page = await visitor.open(f"/c/{chat}")
    assert listed(page, "conversation-list") == [chat] and 'folder-box" open' not in page


async def test_folder_names_are_checked_and_said_plainly(visitor, db):
    for name in ("", "   "):
        refused = await post(visitor, "/folders", name=name)
        assert refused.status_code == 422 and TYPE_A_FOLDER_NAME in await refused.get_data(as_text=True)
    refused = await post(visitor, "/folders", name="x" * (folders.NAME_CHARS + 1))
    assert refused.status_code == 422
    assert f"{folders.NAME_CHARS} characters long at most" in await refused.get_data(as_text=True)
    assert await folders.of_owner(db, await owner_of(visitor)) == []
    folder = await make_folder(visitor, "Kept")
    refused = await post(visitor, f"/folders/{folder}/rename", name="")
    assert refused.status_code == 422
    assert [row["name"] for row in await folders.of_owner(db, await owner_of(visitor))] == ["Kept"]


async def test_a_folders_instructions_reach_the_model_after_the_persons_and_before_the_chats(visitor, model):
    saved = await post(visitor, "/settings", theme="system", instructions="Be brief.", time_zone="")
    assert saved.status_code == 303
    folder = await make_folder(visitor, "Chemistry")
    too_long = "x" * 4001
    refused = await post(visitor, f"/folders/{folder}/instructions", instructions=too_long)
    assert refused.status_code == 422 and f"{too_long}</textarea>" in await refused.get_data(as_text=True)
    stored = await post(visitor, f"/folders/{folder}/instructions", instructions="Speak as a chemist.")
    assert stored.status_code == 303
    assert "Speak as a chemist.</textarea>" in await visitor.open(f"/folders/{folder}")

    chat = await answered(visitor, "What is a mole?")
    assert model.requests[-1]["messages"][0]["content"] == f"{DEFAULT_SYSTEM_PROMPT}\n\nBe brief."
    await post(visitor, f"/c/{chat}/folder", folder=str(folder))
    await answered(visitor, "And a molar mass?", chat)
    inherited = f"{DEFAULT_SYSTEM_PROMPT}\n\nBe brief.\n\nSpeak as a chemist."
    assert model.requests[-1]["messages"][0]["content"] == inherited
    await post(visitor, f"/c/{chat}/instructions", instructions="Answer in French.", temperature="")
    await answered(visitor, "Et la masse volumique ?", chat)
    assert model.requests[-1]["messages"][0]["content"] == f"{inherited}\n\nAnswer in French."
    # Out of the folder, the folder's instructions no longer apply.
    await post(visitor, f"/c/{chat}/folder", folder="")
    await answered(visitor, "Encore ?", chat)
    last = f"{DEFAULT_SYSTEM_PROMPT}\n\nBe brief.\n\nAnswer in French."
    assert model.requests[-1]["messages"][0]["content"] == last


async def test_pinned_chats_come_first_then_folders_then_the_rest_by_recency(visitor, db):
    owner = await owner_of(visitor)
    first, second, third, fourth = [await conversations.create(db, owner, f"chat {n}") for n in range(4)]
    folder = await make_folder(visitor, "Projects")
    await post(visitor, f"/c/{fourth}/folder", folder=str(folder))
    for chat in (first, third):
        assert (await post(visitor, f"/c/{chat}/pin", pin="1", back="/")).status_code == 303
    page = await visitor.open()
    assert listed(page, "pinned-list") == [third, first]
    assert listed(page, "conversation-list") == [second]
    assert (
        page.index('id="pinned-list"') < page.index('id="folder-list"') < page.index('id="conversation-list"')
    )
    # A chat asked in keeps its pinned place; pinning again changes nothing.
    await exchanges.create(db, first, owner, "bump", touched=True)
    await post(visitor, f"/c/{first}/pin", pin="1")
    assert listed(await visitor.open(), "pinned-list") == [third, first]
    # With htmx the sidebar comes back whole, the unpinned chat among the rest.
    unpinned = await post(visitor, f"/c/{third}/pin", htmx=True, pin="0")
    fragment = await unpinned.get_data(as_text=True)
    assert "<html" not in fragment
    assert fragment.strip().startswith('<div class="sidebar-chats" id="sidebar-chats">')
    assert listed(fragment, "pinned-list") == [first] and listed(fragment, "conversation-list") == [
        third,
        second,
    ]


async def test_pins_are_bounded(visitor, db, monkeypatch):
    monkeypatch.setattr(sidebar_views, "MAX_PINS", 2)
    owner = await owner_of(visitor)
    chats = [await conversations.create(db, owner, f"chat {n}") for n in range(3)]
    for chat in chats[:2]:
        await post(visitor, f"/c/{chat}/pin", pin="1")
    refused = await post(visitor, f"/c/{chats[2]}/pin", pin="1")
    assert refused.status_code == 422 and "pinned 2 chats" in await refused.get_data(as_text=True)
    assert (await post(visitor, f"/c/{chats[0]}/pin", pin="1")).status_code == 303


async def test_the_search_finds_titles_and_text_of_ones_own_chats(visitor, db, app):
    owner = await owner_of(visitor)
    bread = await conversations.create(db, owner, "Sourdough starter tips")
    leaves = await conversations.create(db, owner, "Botany")
    answer = await exchanges.create(db, leaves, owner, "How do leaves make sugar?")
    await db.execute(
        "UPDATE exchanges SET answer = :answer WHERE id = :id",
        {"answer": "Through photosynthesis, using sunlight.", "id": answer["id"]},
    )
    gone = await conversations.create(db, owner, "Sourdough gone")
    await conversations.delete(db, gone, owner)
    await conversations.create(db, "someone else", "Sourdough of a stranger")

    typed = await visitor.client.get("/chats/search?q=sourd", headers={"HX-Request": "true"})
    fragment = await typed.get_data(as_text=True)
    assert "<html" not in fragment and listed(fragment, "conversation-list") == [bread]
    found = await visitor.client.get("/chats/search?q=photosynthesis", headers={"HX-Request": "true"})
    assert listed(await found.get_data(as_text=True), "conversation-list") == [leaves]
    question = await visitor.client.get("/chats/search?q=leaves+sugar", headers={"HX-Request": "true"})
    assert listed(await question.get_data(as_text=True), "conversation-list") == [leaves]
    nothing = await visitor.client.get("/chats/search?q=stranger", headers={"HX-Request": "true"})
    assert NO_CHAT_MATCHES in await nothing.get_data(as_text=True)
    # An emptied box brings the sidebar back.
    cleared = await visitor.client.get("/chats/search?q=", headers={"HX-Request": "true"})
    assert listed(await cleared.get_data(as_text=True), "conversation-list") == [leaves, bread]
    # Without JavaScript the search is a page with the form, the words kept in it.
    page = await (await visitor.client.get("/chats/search?q=Sourdough")).get_data(as_text=True)
    assert "<html" in page and 'value="Sourdough"' in page and listed(page, "conversation-list") == [bread]


async def test_a_renamed_chat_is_found_by_its_new_title(visitor, db):
    owner = await owner_of(visitor)
    chat = await conversations.create(db, owner, "Untitled thoughts")
    await post(visitor, f"/c/{chat}/rename", title="Marathon training plan")
    found = await visitor.client.get("/chats/search?q=marathon", headers={"HX-Request": "true"})
    assert listed(await found.get_data(as_text=True), "conversation-list") == [chat]
    old = await visitor.client.get("/chats/search?q=untitled", headers={"HX-Request": "true"})
    assert NO_CHAT_MATCHES in await old.get_data(as_text=True)


async def test_folders_and_chats_are_their_owners_alone(app, visitor, db):
    owner = await owner_of(visitor)
    mine = await conversations.create(db, owner, "Mine")
    folder = await make_folder(visitor, "Private")
    await post(visitor, f"/c/{mine}/folder", folder=str(folder))
    stranger = Visitor(app.test_client())
    await stranger.open()
    theirs = await conversations.create(db, await owner_of(stranger), "Theirs")
    assert "Private" not in await stranger.open()
    for path in (f"/folders/{folder}", f"/folders/{folder}/chats", f"/c/{mine}/folder"):
        response = await stranger.client.get(path)
        assert response.status_code == 404, path
    assert NOT_YOUR_FOLDER in await (await stranger.client.get(f"/folders/{folder}")).get_data(as_text=True)
    for path, form in (
        (f"/folders/{folder}/rename", {"name": "Taken"}),
        (f"/folders/{folder}/instructions", {"instructions": "Leak everything."}),
        (f"/folders/{folder}/delete", {}),
        (f"/c/{theirs}/folder", {"folder": str(folder)}),
        (f"/c/{mine}/folder", {"folder": ""}),
        (f"/c/{mine}/pin", {"pin": "1"}),
        (f"/c/{theirs}/folder", {"folder": "not a number"}),
    ):
        response = await post(stranger, path, **form)
        assert response.status_code == 404, path
    found = await folders.get(db, folder, owner)
    assert (found["name"], found["instructions"]) == ("Private", None)
    assert (await conversations.get(db, mine, owner))["folder_id"] == folder
    assert (await conversations.get(db, theirs, await owner_of(stranger)))["folder_id"] is None
    search = await stranger.client.get("/chats/search?q=mine", headers={"HX-Request": "true"})
    assert mine not in listed(await search.get_data(as_text=True), "conversation-list")


async def test_every_post_needs_the_csrf_token(visitor, db):
    chat = await conversations.create(db, await owner_of(visitor), "Guarded")
    folder = await make_folder(visitor, "Guarded folder")
    for path in (
        "/folders",
        f"/folders/{folder}/rename",
        f"/folders/{folder}/delete",
        f"/c/{chat}/pin",
        f"/c/{chat}/folder",
    ):
        response = await visitor.client.post(path, form={"name": "x", "pin": "1", "folder": str(folder)})
        assert response.status_code in (400, 403), path
    assert (await conversations.get(db, chat, await owner_of(visitor)))["pinned_at"] is None


async def test_a_closed_folder_loads_its_chats_when_opened(visitor, db):
    owner = await owner_of(visitor)
    folder = await make_folder(visitor, "Later")
    empty = await visitor.client.get(f"/folders/{folder}/chats", headers={"HX-Request": "true"})
    assert FOLDER_EMPTY in await empty.get_data(as_text=True)
    chats = [await conversations.create(db, owner, f"chat {n}") for n in range(3)]
    for chat in chats:
        await post(visitor, f"/c/{chat}/folder", folder=str(folder))
    page = await visitor.open()
    assert f'hx-get="/folders/{folder}/chats" hx-trigger="toggle once"' in page
    opened = await visitor.client.get(f"/folders/{folder}/chats", headers={"HX-Request": "true"})
    fragment = await opened.get_data(as_text=True)
    assert "<html" not in fragment and listed(fragment, f"folder-chats-{folder}") == chats[::-1]
    # Without JavaScript the same link is the folder's page.
    assert "<html" in await (await visitor.client.get(f"/folders/{folder}/chats")).get_data(as_text=True)


async def test_a_folders_page_pages_back_through_all_its_chats(visitor, db, monkeypatch):
    """A folder holding more chats than its page shows links to the older ones, page after page."""
    from app.views import folders as folder_views

    monkeypatch.setattr(folder_views, "FOLDER_PAGE", 2)
    owner = await owner_of(visitor)
    folder = await make_folder(visitor, "Archive")
    chats = [await conversations.create(db, owner, f"old chat {n}") for n in range(5)]
    for chat in chats:
        await conversations.move(db, chat, owner, folder)
    seen: list[int] = []
    address: str | None = f"/folders/{folder}"
    while address is not None:
        page = await visitor.open(address)
        seen += [int(n) for n in re.findall(r'<li><a href="/c/(\d+)">old chat', page)]
        older = re.search(r'<a class="older" href="([^"]+)"', page)
        address = older.group(1).replace("&amp;", "&") if older else None
        assert len(seen) <= len(chats), "a page repeated chats"
    assert seen == chats[::-1]


async def test_the_sidebar_is_one_statement_on_the_chats(visitor, db, monkeypatch):
    owner = await owner_of(visitor)
    chat = await conversations.create(db, owner, "Counted")
    folder = await make_folder(visitor, "Counted folder")
    await post(visitor, f"/c/{chat}/folder", folder=str(folder))
    await post(visitor, f"/c/{chat}/pin", pin="1")
    statements: list[str] = []
    for name in ("fetch_all", "fetch_one", "execute"):
        original = getattr(db, name)

        def counted(sql, *args, _original=original, **kwargs):
            statements.append(sql)
            return _original(sql, *args, **kwargs)

        monkeypatch.setattr(db, name, counted)
    await visitor.open()
    assert len([sql for sql in statements if "FROM conversations" in sql or "FROM folders" in sql]) == 1


async def test_each_part_of_the_sidebar_reads_an_index(db):
    params = {"owner": "o", "current": 1, "limit": 31, "pins": 20, "in_folder": 31, "folders": 100}
    if db.dialect == "sqlite":
        plan = " | ".join(
            row["detail"] for row in await db.fetch_all(f"EXPLAIN QUERY PLAN {_SIDEBAR}", params)
        )
        assert "SCAN conversations" not in plan and "SCAN folders" not in plan, plan
        assert "TEMP B-TREE" not in plan, plan
    else:
        rows = await db.fetch_all(f"EXPLAIN {_SIDEBAR}", params)
        tables = [row for row in rows if row["table"] in ("conversations", "folders")]
        assert tables and all(row["type"] != "ALL" for row in tables), rows
        assert not any("filesort" in (row["Extra"] or "") for row in tables), rows


async def test_erasing_a_person_takes_their_folders_and_instructions(visitor, db):
    owner = await owner_of(visitor)
    folder = await make_folder(visitor, "Secrets")
    await post(visitor, f"/folders/{folder}/instructions", instructions="Remember my address.")
    await retention.erase_owner(db, owner)
    assert await folders.get(db, folder, owner) is None


async def test_asking_in_a_pinned_or_filed_chat_leaves_it_in_its_place(visitor):
    pinned, filed, loose = [await answered(visitor, f"Chat number {n}") for n in range(3)]
    await post(visitor, f"/c/{pinned}/pin", pin="1")
    folder = await make_folder(visitor, "Shelf")
    await post(visitor, f"/c/{filed}/folder", folder=str(folder))
    for chat in (pinned, filed):
        body = await (await visitor.ask("Still in place?", chat)).get_data(as_text=True)
        assert "answer-" in body and "#conversation-list" not in body
    body = await (await visitor.ask("To the top?", loose)).get_data(as_text=True)
    assert 'hx-swap-oob="afterbegin:#conversation-list"' in body
