"""Two tabs on one chat: a tab learns of exchanges made elsewhere, and one behind never branches silently."""

from __future__ import annotations

import re

from app import messages
from tests.conftest import Visitor

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')


async def answered(visitor: Visitor, question: str, conversation_id: int | str = "", **shown: str) -> int:
    response = await tab_asks(visitor, question, conversation_id, **shown)
    body = await response.get_data(as_text=True)
    assert response.status_code == 200, body
    exchange_id = int(EXCHANGE_ID.search(body).group(1))
    await visitor.stream(exchange_id)
    return exchange_id


async def tab_asks(
    visitor: Visitor, question: str, conversation_id: int | str, htmx: bool = True, **shown: str
):
    """Ask as the composer of a tab does: with the last exchange it shows, and whether that is the newest."""
    form = {"question": question, "conversation_id": str(conversation_id), "csrf_token": visitor.csrf}
    headers = {"HX-Request": "true"} if htmx else {}
    return await visitor.client.post("/ask", form=form | shown, headers=headers)


async def rows(db) -> list[tuple[str, int]]:
    found = await db.fetch_all("SELECT id, question, parent_id FROM exchanges ORDER BY id")
    return [(row["question"], row["parent_id"]) for row in found]


async def latest(visitor: Visitor, conversation_id: int, after: int, newest: str = "1"):
    query = {"conversation_id": str(conversation_id), "after": str(after), "newest": newest}
    return await visitor.client.get("/latest", query_string=query, headers={"HX-Request": "true"})


async def test_a_tab_behind_is_refused_with_the_newer_exchanges_shown_and_no_branch(visitor, model, db):
    first = await answered(visitor, "first")
    # Tab A asks on; tab B still shows only the first exchange.
    second = await answered(visitor, "from tab A", 1, after=str(first), newest="1")

    refused = await tab_asks(visitor, "from tab B", 1, after=str(first), newest="1")

    body = await refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert messages.NEWER_ELSEWHERE in body
    # Tab B is shown what it missed, and its composer now follows it.
    assert refused.headers["HX-Retarget"] == "#messages"
    assert f'id="answer-{second}"' in body and "from tab A" in body
    assert f'id="ask-after" name="after" value="{second}"' in body
    assert await rows(db) == [("first", 0), ("from tab A", first)]

    # Sent again, the question follows the newest exchange: a follow-up, never a version.
    await answered(visitor, "from tab B", 1, after=str(second), newest="1")
    assert await rows(db) == [("first", 0), ("from tab A", first), ("from tab B", second)]
    sent = [m["content"] for m in model.requests[-1]["messages"][1:]]
    assert sent[-1] == "from tab B" and "from tab A" in sent


async def test_without_javascript_a_tab_behind_gets_the_chat_with_the_newer_exchanges_and_its_text(
    visitor, db
):
    first = await answered(visitor, "first")
    await answered(visitor, "from tab A", 1, after=str(first), newest="1")
    refused = await tab_asks(visitor, "from tab B, kept", 1, htmx=False, after=str(first), newest="1")
    page = await refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert messages.NEWER_ELSEWHERE in page and "from tab A" in page
    assert ">from tab B, kept</textarea>" in page
    assert len(await rows(db)) == 2


async def test_an_edit_made_elsewhere_is_news_to_a_tab_following_the_newest_branch(visitor, db):
    first = await answered(visitor, "first")
    second = await answered(visitor, "second", 1, after=str(first), newest="1")
    edited = await visitor.client.post(
        f"/answers/{first}/edit", form={"question": "first, edited", "csrf_token": visitor.csrf, "model": ""}
    )
    assert edited.status_code == 303
    refused = await tab_asks(visitor, "third", 1, after=str(second), newest="1")
    assert refused.status_code == 409 and "first, edited" in await refused.get_data(as_text=True)


async def test_a_tab_reading_an_older_version_may_go_on_from_it(visitor, db):
    first = await answered(visitor, "first")
    await visitor.client.post(f"/answers/{first}/regenerate", form={"csrf_token": visitor.csrf, "model": ""})
    # The tab chose version 1 (‹), which nothing follows: asking there continues that branch, as chosen.
    await answered(visitor, "after version 1", 1, after=str(first), newest="")
    assert (await rows(db))[-1] == ("after version 1", first)


async def test_a_tab_learns_of_an_exchange_asked_elsewhere_with_its_answer_live(visitor, model, db):
    first = await answered(visitor, "first")
    assert (await latest(visitor, 1, first)).status_code == 204
    model.configure(tokens=50, delay=0.02)
    response = await tab_asks(visitor, "from tab A", 1, after=str(first), newest="1")
    second = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))

    news = await latest(visitor, 1, first)
    body = await news.get_data(as_text=True)
    assert news.status_code == 200
    assert "from tab A" in body
    # Its answer is followed live in this tab too.
    assert f'sse-connect="/answers/{second}/stream' in body
    assert f'id="ask-after" name="after" value="{second}" hx-swap-oob="true"' in body
    await visitor.stream(second)
    assert (await latest(visitor, 1, second)).status_code == 204


async def test_the_check_is_refused_for_someone_elses_chat(visitor, app):
    first = await answered(visitor, "mine")
    stranger = Visitor(app.test_client())
    await stranger.open()
    assert (await latest(stranger, 1, first)).status_code == 404
