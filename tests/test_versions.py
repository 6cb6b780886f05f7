"""Regenerate and Edit keep every version; the model follows the branch on screen; /list shows them all."""

from __future__ import annotations

import re

from app.storage import migrations
from tests.conftest import Visitor

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')


async def asked(visitor: Visitor, question: str, conversation_id="", after="") -> int:
    response = await visitor.client.post(
        "/ask",
        form={
            "question": question,
            "conversation_id": str(conversation_id),
            "after": str(after),
            "csrf_token": visitor.csrf,
        },
        headers={"HX-Request": "true"},
    )
    body = await response.get_data(as_text=True)
    assert response.status_code == 200, body
    exchange_id = int(EXCHANGE_ID.findall(body)[-1])
    await visitor.stream(exchange_id)
    return exchange_id


async def again(visitor: Visitor, exchange_id: int, question: str | None = None) -> tuple[int, str]:
    action = "regenerate" if question is None else "edit"
    response = await visitor.client.post(
        f"/answers/{exchange_id}/{action}",
        form={} if question is None else {"question": question},
        headers={"HX-Request": "true", "X-CSRF-Token": visitor.csrf},
    )
    body = await response.get_data(as_text=True)
    assert response.status_code == 200, body
    new_id = int(re.search(r'sse-connect="/answers/(\d+)/stream', body).group(1))
    await visitor.stream(new_id)
    return new_id, body


def sent(model) -> list[str]:
    return [message["content"] for message in model.requests[-1]["messages"][1:]]


async def test_regenerate_keeps_both_answers_and_shows_one_of_two(visitor, model, db, client):
    model.configure(answer="First take.")
    first = await asked(visitor, "knead how long?")
    model.configure(answer="Second take.")
    second, body = await again(visitor, first)
    assert second != first and f'id="exchange-{first}"' not in body
    rows = await db.fetch_all("SELECT id, question, answer FROM exchanges ORDER BY id")
    assert [(row["question"], row["answer"]) for row in rows] == [
        ("knead how long?", "First take."),
        ("knead how long?", "Second take."),
    ]
    page = await (await client.get("/c/1")).get_data(as_text=True)
    assert "Second take." in page and "First take." not in page
    assert '<span class="version-count">2/2</span>' in page and 'aria-label="Previous version"' in page
    older = await (await client.get(f"/c/1?leaf={first}", headers={"HX-Request": "true"})).get_data(
        as_text=True
    )
    assert "First take." in older and "Second take." not in older
    assert '<span class="version-count">1/2</span>' in older
    assert f'id="ask-after" name="after" value="{first}" hx-swap-oob="true"' in older


async def test_editing_an_earlier_question_starts_a_branch_the_model_follows(visitor, model, client):
    model.configure(answer="A1")
    q1 = await asked(visitor, "Q1")
    model.configure(answer="A2")
    q2 = await asked(visitor, "Q2", 1)
    model.configure(answer="A3")
    q3 = await asked(visitor, "Q3", 1, q2)
    model.configure(answer="A2 edited")
    q2b, body = await again(visitor, q2, "Q2 edited")
    assert sent(model) == ["Q1", "A1", "Q2 edited"]
    # Questions as their bubbles show them: the form's random token may hold "Q3" too.
    assert ">Q3</div>" not in body and ">Q1</div>" in body
    model.configure(answer="A4")
    await asked(visitor, "Q4", 1, q2b)
    assert sent(model) == ["Q1", "A1", "Q2 edited", "A2 edited", "Q4"]
    # Back on the first branch, the next question follows it.
    page = await (await client.get(f"/c/1?leaf={q2}")).get_data(as_text=True)
    assert [q for q in ("Q1", "Q2", "Q3") if f">{q}</div>" in page] == ["Q1", "Q2", "Q3"]
    assert f'name="after" value="{q3}"' in page
    await asked(visitor, "Q5", 1, q3)
    assert sent(model) == ["Q1", "A1", "Q2", "A2", "Q3", "A3", "Q5"]
    assert q1 < q2 < q3 < q2b


async def test_history_lists_every_version_marked(visitor, model, client):
    first = await asked(visitor, "which flour?")
    await again(visitor, first)
    await again(visitor, first)
    history = await (await client.get("/list", headers={"HX-Request": "true"})).get_data(as_text=True)
    assert history.count('<td class="question">which flour?') == 3
    for n in (1, 2, 3):
        assert f"version {n} of 3" in history


async def test_deleting_an_exchange_keeps_the_branch_after_it(visitor, model, client):
    await asked(visitor, "keep one")
    middle = await asked(visitor, "drop two", 1)
    await asked(visitor, "keep three", 1)
    response = await client.post(
        f"/list/exchanges/{middle}/delete", headers={"HX-Request": "true", "X-CSRF-Token": visitor.csrf}
    )
    assert response.status_code < 400, await response.get_data(as_text=True)
    page = await (await client.get("/c/1")).get_data(as_text=True)
    assert ">keep one</div>" in page and ">keep three</div>" in page and "drop two" not in page


async def test_existing_conversations_become_one_branch(db):
    for conversation in (1, 2):
        await db.execute(
            "INSERT INTO conversations (id, owner, title, created_at, updated_at)"
            " VALUES (:id, 'me', 't', '2026-01-01', '2026-01-01')",
            {"id": conversation},
        )
    for exchange_id, conversation in ((1, 1), (2, 2), (3, 1), (4, 1), (5, 2)):
        await db.execute(
            "INSERT INTO exchanges (id, conversation_id, owner, question, status, created_at)"
            " VALUES (:id, :c, 'me', 'q', 'done', '2026-01-01')",
            {"id": exchange_id, "c": conversation},
        )
    await migrations.link_branches(db, db.dialect)
    rows = await db.fetch_all("SELECT id, parent_id FROM exchanges ORDER BY id")
    assert [(row["id"], row["parent_id"]) for row in rows] == [(1, 0), (2, 0), (3, 1), (4, 3), (5, 2)]
