"""The markdown filter: cached, short answers rendered at once, long ones off the event loop."""

from __future__ import annotations

import threading

from markupsafe import Markup

from app.rendering import answers as rendered
from app.rendering.answers import INLINE_CHARS, RenderedAnswers


def render_threads(monkeypatch) -> list[int]:
    """Record the thread each render runs in."""
    threads: list[int] = []
    render = rendered.markdown_to_html

    def recorded(text: str) -> str:
        threads.append(threading.get_ident())
        return render(text)

    monkeypatch.setattr(rendered, "markdown_to_html", recorded)
    return threads


async def test_a_short_answer_renders_on_the_loop_and_a_long_one_in_a_thread(monkeypatch):
    threads = render_threads(monkeypatch)
    short = await rendered.markdown("**short** " + "x" * (INLINE_CHARS - 20))
    long = await rendered.markdown("**long** " + "x" * INLINE_CHARS)
    assert "<strong>short</strong>" in short and "<strong>long</strong>" in long
    assert threads[0] == threading.get_ident() != threads[1]


async def test_a_shown_answer_comes_back_from_the_cache_without_rendering_again(monkeypatch):
    first = await rendered.markdown("**cached** " + "y" * INLINE_CHARS)
    threads = render_threads(monkeypatch)
    assert await rendered.markdown("**cached** " + "y" * INLINE_CHARS) is first
    assert threads == []


async def test_a_missing_answer_is_empty():
    assert await rendered.markdown(None) == Markup("")


async def test_a_long_hostile_answer_renders_in_the_renderer_thread(monkeypatch):
    threads = render_threads(monkeypatch)
    html = await rendered.markdown("[" * (2 * INLINE_CHARS))
    assert html.startswith("<p>[[[")
    assert threads != [] and threading.get_ident() not in threads


def test_rendered_answers_drop_the_least_recently_shown_past_either_bound():
    cache = RenderedAnswers(entries=3, chars=100)
    for text in ("a", "b", "c"):
        cache.put(text, Markup(text.upper()))
    cache.get("a")
    cache.put("d", Markup("D"))
    assert [cache.get(text) for text in "abcd"] == ["A", None, "C", "D"]
    cache.put("e" * 90, Markup("E" * 8))
    assert cache.get("e" * 90) == "E" * 8 and cache.held == 100
    assert [cache.get(text) for text in "acd"] == [None, None, "D"]
