"""The history page through the app, on both engines: paging, search, filters, exports, deletion."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from app import messages
from app.storage import conversations, exchanges, history
from app.storage.exchanges import Outcome
from tests.conftest import Visitor

ROW_ID = re.compile(r'id="exchange-row-(\d+)"')
SENTINEL = re.compile(r'<tr class="more" hx-get="([^"]+)" hx-trigger="revealed" hx-swap="outerHTML">')
HTMX = {"HX-Request": "true"}
SEARCH = {"HX-Request": "true", "HX-Target": "history-results"}


async def owner_of(visitor: Visitor) -> str:
    async with visitor.client.session_transaction() as session:
        return session["owner"]


async def add(
    db,
    owner: str,
    question: str,
    answer: str = "A plain answer.",
    *,
    status: str = "done",
    model: str = "fake-model",
    conversation_id: int | None = None,
) -> int:
    """Store an answered exchange as the app would, and return its id."""
    if conversation_id is None:
        conversation_id = await conversations.create(db, owner, conversations.title_from(question))
    exchange_id = (await exchanges.create(db, conversation_id, owner, question))["id"]
    if status != "pending":
        outcome = Outcome(
            answer=answer, status=status, model=model, prompt_tokens=12, completion_tokens=34, latency_ms=1500
        )
        await exchanges.finish(db, exchange_id, outcome)
    return exchange_id


async def get(visitor: Visitor, url: str, headers: dict | None = None) -> str:
    response = await visitor.client.get(url, headers=headers or {})
    assert response.status_code == 200, await response.get_data(as_text=True)
    return await response.get_data(as_text=True)


def ids(body: str) -> list[int]:
    return [int(found) for found in ROW_ID.findall(body)]


def unescape(url: str) -> str:
    return url.replace("&amp;", "&")


async def walk(visitor: Visitor, url: str, headers: dict, between=None) -> tuple[list[int], int]:
    """Follow the scroll sentinel from page to page as htmx would; return every id seen and the page count."""
    seen: list[int] = []
    pages = 0
    body = await get(visitor, url, headers)
    while True:
        pages += 1
        seen += ids(body)
        if between:
            await between()
        sentinel = SENTINEL.search(body)
        if not sentinel:
            return seen, pages
        body = await get(visitor, unescape(sentinel.group(1)), HTMX)


async def test_first_page_is_the_fifty_newest_with_a_sentinel_for_more(visitor, db):
    owner = await owner_of(visitor)
    made = [await add(db, owner, f"Question number {n}") for n in range(120)]
    page = await get(visitor, "/list")
    assert ids(page) == made[::-1][:50]
    assert unescape(SENTINEL.search(page).group(1)) == f"/list?before={made[70]}"
    assert f'<a href="/list?before={made[70]}">Older questions</a>' in page
    for heading in ("When", "Conversation", "Question", "Answer", "Model, tokens, time"):
        assert f'<th scope="col">{heading}</th>' in page


async def test_scrolling_pages_show_every_row_once_even_when_rows_arrive_meanwhile(visitor, db):
    owner = await owner_of(visitor)
    made = [await add(db, owner, f"Question number {n}") for n in range(130)]
    added: list[int] = []

    async def someone_asks() -> None:
        added.append(await add(db, owner, "Asked while scrolling"))

    seen, pages = await walk(visitor, "/list", {}, between=someone_asks)
    assert pages == 3
    assert seen == made[::-1]
    assert ids(await get(visitor, "/list"))[: len(added)] == added[::-1]


async def test_a_scrolled_page_is_a_fragment_of_rows_and_the_last_has_no_sentinel(visitor, db):
    owner = await owner_of(visitor)
    made = [await add(db, owner, f"Question number {n}") for n in range(60)]
    body = await get(visitor, f"/list?before={made[10]}", HTMX)
    assert "<html" not in body and "<table" not in body
    assert ids(body) == made[:10][::-1]
    assert not SENTINEL.search(body)


async def test_nobody_sees_another_browsers_history(visitor, db, app):
    other = Visitor(app.test_client())
    await other.open()
    await add(db, await owner_of(other), "The other browser's secret")
    mine = await add(db, await owner_of(visitor), "My own question")
    page = await get(visitor, "/list")
    assert ids(page) == [mine] and "secret" not in page
    assert ids(await get(visitor, "/list?q=secret", SEARCH)) == []


async def test_rows_show_rendered_answer_collapsed_and_escaped_question(visitor, db):
    owner = await owner_of(visitor)
    await add(db, owner, "<script>alert(1)</script> how?", "Use **bold** <b>raw</b>.", model="llama3")
    page = await get(visitor, "/list")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; how?" in page and "<script>alert" not in page
    assert "<details>" in page and "<summary>" in page and "<strong>bold</strong>" in page
    assert "<b>raw</b>" not in page
    assert '<span class="by-model">llama3</span>' in page and "12 → 34 tokens" in page and "1.5 s" in page


async def test_search_pages_through_matches_only(visitor, db):
    owner = await owner_of(visitor)
    matching = []
    for n in range(70):
        matching.append(await add(db, owner, f"How do tomatoes grow, case {n}?"))
        await add(db, owner, f"How do cucumbers grow, case {n}?")
    seen, pages = await walk(visitor, "/list?q=tomatoes", SEARCH)
    assert pages == 2
    assert seen == matching[::-1]


async def test_search_matches_the_last_word_as_a_prefix_while_typing(visitor, db):
    owner = await owner_of(visitor)
    wanted = await add(db, owner, "How do I bake sourdough bread?")
    await add(db, owner, "How do I bake rye bread?")
    for typed in ("sourd", "bake sourd", "bread sourdough"):
        seen, _ = await walk(visitor, f"/list?q={typed.replace(' ', '+')}", SEARCH)
        assert seen == [wanted], typed
    seen, _ = await walk(visitor, "/list?q=sourd+", SEARCH)
    assert seen == []


async def test_search_results_replace_the_results_and_the_url_can_be_reloaded(visitor, db):
    owner = await owner_of(visitor)
    await add(db, owner, "Which espresso beans?")
    await add(db, owner, "Which tea leaves?")
    fragment = await get(visitor, "/list?q=espresso&status=&model=", SEARCH)
    assert fragment.lstrip().startswith('<div id="history-results"')
    assert "espresso" in fragment and "tea leaves" not in fragment
    assert 'href="/list/export.csv?q=espresso"' in fragment
    page = await get(visitor, "/list?q=espresso")
    assert 'name="q" value="espresso"' in page and "tea leaves" not in page and "<html" in page


@pytest.mark.parametrize(
    "query",
    [
        '"unclosed',
        "NEAR(a b)",
        "a OR b",
        "-espresso",
        "+espresso",
        "question:espresso",
        "*",
        "***",
        "@x",
        "espresso)",
        "(",
        "~espresso",
        "<espresso",
        "es'presso",
        "100%",
        "a_b",
        "\\",
        "AND",
        "NOT espresso",
    ],
)
async def test_search_syntax_from_people_never_breaks_the_query(visitor, db, query):
    owner = await owner_of(visitor)
    await add(db, owner, "Which espresso beans?")
    response = await visitor.client.get("/list", query_string={"q": query}, headers=SEARCH)
    assert response.status_code == 200


async def test_phrases_prefixes_and_short_words_match(visitor, db):
    owner = await owner_of(visitor)
    phrase = await add(db, owner, "Is red wine good with cheese?")
    await add(db, owner, "Is wine red or white with cheese?")
    go = await add(db, owner, "Should I learn go or rust?", "Go is simple.")
    assert ids(await get(visitor, '/list?q="red wine"', SEARCH)) == [phrase]
    assert set(ids(await get(visitor, "/list?q=chee*", SEARCH))) == {phrase, phrase + 1}
    # The last word is a prefix while typed ("go" finds "good"); a space after it ends it.
    assert set(ids(await get(visitor, "/list?q=go", SEARCH))) == {go, phrase}
    assert ids(await get(visitor, "/list?q=go+", SEARCH)) == [go]
    assert ids(await get(visitor, '/list?q="go or rust"', SEARCH)) == [go]


async def test_filters_by_status_and_model(visitor, db):
    owner = await owner_of(visitor)
    failed = await add(db, owner, "Why the failure?", status="error", model="gpt-4o")
    await add(db, owner, "A fine one", model="gpt-4o")
    other_model = await add(db, owner, "Another fine one", model="llama3")
    assert ids(await get(visitor, "/list?status=error", SEARCH)) == [failed]
    assert ids(await get(visitor, "/list?model=llama3", SEARCH)) == [other_model]
    assert ids(await get(visitor, "/list?status=done&model=gpt-4o", SEARCH)) == [failed + 1]
    page = await get(visitor, "/list")
    assert "<option>gpt-4o</option>" in page and "<option>llama3</option>" in page


async def test_an_unknown_status_gets_a_clear_message_and_is_left_out(visitor, db):
    shown = await add(db, await owner_of(visitor), "Still listed")
    response = await visitor.client.get("/list?status=bogus")
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    assert "There is no status “bogus”" in page and ids(page) == [shown]
    refused = await visitor.client.get("/list/export.csv?status=bogus")
    assert refused.status_code == 400 and "There is no status" in await refused.get_data(as_text=True)


async def test_csv_export_streams_every_row_safely_for_spreadsheets(visitor, db, app):
    owner = await owner_of(visitor)
    for n in range(120):
        await add(db, owner, f"Question number {n}")
    await add(db, owner, '=HYPERLINK("http://evil")', "+1 and -2 and @sum")
    other = Visitor(app.test_client())
    await other.open()
    await add(db, await owner_of(other), "Not yours")
    response = await visitor.client.get("/list/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert re.fullmatch(
        r'attachment; filename="answers-history-\d{8}-\d{6}\.csv"', response.headers["Content-Disposition"]
    )
    records = list(csv.DictReader(io.StringIO(await response.get_data(as_text=True))))
    assert len(records) == 121
    assert records[0]["question"] == '\'=HYPERLINK("http://evil")'
    assert records[0]["answer"] == "'+1 and -2 and @sum"
    assert records[-1]["question"] == "Question number 0" and records[-1]["status"] == "done"
    assert "Not yours" not in {record["question"] for record in records}


async def test_ndjson_export_of_the_current_search(visitor, db):
    owner = await owner_of(visitor)
    wanted = await add(db, owner, "Which espresso beans?", status="stopped")
    await add(db, owner, "Which tea leaves?")
    response = await visitor.client.get("/list/export.ndjson?q=espresso")
    assert response.mimetype == "application/x-ndjson"
    assert response.headers["Content-Disposition"].endswith('.ndjson"')
    lines = (await response.get_data(as_text=True)).splitlines()
    [record] = [json.loads(line) for line in lines]
    assert record["id"] == wanted and record["status"] == "stopped"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["created_at"])


async def test_an_empty_export_still_has_its_header(visitor):
    response = await visitor.client.get("/list/export.csv")
    assert (await response.get_data(as_text=True)).startswith("id,created_at,conversation_id,")


async def test_deleting_an_exchange_removes_it_from_pages_and_search(visitor, db):
    owner = await owner_of(visitor)
    doomed = await add(db, owner, "Delete this espresso question")
    kept = await add(db, owner, "Keep this espresso question")
    response = await visitor.client.post(
        f"/list/exchanges/{doomed}/delete", headers={**HTMX, "X-CSRF-Token": visitor.csrf}
    )
    assert response.status_code == 200
    assert ids(await get(visitor, "/list")) == [kept]
    assert ids(await get(visitor, "/list?q=espresso", SEARCH)) == [kept]
    assert await exchanges.get(db, doomed, owner) is None


async def test_deleting_without_the_csrf_token_or_as_another_browser_changes_nothing(visitor, db, app):
    owner = await owner_of(visitor)
    exchange_id = await add(db, owner, "Precious question")
    refused = await visitor.client.post(f"/list/exchanges/{exchange_id}/delete", headers=HTMX)
    assert refused.status_code == 403
    other = Visitor(app.test_client())
    await other.open()
    for path, refusal in (
        (f"/list/exchanges/{exchange_id}/delete", messages.NOT_YOUR_EXCHANGE),
        (f"/c/{exchange_id}/delete", messages.NOT_YOURS),
    ):
        response = await other.client.post(path, headers={**HTMX, "X-CSRF-Token": other.csrf})
        assert response.status_code == 404
        assert refusal in await response.get_data(as_text=True)
    assert await exchanges.get(db, exchange_id, owner) is not None


async def test_deleting_a_conversation_removes_all_its_rows_in_place(visitor, db):
    owner = await owner_of(visitor)
    first = await add(db, owner, "First espresso question")
    row = await exchanges.get(db, first, owner)
    second = await add(db, owner, "Second espresso question", conversation_id=row["conversation_id"])
    other = await add(db, owner, "Another espresso conversation")
    response = await visitor.client.post(
        f"/c/{row['conversation_id']}/delete",
        headers={**HTMX, "X-CSRF-Token": visitor.csrf, "HX-Current-URL": "http://localhost/list"},
    )
    body = await response.get_data(as_text=True)
    assert f'hx-swap-oob="delete:.conversation-{row["conversation_id"]}"' in body
    assert ids(await get(visitor, "/list")) == [other]
    assert ids(await get(visitor, "/list?q=espresso", SEARCH)) == [other]
    assert await exchanges.get(db, second, owner) is None


async def test_without_javascript_deleting_asks_to_confirm_then_goes_back(visitor, db):
    owner = await owner_of(visitor)
    exchange_id = await add(db, owner, "Delete me without JavaScript")
    kept = await add(db, owner, "Delete me too, from elsewhere")
    page = await get(visitor, "/list?q=javascript")
    assert f'action="/list/exchanges/{exchange_id}/delete"' in page
    form = {"csrf_token": visitor.csrf, "back": "/list?q=javascript"}
    asked = await visitor.client.post(f"/list/exchanges/{exchange_id}/delete", form=form)
    assert asked.status_code == 200
    assert "Delete this exchange?" in await asked.get_data(as_text=True)
    assert await exchanges.get(db, exchange_id, owner) is not None
    done = await visitor.client.post(
        f"/list/exchanges/{exchange_id}/delete", form={**form, "confirmed": "yes"}
    )
    assert done.status_code == 303 and done.headers["Location"] == "/list?q=javascript"
    assert await exchanges.get(db, exchange_id, owner) is None
    elsewhere = await visitor.client.post(
        f"/list/exchanges/{kept}/delete",
        form={"csrf_token": visitor.csrf, "back": "https://evil.example/", "confirmed": "yes"},
    )
    assert elsewhere.headers["Location"] == "/list"


async def test_without_javascript_the_search_is_a_plain_get_form_and_pages_are_links(visitor, db):
    owner = await owner_of(visitor)
    made = [await add(db, owner, f"Tomatoes question {n}") for n in range(55)]
    page = await get(visitor, "/list?q=tomatoes")
    assert 'method="get" action="/list"' in page
    older = re.search(r'<a href="([^"]+)">Older questions</a>', page).group(1)
    assert unescape(older) == f"/list?before={made[5]}&q=tomatoes"
    second = await get(visitor, unescape(older))
    assert "<html" in second and ids(second) == made[:5][::-1]
    assert "Show all, newest first" in second


@pytest.mark.parametrize("windows", [(3, 7), (1, 2), (500, 1000)])
async def test_search_pages_are_the_same_however_mysql_splits_recent_rows_from_the_index(
    visitor, db, monkeypatch, windows
):
    monkeypatch.setattr(history, "RECENT_WINDOWS", windows)
    owner = await owner_of(visitor)
    matching = []
    for n in range(60):
        matching.append(await add(db, owner, f"Where do Tomatoes grow, case {n}?"))
        if n % 3 == 0:
            await add(db, owner, f"Where do cucumbers grow, case {n}?")
        if n == 20:
            for other in range(10):
                await add(db, owner, f"Cucumbers only, case {other}")
    seen, pages = await walk(visitor, "/list?q=tomatoes", SEARCH)
    assert pages == 2
    assert seen == matching[::-1]


async def test_token_counts_are_written_one_way_in_the_chat_and_the_history(visitor, model, client):
    model.configure(answer="Counted.")
    body = await (await visitor.ask("count my tokens")).get_data(as_text=True)
    final = dict(await visitor.stream(int(re.search(r'id="answer-(\d+)"', body).group(1))))["final"]
    shown = re.search(r"\d[\d,]* → \d[\d,]* tokens", final).group(0)
    history = await (await client.get("/list")).get_data(as_text=True)
    assert f'<span class="tokens">{shown}</span>' in history
