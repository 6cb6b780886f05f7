"""Answers formatted as they stream: complete blocks rendered once each, the open block in its container."""

from __future__ import annotations

import re

import pytest

from app.rendering import live as live_module
from app.rendering.live import Blocks, LiveAnswer
from tests.conftest import parse_events
from tests.waiting import until

RICH = (
    "## Sourdough in three steps\n\nA **starter**, flour and *time* are all you need.\n\n"
    "1. Feed the starter.\n2. Mix and fold.\n3. Bake hot.\n\n"
    "```python\ndef hydration(water, flour):\n\n    return water / flour * 100\n```\n\n"
    "| step | hours |\n| --- | --- |\n| bulk | 5 |\n| proof | 12 |\n\nEnjoy the **crust**.\n"
)
EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')


def cut(text: str, size: int) -> tuple[list[str], str, tuple]:
    blocks = Blocks()
    done = []
    for start in range(0, len(text), size):
        step = blocks.feed(text[start : start + size])
        if step.done:
            done.append(step.done)
    return done, blocks.text(), blocks.shown_as


@pytest.mark.parametrize("size", [1, 2, 3, 7, 50, len(RICH)])
def test_the_same_text_is_cut_in_the_same_places_however_it_arrives(size):
    done, open_text, shown_as = cut(RICH, size)
    whole, whole_open, whole_shown_as = cut(RICH, len(RICH))
    assert "".join(done) == "".join(whole) and (open_text, shown_as) == (whole_open, whole_shown_as)
    assert "".join(done) + open_text == RICH


def test_blocks_end_at_blank_lines_closing_fences_headings_and_list_items():
    done, open_text, _ = cut(RICH, 1)
    assert done[0] == "## Sourdough in three steps\n"
    assert "A **starter**, flour and *time* are all you need.\n\n" in done
    assert ["1. Feed the starter.\n", "2. Mix and fold.\n"] == [d for d in done if d[0] in "12"]
    fence = next(d for d in done if d.startswith("```python"))
    assert fence.endswith("```\n") and "\n\n    return" in fence  # a blank line inside code cuts nothing
    assert open_text == "Enjoy the **crust**.\n"


def test_a_fence_is_code_from_its_first_line_and_shows_only_its_code():
    blocks = Blocks()
    blocks.feed("Intro.\n\n``")
    assert blocks.shown_as[0] == "p"
    step = blocks.feed("`pyt")
    assert blocks.shown_as[0] == "code" and step.reset and step.shown == ""
    step = blocks.feed("hon\nprint(1)")
    assert (
        blocks.shown_as == ("code", "python", len("```python\n")) and step.reset and step.shown == "print(1)"
    )
    step = blocks.feed("\nprint(2)")
    assert not step.reset and step.shown == "\nprint(2)"


def test_a_heading_and_a_list_item_show_in_their_containers_while_open():
    answer = LiveAnswer(7)
    blocks = answer.blocks
    blocks.feed("### Ti")
    assert answer.open_html("Ti") == '<h3 class="open-text">Ti</h3>'
    blocks.feed("tle\n\n3. thi")
    assert answer.open_html("thi") == '<ol start="3"><li class="open-text">thi</li></ol>'


async def test_events_carry_rendered_blocks_and_escaped_open_text():
    answer = LiveAnswer(7)
    name, data = await answer.event("## Hello **world**\n\n<img src=x onerror=alert(1)>")
    assert name == "blocks"
    assert "<h2>Hello <strong>world</strong></h2>" in data
    assert (
        '<div id="open-7" hx-swap-oob="innerHTML">'
        '<p class="open-text">&lt;img src=x onerror=alert(1)&gt;</p></div>' in data
    )
    assert await answer.event(" more <b>") == ("delta", " more &lt;b&gt;")
    name, data = await answer.event("\n\nNext")
    assert "<img" not in data and "onerror=alert(1)&gt;" in data and "<b>" not in data


async def test_each_character_is_rendered_once_while_streaming_a_tables_rows_twice(monkeypatch):
    rendered: list[str] = []
    real = live_module.markdown_block

    async def counted(text, budget):
        rendered.append(text)
        return await real(text, budget)

    monkeypatch.setattr(live_module, "markdown_block", counted)
    answer = LiveAnswer(1)
    for start in range(0, len(RICH), 4):
        await answer.event(RICH[start : start + 4])
    # Every character once (blank lines between blocks need no rendering), the open block not yet;
    # a table's rows once as each completes (under a blank header) and again with the whole table.
    table = RICH[RICH.index("| step") : RICH.index("Enjoy")]
    rest = [text for text in rendered if "|" not in text]
    assert "".join(rest).split() == RICH.replace(table, "").split()[:-3]
    assert len("".join(rendered)) - len("".join(rest)) <= 3 * len(table)


async def test_the_stream_sends_formatted_blocks_before_the_end(visitor, model):
    model.configure(answer=RICH, delay=0.01)
    response = await visitor.ask("How do I bake sourdough?")
    exchange_id = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    events = await visitor.stream(exchange_id)
    live = "".join(data for name, data in events if name == "blocks")
    assert "<h2>Sourdough in three steps</h2>" in live and "<strong>starter</strong>" in live
    assert '<pre class="code" data-language="python"><code class="highlight"><span' in live
    assert "<table>" in live
    assert [name for name, _ in events][-2:] == ["final", "done"]


async def test_a_page_loaded_mid_answer_shows_its_blocks_and_the_stream_goes_on_from_there(
    visitor, model, app, db
):
    model.configure(answer=RICH, delay=0.05)
    response = await visitor.ask("How do I bake sourdough?")
    exchange_id = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    async with visitor.client.request(f"/answers/{exchange_id}/stream") as connection:
        await connection.send_complete()
        received = b""
        while b"Mix and fold" not in received:
            received += await connection.receive()
        # The page shows what was saved (about once a second): wait until that holds a few blocks.

        async def saved() -> bool:
            found = await db.fetch_one("SELECT answer FROM exchanges WHERE id = :id", {"id": exchange_id})
            return "Mix and fold" in (found["answer"] or "")

        await until(saved, "a few blocks saved")
        so_far = app.extensions["answers"].runs[exchange_id].text()
        page = await visitor.open("/c/1")
        await connection.disconnect()
    assert "<h2>Sourdough in three steps</h2>" in page
    offset = int(re.search(r"offset=(\d+)", page).group(1))
    assert 0 < offset <= len(so_far)
    rest = parse_events(
        await (await visitor.client.get(f"/answers/{exchange_id}/stream?offset={offset}")).get_data(
            as_text=True
        )
    )
    blocks = "".join(data for name, data in rest if name in ("blocks", "delta"))
    assert "Sourdough in three steps" not in blocks
    assert "<table>" in blocks


TABLE = "Compare:\n\n| name | hours |\n| :--- | ---: |\n| bulk | 5 |\n| proof | 12 |\n| bake | 1 |\n\nDone.\n"


async def streamed(text: str, size: int) -> list[tuple[str, str]]:
    answer = LiveAnswer(3)
    events = []
    for start in range(0, len(text), size):
        if (event := await answer.event(text[start : start + size])) is not None:
            events.append(event)
    return events


@pytest.mark.parametrize("size", [1, 3, 11])
async def test_a_table_streams_as_a_table_its_rows_as_they_complete(size):
    events = await streamed(TABLE, size)
    # Never its raw text: no cell of it arrives as open text.
    assert not any("|" in data or "bulk" in data for name, data in events if name == "delta")
    shown = "".join(data for _, data in events)
    assert '<tbody id="rows-3">' in shown and '<th class="align-right">hours</th>' in shown
    rows = [data for _, data in events if 'hx-swap-oob="beforeend:#rows-3"' in data]
    # Each row is appended alone as it completes, aligned as its column says.
    assert "bulk</td>" in rows[0] and "proof" not in rows[0]
    assert "proof</td>" in rows[1] and '<td class="align-right">12</td>' in rows[1]
    # At its end the table is rendered whole, in the answer's finished blocks.
    whole = next(
        data
        for name, data in events
        if name == "blocks" and "<p>Compare:</p>" not in data and "<thead>" in data and "rows-3" not in data
    )
    assert all(f"{cell}</td>" in whole for cell in ("bulk", "proof", "bake"))


async def test_a_page_loaded_mid_table_shows_its_complete_rows():
    blocks, open_block = await LiveAnswer(4).parts(TABLE[: TABLE.index("| proof") + 4])
    assert "<p>Compare:</p>" in blocks
    assert '<tbody id="rows-4">' in open_block and "bulk</td>" in open_block and "proof" not in open_block


async def test_a_line_that_only_looks_like_a_table_shows_as_text():
    events = await streamed("| not a table\nbut a paragraph\n", 5)
    assert "| not a table\nbut a paragraph" in "".join(data for _, data in events)
