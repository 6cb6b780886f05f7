"""The sidebar of conversations: listing with keyset pages, renaming, deleting, privacy."""

from __future__ import annotations

import re

from app.storage import conversations, exchanges
from app.views.conversations import PAGE_SIZE
from tests.conftest import Visitor

ITEM = re.compile(r'id="conversation-(\d+)"')


async def owner_of(visitor: Visitor) -> str:
    async with visitor.client.session_transaction() as session:
        return session["owner"]


async def fragment(visitor: Visitor, path: str) -> str:
    response = await visitor.client.get(path, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return await response.get_data(as_text=True)


async def test_the_list_shows_the_newest_first_and_pages_back_through_all(visitor, db):
    owner = await owner_of(visitor)
    for n in range(PAGE_SIZE + 5):
        await conversations.create(db, owner, f"chat number {n}")
    first = await fragment(visitor, "/conversations")
    ids = [int(i) for i in ITEM.findall(first)]
    assert len(ids) == PAGE_SIZE and ids == sorted(ids, reverse=True)
    assert "<html" not in first
    more = re.search(r'hx-get="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = await fragment(visitor, more)
    rest = [int(i) for i in ITEM.findall(second)]
    assert sorted(ids + rest, reverse=True) == ids + rest and len(set(ids + rest)) == PAGE_SIZE + 5
    assert 'hx-get="' not in second


async def test_a_conversation_with_a_new_question_moves_to_the_top(visitor, db):
    owner = await owner_of(visitor)
    older = await conversations.create(db, owner, "older")
    await conversations.create(db, owner, "newer")
    await exchanges.create(db, older, owner, "bump")
    ids = [int(i) for i in ITEM.findall(await fragment(visitor, "/conversations"))]
    assert ids[0] == older


async def test_a_new_chat_is_titled_from_its_first_question_and_added_to_the_sidebar(visitor):
    response = await visitor.ask("How do  tides\nwork on Mars?")
    body = await response.get_data(as_text=True)
    assert 'hx-swap-oob="afterbegin:#conversation-list"' in body
    assert ">How do tides work on Mars?</a>" in body and 'aria-current="page"' in body
    followup = await visitor.ask("And on Venus?", 1)
    assert "conversation-list" not in await followup.get_data(as_text=True)


async def test_without_javascript_the_list_is_a_page(visitor, db):
    await conversations.create(db, await owner_of(visitor), "visible without js")
    page = await (await visitor.client.get("/conversations")).get_data(as_text=True)
    assert "<html" in page and "visible without js" in page


async def test_rename_changes_the_title_and_refuses_a_blank_one(visitor, db):
    conversation_id = await conversations.create(db, await owner_of(visitor), "old title")
    headers = {"HX-Request": "true", "X-CSRF-Token": visitor.csrf}
    blank = await visitor.client.post(f"/c/{conversation_id}/rename", form={"title": "   "}, headers=headers)
    assert blank.status_code == 422 and "Type a title" in await blank.get_data(as_text=True)
    response = await visitor.client.post(
        f"/c/{conversation_id}/rename", form={"title": "  New <b>title</b> "}, headers=headers
    )
    body = await response.get_data(as_text=True)
    assert f'id="conversation-{conversation_id}"' in body and "New &lt;b&gt;title&lt;/b&gt;" in body
    assert (await conversations.get(db, conversation_id, await owner_of(visitor)))[
        "title"
    ] == "New <b>title</b>"


async def test_rename_and_delete_work_without_javascript(visitor, db):
    conversation_id = await conversations.create(db, await owner_of(visitor), "plain form")
    renamed = await visitor.client.post(
        f"/c/{conversation_id}/rename", form={"title": "Renamed", "csrf_token": visitor.csrf}
    )
    assert renamed.status_code == 303 and renamed.headers["Location"] == f"/c/{conversation_id}"
    form = {"csrf_token": visitor.csrf, "back": "/conversations"}
    asked = await visitor.client.post(f"/c/{conversation_id}/delete", form=form)
    assert asked.status_code == 200 and "Delete this conversation?" in await asked.get_data(as_text=True)
    assert await conversations.get(db, conversation_id, await owner_of(visitor)) is not None
    deleted = await visitor.client.post(f"/c/{conversation_id}/delete", form={**form, "confirmed": "yes"})
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/conversations"
    assert await conversations.get(db, conversation_id, await owner_of(visitor)) is None


async def test_delete_takes_the_conversation_away_from_its_owner(visitor, db):
    response = await visitor.ask("to be deleted")
    assert response.status_code == 200
    headers = {"HX-Request": "true", "X-CSRF-Token": visitor.csrf, "HX-Current-URL": "http://localhost/c/1"}
    deleted = await visitor.client.post("/c/1/delete", headers=headers)
    assert deleted.status_code == 200 and deleted.headers["HX-Redirect"] == "/"
    assert (await visitor.client.get("/c/1")).status_code == 404
    assert "to be deleted" not in await visitor.open("/")
    # Kept for the operator, marked, until retention takes it (DELETE_ERASES erases at once).
    assert (await db.fetch_one("SELECT deleted_at FROM conversations WHERE id = 1"))["deleted_at"]
    elsewhere = await conversations.create(db, await owner_of(visitor), "another")
    headers["HX-Current-URL"] = "http://localhost/"
    quiet = await visitor.client.post(f"/c/{elsewhere}/delete", headers=headers)
    assert "HX-Redirect" not in quiet.headers
    assert f'hx-swap-oob="delete:.conversation-{elsewhere}"' in await quiet.get_data(as_text=True)


async def test_visitors_never_see_or_touch_each_others_chats(visitor, app, db):
    await visitor.ask("my secret plans")
    stranger = Visitor(app.test_client())
    await stranger.open()
    await stranger.ask("stranger's question")
    mine = await fragment(visitor, "/conversations")
    theirs = await fragment(stranger, "/conversations")
    assert "my secret plans" in mine and "stranger" not in mine
    assert "stranger&#39;s question" in theirs and "secret" not in theirs
    for action, form in (("rename", {"title": "pwned"}), ("delete", {"confirmed": "yes"})):
        response = await stranger.client.post(f"/c/1/{action}", form={**form, "csrf_token": stranger.csrf})
        assert response.status_code == 404
    assert (await conversations.get(db, 1, await owner_of(visitor)))["title"] == "my secret plans"


async def test_a_cursor_no_row_can_have_starts_from_the_top_instead_of_failing(visitor):
    await visitor.ask("the only chat")
    huge = "9" * 30
    for query in (f"before=2026-11-24+07:10:00.000000&before_id={huge}", f"current={huge}"):
        page = await fragment(visitor, f"/conversations?{query}")
        assert "the only chat" in page, query
