"""Every API call is kept like a chat: on /list with its source, in usage, exports, quotas and retention."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import openai
import pytest

from app import messages
from app.config import Rate
from app.storage import retention
from tests.api_server import Served
from tests.conftest import CSRF, Visitor
from tests.fake_llm import FakeLLM
from tests.test_accounts import sign_up

USER = [{"role": "user", "content": "How many legs has a spider?"}]


async def browser(served: Served, name: str = "ada") -> Visitor:
    visitor = Visitor(served.app.test_client())
    assert (await sign_up(visitor.client, name)).status_code == 303
    await visitor.open("/")
    return visitor


async def call(served: Served, key: str, question: str = USER[0]["content"]) -> None:
    async with served.client(key) as client:
        await client.chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": question}]
        )


async def test_calls_show_on_list_with_their_source_and_a_filter_finds_them(served: Served):
    ada = await browser(served)
    key = await served.key("ada", "notebook")
    await call(served, key, "asked from a notebook")
    await ada.stream(
        int(
            (await (await ada.ask("asked in the browser")).get_data(as_text=True))
            .split('id="answer-')[1]
            .split('"')[0]
        )
    )
    everything = await ada.open("/list")
    assert "asked from a notebook" in everything and "asked in the browser" in everything
    assert '<span class="pill pill-source">API · notebook</span>' in everything
    assert '<option value="api:notebook">API · notebook</option>' in everything
    for source, shown, hidden in (
        ("api", "asked from a notebook", "asked in the browser"),
        ("api:notebook", "asked from a notebook", "asked in the browser"),
        ("api:other", None, "asked from a notebook"),
        ("chat", "asked in the browser", "asked from a notebook"),
    ):
        page = await ada.open(f"/list?source={source}")
        assert (shown is None or shown in page) and hidden not in page, source
    # A source nobody has is left out and said why; an export asked with it is refused.
    unknown = await ada.client.get("/list?source=everywhere")
    assert unknown.status_code == 200 and messages.NO_SUCH_SOURCE in await unknown.get_data(as_text=True)
    assert (await ada.client.get("/list/export.csv?source=everywhere")).status_code == 400


async def test_the_admin_sees_everyones_calls_with_who_asked_and_the_key(served: Served):
    admin = await browser(served, "ada")
    await call(served, await served.key("bob", "ci"), "bob's nightly question")
    page = await admin.open("/list?source=api")
    assert "bob's nightly question" in page.replace("&#39;", "'") and "API · ci" in page
    assert ">bob</a>" in page


async def test_calls_stay_out_of_the_sidebar_which_links_to_them_all(served: Served):
    ada = await browser(served)
    page = await ada.open("/")
    assert "API calls" not in page
    key = await served.key("ada")
    for number in range(3):
        await call(served, key, f"scripted question {number}")
    page = await ada.open("/")
    assert 'class="api-calls" href="/list?source=api">API calls</a>' in page
    assert "scripted question" not in page
    assert "scripted question" not in await (await ada.client.get("/conversations")).get_data(as_text=True)


async def test_usage_and_exports_count_calls_by_source(served: Served, model: FakeLLM):
    ada = await browser(served)
    await call(served, await served.key("ada", "laptop"))
    await call(served, await served.key("ada", "ci"))
    await call(served, await served.key("ada", "ci"))
    usage = await ada.open("/usage")
    assert "Tokens by source" in usage and "API · ci" in usage and "API · laptop" in usage
    table = (
        (await (await ada.client.get("/usage.csv")).get_data(as_text=True))
        .replace("\r\n", "\n")
        .split("\n\n")
    )
    sources = [line for line in table if line.startswith("source,")][0].strip().splitlines()
    assert sources[0].startswith("source,questions") and sources[1].startswith("API · ci,2,")
    exported = await (await ada.client.get("/list/export.csv?source=api")).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert sorted(row["source"] for row in rows) == ["API · ci", "API · ci", "API · laptop"]
    ndjson = await (await ada.client.get("/list/export.ndjson")).get_data(as_text=True)
    assert {json.loads(line)["source"] for line in ndjson.splitlines()} == {"API · ci", "API · laptop"}


@pytest.mark.settings(tokens_per_day=30)
async def test_a_days_tokens_are_shared_by_the_browser_and_the_api(served: Served, model: FakeLLM):
    ada = await browser(served)
    key = await served.key("ada")
    await call(served, key)  # the question and the fake model's answer spend 13 tokens
    await call(served, key)
    await call(served, key)
    async with served.client(key) as client:
        with pytest.raises(openai.RateLimitError) as refused:
            await client.chat.completions.create(model="fake-model", messages=USER)
    assert "used today's 30 tokens" in refused.value.message
    assert int(refused.value.response.headers["Retry-After"]) > 60
    assert (await ada.ask("and from the browser?")).status_code == 429
    # Bob's day is his own.
    await call(served, await served.key("bob"))


@pytest.mark.settings(max_streams_per_client=1)
async def test_answers_at_once_count_the_browser_and_the_api_together(served: Served, model: FakeLLM):
    ada = await browser(served)
    model.configure(tokens=50, delay=0.05)
    asked = await ada.ask("a long answer in the browser")
    assert asked.status_code == 200
    async with served.client(await served.key("ada")) as client:
        with pytest.raises(openai.RateLimitError) as refused:
            await client.chat.completions.create(model="fake-model", messages=USER)
    assert "answers being written already" in refused.value.message


async def test_the_person_asking_rate_counts_the_browser_and_the_api_together(served: Served, config):
    served.app.config["ANSWERS"] = replace(
        config, **{**served.app.config["ANSWERS"].__dict__, "ask_rate": Rate(2, 3600)}
    )
    ada = await browser(served)
    assert (await ada.ask("one from the browser")).status_code == 200
    key = await served.key("ada")
    await call(served, key)
    async with served.client(key) as client:
        with pytest.raises(openai.RateLimitError, match="asking faster than this app allows"):
            await client.chat.completions.create(model="fake-model", messages=USER)


async def test_retention_and_erasing_a_person_take_their_calls_and_keys(served: Served):
    admin = await browser(served, "ada")
    key = await served.key("bob")
    await call(served, key)
    db = served.db
    await db.execute("UPDATE exchanges SET created_at = '2001-01-01 00:00:00.000000'")
    await db.execute("UPDATE conversations SET updated_at = '2001-01-01 00:00:00.000000'")
    swept = await retention.sweep(db, 30)
    assert (swept.exchanges, swept.conversations) == (1, 1)
    await call(served, key)
    bob_id = (await db.fetch_one("SELECT id FROM users WHERE username = 'bob'"))["id"]
    token = CSRF.search(await admin.open("/admin/users")).group(1)
    erased = await admin.client.post(
        f"/admin/users/{bob_id}/erase", form={"csrf_token": token, "confirmed": "yes"}
    )
    assert erased.status_code == 303
    for table in ("exchanges", "conversations", "api_keys"):
        assert await db.fetch_all(f"SELECT id FROM {table}") == [], table
    async with served.client(key) as client:
        with pytest.raises(openai.AuthenticationError):
            await client.models.list()
