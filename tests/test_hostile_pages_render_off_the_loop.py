"""Pages full of hostile answers, on both engines: every long one renders in the renderer's thread.

Hostile answers are stored as a model would leave them; then the history (page and htmx
rows), the conversation and a live answer's stream are requested, and each render notes
the thread it ran in. On the loop's thread only answers short enough to render at once
(`INLINE_CHARS`, whose work `tests/test_markdown_work.py` bounds); how long the loop
waited is a figure of the benchmarks, never a test.
"""

from __future__ import annotations

import asyncio
import re
import threading

import pytest

from app.rendering import answers as rendered
from app.rendering.highlight import MAX_BLOCK_CHARS
from app.rendering.markdown import MAX_MARKDOWN_CHARS
from app.storage import conversations, exchanges
from app.storage.exchanges import Outcome
from tests import figures
from tests.conftest import Visitor
from tests.hostile import CODE_SHAPES, MARKDOWN_SHAPES

# Every hostile input it holds: `make test` runs it, `make test-quick` leaves it out.
pytestmark = pytest.mark.exhaustive

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
SCALA = '```scala\n"' + "\\" * 40 + "\n```"
PYTHON = "def total(items: list[int]) -> int:\n    return sum(item * 2 for item in items)  # doubled\n\n"


def shape(shapes, name: str, size: int) -> str:
    return next(found for found in shapes if found.name == name).text(size)


def fenced(language: str, code: str) -> str:
    return f"~~~~{language}\n{code}\n~~~~\n"


def hostile_answers() -> dict[str, str]:
    """The answers that froze or slowed the app, and the worst of what the fuzzing found."""
    big = MAX_BLOCK_CHARS - 100
    lesson = "## Step\n\nUse **bold**, `code` and [a link](https://example.com).\n\n| a | b |\n|---|---|\n"
    return {
        "scala with backslashes": SCALA,
        "the lexers' worst blocks": "".join(
            [
                # Ordinary code first: the hostile blocks after it spend what is left of the answer's work.
                fenced("python", PYTHON * (big // len(PYTHON))),
                fenced("c", shape(CODE_SHAPES, "spaces and newlines after a word", big)),
                fenced("javascript", shape(CODE_SHAPES, '" then escaped quotes', big)),
                fenced("console", shape(CODE_SHAPES, "scope runs", big)),
                fenced("ini", shape(CODE_SHAPES, "equals", big)),
            ]
        ),
        "preview spaces": " " * 1_600 + "x",
        "preview newlines": "\n" * 8_000,
        "a 200 KB answer": (lesson * (MAX_MARKDOWN_CHARS // len(lesson)))[:MAX_MARKDOWN_CHARS],
        "past the markdown cap": "<b>x</b> " * (MAX_MARKDOWN_CHARS // 9 + 100),
        "open brackets": shape(MARKDOWN_SHAPES, "open brackets", 20_000),
        "emphasis runs": shape(MARKDOWN_SHAPES, "emphasis delimiter mix", 20_000),
        "a wide table": shape(MARKDOWN_SHAPES, "wide table", 20_000),
        "short and hostile": shape(MARKDOWN_SHAPES, "everything", rendered.INLINE_CHARS),
    }


async def store(db, owner: str, answers: dict[str, str]) -> int:
    """Store each answer as a finished exchange of one conversation; return the conversation's id."""
    conversation_id = await conversations.create(db, owner, "Hostile answers")
    for question, answer in answers.items():
        exchange_id = (await exchanges.create(db, conversation_id, owner, question))["id"]
        await exchanges.finish(db, exchange_id, Outcome(answer=answer, status="done", model="hostile-model"))
    return conversation_id


async def page(visitor: Visitor, url: str, headers: dict[str, str] | None = None, fresh: bool = True) -> str:
    """A page rendered afresh (not from the cache of rendered answers), or as the cache has it."""
    if fresh:
        rendered._RENDERED = rendered.RenderedAnswers(entries=2048, chars=32_000_000)
    response = await visitor.client.get(url, headers=headers or {})
    assert response.status_code == 200
    return await response.get_data(as_text=True)


def render_threads(monkeypatch) -> list[tuple[int, int]]:
    """Record the length of each answer rendered and the thread it was rendered in."""
    renders: list[tuple[int, int]] = []
    render = rendered.markdown_to_html

    def recorded(text: str, *args) -> str:
        renders.append((len(text), threading.get_ident()))
        return render(text, *args)

    monkeypatch.setattr(rendered, "markdown_to_html", recorded)
    return renders


async def test_hostile_answers_longer_than_the_inline_limit_render_off_the_loop(
    visitor, db, model, monkeypatch
):
    async with visitor.client.session_transaction() as session:
        owner = session["owner"]
    answers = hostile_answers()
    conversation_id = await store(db, owner, answers)
    model.configure(answer=SCALA + "\n\n" + shape(MARKDOWN_SHAPES, "open brackets", 20_000))
    renders = render_threads(monkeypatch)
    loop = threading.get_ident()

    history = await page(visitor, "/list")
    rows = await page(visitor, "/list", {"HX-Request": "true", "HX-Target": "history-results"}, fresh=False)
    conversation = await page(visitor, f"/c/{conversation_id}", fresh=False)
    burst = await asyncio.gather(*(page(visitor, "/list") for _ in range(2)))
    asked = await visitor.ask("Anything hostile?", conversation_id)
    exchange_id = int(EXCHANGE_ID.search(await asked.get_data(as_text=True)).group(1))
    final = dict(await visitor.stream(exchange_id))["final"]

    on_loop = [length for length, thread in renders if thread == loop]
    off_loop = [length for length, thread in renders if thread != loop]
    figures.add("stall", answers=len(answers) + 1, on_loop=len(on_loop), off_loop=len(off_loop))
    assert max(on_loop) <= rendered.INLINE_CHARS < min(off_loop), (on_loop, off_loop)
    assert len(off_loop) >= len(
        [answer for answer in answers.values() if len(answer) > rendered.INLINE_CHARS]
    )
    scala = '<pre class="code" data-language="scala"><code class="highlight">"' + "\\" * 40
    for body in (history, rows, conversation, *burst, final):
        assert scala in body
    for body in (history, rows, *burst):
        assert '<span class="preview">x</span>' in body and "<strong>bold</strong>" in body
    assert '<pre class="plain">&lt;b&gt;x&lt;/b&gt;' in conversation
    assert '<pre class="code" data-language="python"><code class="highlight"><span class=' in conversation
