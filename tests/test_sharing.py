"""Sharing a chat by link (read-only, frozen when shared, revocable, anonymous); a chat as Markdown."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from app.rendering import transcript
from app.storage import exchanges
from tests.conftest import Visitor
from tests.test_versions import again

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


BUBBLE = re.compile(r'<div class="bubble">([^<]*)</div>')
TABLE = "| Step | Duration |\n| --- | --- |\n" + "".join(f"| step {n} | {n} min |\n" for n in range(200))


async def asked(visitor: Visitor, question: str, conversation_id="", after="") -> int:
    response = await visitor.client.post(
        "/ask",
        form={"question": question, "conversation_id": str(conversation_id), "after": str(after)},
        headers={"HX-Request": "true", "X-CSRF-Token": visitor.csrf},
    )
    body = await response.get_data(as_text=True)
    assert response.status_code == 200, body
    return int(re.findall(r'id="answer-(\d+)"', body)[-1])


async def stopped_midway(visitor: Visitor, exchange_id: int) -> None:
    async with visitor.client.request(f"/answers/{exchange_id}/stream") as connection:
        await connection.send_complete()
        received = b""
        while received.count(b"event: blocks") + received.count(b"event: delta") < 3:
            received += await connection.receive()
        stop = await visitor.client.post(
            f"/answers/{exchange_id}/stop", headers={"HX-Request": "true", "X-CSRF-Token": visitor.csrf}
        )
        assert stop.status_code == 204
        while b"event: done" not in received:
            received += await connection.receive()


async def branched_chat(visitor: Visitor, model) -> dict[str, int]:
    """Q1 answered; Q2 stopped halfway through a table, then regenerated twice; then Q1 edited."""
    model.configure(answer="A1 the first answer.")
    q1 = await asked(visitor, "Q1 the first question")
    await visitor.stream(q1)
    model.configure(answer=TABLE, delay=0.01)
    q2 = await asked(visitor, "Q2 a table please", 1, q1)
    await stopped_midway(visitor, q2)
    model.configure(answer="A2 the second take.", delay=0.0)
    q2b = (await again(visitor, q2))[0]
    model.configure(answer="A2 the third take.")
    q2c = (await again(visitor, q2b))[0]
    model.configure(answer="A1 edited answer.")
    q1b = (await again(visitor, q1, "Q1 edited question"))[0]
    return {"q1": q1, "q2": q2, "q2b": q2b, "q2c": q2c, "q1b": q1b}


def turns(markdown: str) -> list[str]:
    """The turn headings of a Markdown download, and the first line under each."""
    found = re.findall(r"^## (You|fake-model)[^\n]*\n\n([^\n]*)", markdown, flags=re.MULTILINE)
    return [f"{who}: {first}" for who, first in found]


async def test_a_share_and_the_download_hold_the_branch_on_screen_in_order(visitor, model, db):
    ids = await branched_chat(visitor, model)
    # On screen now: the edited first question alone, its own branch.
    screen = await visitor.open("/c/1")
    assert BUBBLE.findall(screen) == ["Q1 edited question"]
    link = await share(visitor, 1)
    shared = await (await visitor.client.get(link)).get_data(as_text=True)
    assert BUBBLE.findall(shared) == ["Q1 edited question"]
    assert "A1 edited answer." in shared and "take." not in shared and "step 1" not in shared
    # The chat's title came from the first question's other version: the copy is titled after its own.
    assert "<h1>Q1 edited question</h1>" in shared and "Q1 the first question" not in shared
    download = await (await visitor.client.get("/c/1/export.md")).get_data(as_text=True)
    assert turns(download) == ["You: Q1 edited question", "fake-model: A1 edited answer."]

    # Back to the first question's first version, then to the stopped first answer of Q2.
    screen = await visitor.open(f"/c/1?leaf={ids['q2']}")
    assert BUBBLE.findall(screen) == ["Q1 the first question", "Q2 a table please"]
    manage = f"/c/1/share?leaf={ids['q2']}"
    assert manage in screen.replace("&amp;", "&")
    page = await visitor.open(manage)
    assert f'name="leaf" value="{ids["q2"]}"' in page
    made = await visitor.client.post(
        "/c/1/share", form={"csrf_token": visitor.csrf, "leaf": str(ids["q2"]), "audience": "teammates"}
    )
    assert made.status_code == 303
    newest = LINK.findall(await visitor.open("/c/1/share"))[0]
    shared = await (await visitor.client.get(newest)).get_data(as_text=True)
    assert BUBBLE.findall(shared) == ["Q1 the first question", "Q2 a table please"]
    assert "A1 the first answer." in shared and "<th>Duration</th>" in shared
    assert "Stopped." in shared and "take." not in shared and "edited" not in shared
    download = await (await visitor.client.get(f"/c/1/export.md?leaf={ids['q2']}")).get_data(as_text=True)
    assert turns(download) == [
        "You: Q1 the first question",
        "fake-model: A1 the first answer.",
        "You: Q2 a table please",
        "fake-model: | Step | Duration |",
    ]
    assert download.rstrip().endswith("*Stopped.*")
    assert "take." not in download and "edited" not in download


ANSWER_WITH_HEADINGS = """# Plan

Some text.

## Steps

```md
# not a heading
## nor this
```

~~~
# neither
~~~

    # indented code

Setext title
============

> ### Quoted

- ## In a list

##### Deep
"""


def headings(markdown: str) -> list[tuple[str, str]]:
    tokens = MarkdownIt("commonmark").parse(markdown)
    return [
        (token.tag, tokens[number + 1].content.split(" · ")[0])
        for number, token in enumerate(tokens)
        if token.type == "heading_open"
    ]


def test_the_headings_of_a_question_and_an_answer_nest_under_their_turns():
    exchange = exchanges.row(
        id=1,
        question="# My question\n\nwith a line",
        answer=ANSWER_WITH_HEADINGS,
        status="done",
        model="fake-model",
        created_at="2026-01-01 10:00:00.000000",
        answered_at="2026-01-01 10:00:05.000000",
    )
    text = transcript.markdown("Nesting", [exchange])
    assert headings(text) == [
        ("h1", "Nesting"),
        ("h2", "You"),
        ("h3", "My question"),
        ("h2", "fake-model"),
        ("h3", "Plan"),
        ("h4", "Steps"),
        ("h3", "Setext title"),
        ("h5", "Quoted"),
        ("h4", "In a list"),
        ("h6", "Deep"),
    ]
    assert "```md\n# not a heading\n## nor this\n```" in text
    assert "~~~\n# neither\n~~~" in text and "    # indented code" in text
