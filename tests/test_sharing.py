"""Sharing a chat by link (read-only, frozen when shared, revocable, anonymous); a chat as Markdown."""

from __future__ import annotations

import re

from tests.conftest import Visitor

LINK = re.compile(r'value="http://[^/]+(/s/[A-Za-z0-9_-]{32})"')


async def chat_with_answer(visitor: Visitor, question: str) -> int:
    response = await visitor.ask(question)
    exchange_id = int(re.search(r"/answers/(\d+)/stream", await response.get_data(as_text=True)).group(1))
    await visitor.stream(exchange_id)
    async with visitor.client.session_transaction() as session:
        owner = session["owner"]
    return exchange_id, owner


async def conversation_of(visitor: Visitor, db, exchange_id: int) -> int:
    row = await db.fetch_one("SELECT conversation_id FROM exchanges WHERE id = :id", {"id": exchange_id})
    return row["conversation_id"]


async def share(visitor: Visitor, conversation_id: int) -> str:
    made = await visitor.client.post(f"/c/{conversation_id}/share", form={"csrf_token": visitor.csrf})
    assert made.status_code == 303 and made.headers["Location"] == f"/c/{conversation_id}/share"
    page = await visitor.open(f"/c/{conversation_id}/share")
    return LINK.findall(page)[0]


async def test_a_shared_link_shows_the_chat_as_it_was_to_a_stranger_and_nothing_of_its_owner(app, model, db):
    model.configure(answer="The **shared** answer.")
    owner = Visitor(app.test_client())
    await owner.open("/")
    exchange_id, owner_id = await chat_with_answer(owner, "What do I share?")
    conversation_id = await conversation_of(owner, db, exchange_id)
    link = await share(owner, conversation_id)
    model.configure(answer="A later, private answer.")
    await owner.ask("A private later question?", conversation_id)

    stranger = Visitor(app.test_client())
    await stranger.open("/")
    response = await stranger.client.get(link)
    page = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert "What do I share?" in page and "<strong>shared</strong>" in page
    assert "private" not in page.lower().replace("privacy", "")
    assert owner_id not in page and "Edit" not in page and "Regenerate" not in page
    # The link is the stranger's to read only: nothing of the conversation is theirs.
    assert (await stranger.client.get(f"/c/{conversation_id}")).status_code == 404
    assert (await stranger.client.get(f"/c/{conversation_id}/share")).status_code == 404
    revoked = await stranger.client.post(link + "/revoke", form={"csrf_token": stranger.csrf})
    assert revoked.status_code == 404


async def test_a_revoked_link_is_gone_and_others_stay(visitor, db):
    exchange_id, _ = await chat_with_answer(visitor, "Share then stop?")
    conversation_id = await conversation_of(visitor, db, exchange_id)
    first = await share(visitor, conversation_id)
    second = await share(visitor, conversation_id)
    assert first != second
    stopped = await visitor.client.post(first + "/revoke", form={"csrf_token": visitor.csrf})
    assert stopped.status_code == 303
    gone = await visitor.client.get(first)
    assert gone.status_code == 404
    assert "stopped sharing" in await gone.get_data(as_text=True)
    assert (await visitor.client.get(second)).status_code == 200
    assert first not in await visitor.open(f"/c/{conversation_id}/share")
    assert (await visitor.client.get("/s/not-a-real-token-but-long-enough-000")).status_code == 404


async def test_sharing_needs_the_token_of_the_form(visitor, db):
    exchange_id, _ = await chat_with_answer(visitor, "Forged share?")
    conversation_id = await conversation_of(visitor, db, exchange_id)
    forged = await visitor.client.post(f"/c/{conversation_id}/share", form={"csrf_token": "wrong"})
    assert forged.status_code == 403
    assert await db.fetch_one("SELECT COUNT(*) AS n FROM shares") == {"n": 0}


async def test_a_chat_downloads_as_markdown(visitor, model, db):
    model.configure(answer="Use `sorted(items)`.")
    exchange_id, _ = await chat_with_answer(visitor, "How do I sort a list?")
    conversation_id = await conversation_of(visitor, db, exchange_id)
    response = await visitor.client.get(f"/c/{conversation_id}/export.md")
    assert response.status_code == 200
    assert response.mimetype == "text/markdown"
    assert response.headers["Content-Disposition"] == f'attachment; filename="chat-{conversation_id}.md"'
    text = await response.get_data(as_text=True)
    assert text.startswith("# How do I sort a list?\n")
    assert "## You · " in text and "How do I sort a list?" in text
    assert "## fake-model on 127.0.0.1:" in text and "Use `sorted(items)`." in text
    stranger = Visitor(visitor.client.app.test_client())
    assert (await stranger.client.get(f"/c/{conversation_id}/export.md")).status_code == 404
