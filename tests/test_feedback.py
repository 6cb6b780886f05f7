"""Feedback on answers, on both engines: given, changed and removed by the answer's owner only, with
and without JavaScript; a long comment refused; markup kept as text; counted on /usage; exported."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from app import messages
from app.storage.feedback import MAX_COMMENT_CHARS
from tests.conftest import Visitor
from tests.test_history import add, owner_of
from tests.test_quotas import people, signed_in

HTMX = {"HX-Request": "true"}
THUMBS = re.compile(
    r'<tr><td>([^<]+)</td>[^\n]*?<td class="thumbs-up">(\d+)</td><td class="thumbs-down">(\d+)</td>'
)
PRESSED = re.compile(r'value="(up|down)" class="quiet feedback-\1" title="[^"]*"\s+aria-pressed="true"')


async def give(visitor: Visitor, exchange_id: int, rating: str, comment: str = "", htmx: bool = True):
    return await visitor.client.post(
        f"/answers/{exchange_id}/feedback",
        form={"rating": rating, "comment": comment, "csrf_token": visitor.csrf},
        headers=HTMX if htmx else {},
    )


async def remove(visitor: Visitor, exchange_id: int, htmx: bool = True):
    return await visitor.client.post(
        f"/answers/{exchange_id}/feedback/delete",
        form={"csrf_token": visitor.csrf},
        headers=HTMX if htmx else {},
    )


async def stored(db, exchange_id: int) -> list[dict]:
    return await db.fetch_all(
        "SELECT rating, comment FROM feedback WHERE exchange_id = :id", {"id": exchange_id}
    )


async def chat_of(db, exchange_id: int) -> int:
    found = await db.fetch_one("SELECT conversation_id FROM exchanges WHERE id = :id", {"id": exchange_id})
    return found["conversation_id"]


async def test_the_owner_gives_changes_and_removes_feedback_and_the_control_swaps_itself(visitor, db):
    exchange_id = await add(db, await owner_of(visitor), "How do I boil an egg?")
    chat = await (await visitor.client.get(f"/c/{await chat_of(db, exchange_id)}")).get_data(as_text=True)
    assert f'id="feedback-{exchange_id}"' in chat and not PRESSED.search(chat)

    given = await give(visitor, exchange_id, "up")
    assert given.status_code == 200
    control = await given.get_data(as_text=True)
    assert control.lstrip().startswith(f'<div class="feedback" id="feedback-{exchange_id}">')
    assert PRESSED.search(control).group(1) == "up"
    assert await stored(db, exchange_id) == [{"rating": "up", "comment": None}]

    changed = await give(visitor, exchange_id, "down", "  It forgot the salt.  ")
    assert PRESSED.search(await changed.get_data(as_text=True)).group(1) == "down"
    assert await stored(db, exchange_id) == [{"rating": "down", "comment": "It forgot the salt."}]
    chat = await (await visitor.client.get(f"/c/{await chat_of(db, exchange_id)}")).get_data(as_text=True)
    assert PRESSED.search(chat).group(1) == "down" and "It forgot the salt." in chat

    removed = await remove(visitor, exchange_id)
    assert removed.status_code == 200 and not PRESSED.search(await removed.get_data(as_text=True))
    assert await stored(db, exchange_id) == []


async def test_without_javascript_feedback_posts_and_goes_back_to_the_answer(visitor, db):
    exchange_id = await add(db, await owner_of(visitor), "Which knot for a sail?")
    chat = await chat_of(db, exchange_id)
    response = await give(visitor, exchange_id, "down", "Too vague", htmx=False)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/c/{chat}#answer-{exchange_id}"
    page = await (await visitor.client.get(f"/c/{chat}")).get_data(as_text=True)
    assert "Too vague" in page and PRESSED.search(page).group(1) == "down"
    gone = await remove(visitor, exchange_id, htmx=False)
    assert gone.status_code == 303 and await stored(db, exchange_id) == []


async def test_nobody_gives_or_removes_feedback_on_another_persons_answer(visitor, db, app):
    mine = await add(db, await owner_of(visitor), "Mine")
    other = Visitor(app.test_client())
    await other.open()
    theirs = await add(db, await owner_of(other), "Theirs")
    await give(other, theirs, "up", "kept")
    for htmx in (True, False):
        assert (await give(visitor, theirs, "down", "changed", htmx=htmx)).status_code == 404
        assert (await remove(visitor, theirs, htmx=htmx)).status_code == 404
    assert await stored(db, theirs) == [{"rating": "up", "comment": "kept"}]
    assert (await give(visitor, 999_999, "up")).status_code == 404
    # A rating that is not a thumb is refused, and nothing is stored.
    assert (await give(visitor, mine, "sideways")).status_code == 422
    assert await stored(db, mine) == []
    # Without the form's token, nothing changes.
    response = await visitor.client.post(f"/answers/{mine}/feedback", form={"rating": "up"})
    assert response.status_code in (400, 403) and await stored(db, mine) == []


async def test_a_comment_past_the_limit_is_refused_with_a_clear_message_and_kept_in_its_box(visitor, db):
    exchange_id = await add(db, await owner_of(visitor), "A question")
    long = "x" * (MAX_COMMENT_CHARS + 1)
    refused = await give(visitor, exchange_id, "down", long)
    assert refused.status_code == 422
    body = await refused.get_data(as_text=True)
    assert messages.feedback_too_long(MAX_COMMENT_CHARS + 1, MAX_COMMENT_CHARS) in body
    assert f">{long}</textarea>" in body
    without_js = await give(visitor, exchange_id, "down", long, htmx=False)
    assert without_js.status_code == 422 and "at most 2,000 characters" in await without_js.get_data(
        as_text=True
    )
    assert await stored(db, exchange_id) == []
    assert (await give(visitor, exchange_id, "down", "y" * MAX_COMMENT_CHARS)).status_code == 200


async def test_markup_in_a_comment_is_shown_as_text_in_the_chat_the_history_and_the_download(visitor, db):
    exchange_id = await add(db, await owner_of(visitor), "A question")
    markup = '<img src=x onerror="alert(1)"> **bold** [link](javascript:alert(1))'
    await give(visitor, exchange_id, "down", markup)
    chat = await chat_of(db, exchange_id)
    for page in (f"/c/{chat}", "/list", "/list?feedback=down"):
        body = await (await visitor.client.get(page)).get_data(as_text=True)
        assert "<img src=x" not in body and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in body, page
    download = await (await visitor.client.get(f"/c/{chat}/export.md")).get_data(as_text=True)
    assert "> Your feedback: 👎 Bad answer: \\<img src=x" in download
    assert "\\[link\\](javascript:alert(1))" in download


@pytest.mark.settings(**people)
async def test_usage_counts_thumbs_up_and_down_per_model(app, db, model):
    ada = await signed_in(app, "ada")
    owner = await owner_of(ada)
    first = await add(db, owner, "one", model="gpt-4o")
    second = await add(db, owner, "two", model="gpt-4o")
    third = await add(db, owner, "three", model="llama3")
    await add(db, owner, "four", model="llama3")
    for exchange_id, rating in ((first, "up"), (second, "down"), (third, "down")):
        assert (await give(ada, exchange_id, rating)).status_code == 200
    page = await (await ada.client.get("/usage")).get_data(as_text=True)
    rows = re.findall(THUMBS, page)
    assert {name: (up, down) for name, up, down in rows} == {"gpt-4o": ("1", "1"), "llama3": ("0", "1")}
    download = await (await ada.client.get("/usage.csv")).get_data(as_text=True)
    table = download.split("\r\n\r\n")[-1]
    records = {row["model"]: row for row in csv.DictReader(io.StringIO(table))}
    assert (records["gpt-4o"]["thumbs_up"], records["gpt-4o"]["thumbs_down"]) == ("1", "1")
    assert (records["llama3"]["thumbs_up"], records["llama3"]["thumbs_down"]) == ("0", "1")


async def test_exports_carry_each_answers_feedback(visitor, db):
    owner = await owner_of(visitor)
    liked = await add(db, owner, "Liked")
    disliked = await add(db, owner, "Disliked")
    await add(db, owner, "Unrated")
    await give(visitor, liked, "up")
    await give(visitor, disliked, "down", "=SUM(A1) was wrong")
    text = await (await visitor.client.get("/list/export.csv")).get_data(as_text=True)
    records = {row["question"]: row for row in csv.DictReader(io.StringIO(text))}
    assert (records["Liked"]["feedback"], records["Liked"]["feedback_comment"]) == ("up", "")
    assert records["Disliked"]["feedback"] == "down"
    assert records["Disliked"]["feedback_comment"] == "'=SUM(A1) was wrong"
    assert records["Unrated"]["feedback"] == ""
    lines = (
        await (await visitor.client.get("/list/export.ndjson?feedback=down")).get_data(as_text=True)
    ).splitlines()
    [record] = [json.loads(line) for line in lines]
    assert record["id"] == disliked and record["feedback_comment"] == "=SUM(A1) was wrong"
