"""Filters and globals the templates use to present exchanges."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from flask.templating import _default_template_ctx_processor as _flask_processor
from markupsafe import Markup
from quart import Quart

from .render import markdown_to_html
from .storage.dialects import as_datetime


@lru_cache(maxsize=2048)
def _markdown(text: str) -> Markup:
    return Markup(markdown_to_html(text))


def markdown(text: str | None) -> Markup:
    """Rendered, sanitised HTML of an answer (cached: old answers are shown often)."""
    return _markdown(text or "")


def iso_time(value: object) -> str:
    """A stored time as ISO 8601 UTC, for `<time datetime>`."""
    moment = as_datetime(value)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def short_time(value: object) -> str:
    """A stored time as people read it: `2026-11-24 14:05 UTC`."""
    moment = as_datetime(value)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if isinstance(moment, datetime) else ""


def seconds(milliseconds: int | None) -> str:
    """A latency in milliseconds as seconds, `1.4 s`."""
    return "" if milliseconds is None else f"{milliseconds / 1000:.1f} s"


def init_app(app: Quart) -> None:
    """Register the filters."""
    app.jinja_env.filters.update(
        markdown=markdown, iso_time=iso_time, short_time=short_time, seconds=seconds
    )


def drop_flask_processors(app: Quart) -> None:
    """Remove the context processor each blueprint inherits from Flask (call after registering them).

    Quart runs that plain function in a worker thread on every render of a blueprint's
    template, and it adds nothing: Flask's context is never set under Quart, whose own
    processor already provides `request` and `g`.
    """
    for name, processors in app.template_context_processors.items():
        if name is not None:
            processors[:] = [processor for processor in processors if processor is not _flask_processor]
