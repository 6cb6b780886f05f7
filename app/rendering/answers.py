"""Answers as HTML, fast however many and however hostile: cached, long ones rendered off the event loop."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from markupsafe import Markup

from .highlight import Budget
from .markdown import markdown_to_html

# Answers up to this long render on the event loop: under 10 ms even when hostile
# (markdown at its worst costs ~8 µs a character). Longer ones render in a thread.
INLINE_CHARS = 1_000
# One thread, not asyncio.to_thread's pool: several long renders at once fight the event
# loop for the GIL, and each garbage collection walks all their tokens with the GIL held
# (with six at once the loop stalled 270 ms, with one 40-70 ms). Renders queue in order,
# so a page of long answers takes turns with everyone else's.
_RENDERER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="markdown")


class RenderedAnswers:
    """Answers rendered lately, the least recently shown dropped first, bounded in count and in characters."""

    def __init__(self, entries: int, chars: int) -> None:
        self.entries = entries
        self.chars = chars
        self.held = 0
        self._html: OrderedDict[str, Markup] = OrderedDict()

    def get(self, text: str) -> Markup | None:
        """The rendered answer, if it is still here."""
        html = self._html.get(text)
        if html is not None:
            self._html.move_to_end(text)
        return html

    def put(self, text: str, html: Markup) -> None:
        """Keep a rendered answer, dropping the least recently shown past either bound."""
        if text in self._html:
            return
        self._html[text] = html
        self.held += len(text) + len(html)
        while len(self._html) > self.entries or self.held > self.chars:
            old_text, old_html = self._html.popitem(last=False)
            self.held -= len(old_text) + len(old_html)


# A count alone would let a few thousand long answers hold gigabytes.
_RENDERED = RenderedAnswers(entries=2048, chars=32_000_000)


async def markdown(text: str | None) -> Markup:
    """An answer's sanitised HTML: cached (old ones are shown often), long ones rendered off the loop."""
    text = text or ""
    if (html := _RENDERED.get(text)) is not None:
        return html
    if len(text) <= INLINE_CHARS:
        html = Markup(markdown_to_html(text))
        # A page may hold fifty answers: let other tasks run between them.
        await asyncio.sleep(0)
    else:
        html = Markup(await asyncio.get_running_loop().run_in_executor(_RENDERER, markdown_to_html, text))
    _RENDERED.put(text, html)
    return html


async def in_markdown_thread[T](work: Callable[..., T], *args: object) -> T:
    """Run other markdown work (reading a whole chat) in the thread where long answers render, in turn."""
    return await asyncio.get_running_loop().run_in_executor(_RENDERER, work, *args)


async def markdown_block(text: str, budget: Budget) -> Markup:
    """Blocks of a streaming answer, rendered as the whole answer is (not cached: each is shown once)."""
    if len(text) <= INLINE_CHARS:
        return Markup(markdown_to_html(text, budget))
    return Markup(await asyncio.get_running_loop().run_in_executor(_RENDERER, markdown_to_html, text, budget))
