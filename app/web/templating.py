"""What templates get besides their context: filters that present exchanges, statuses and messages."""

from __future__ import annotations

from flask.templating import _default_template_ctx_processor as _flask_processor
from quart import Quart, has_app_context, has_request_context, session

from .. import messages
from ..config import current_config
from ..model.catalog import Choice
from ..model.catalog import label as picker_label
from ..rendering.answers import markdown
from ..rendering.counts import tokens, total
from ..rendering.live import live_answer
from ..rendering.preview import preview
from ..rendering.times import iso_time, seconds, short_time
from ..rendering.transcript import label
from ..storage.feedback import MAX_COMMENT_CHARS
from ..storage.status import LIVE, Status


def init_app(app: Quart) -> None:
    """Register the filters, and the statuses and messages templates compare with and show."""
    app.jinja_env.filters.update(
        markdown=markdown,
        live_answer=live_answer,
        preview=preview,
        iso_time=iso_time,
        short_time=_local_time,
        seconds=seconds,
        tokens=tokens,
        model_label=model_label,
        answer_ending=label,
        total_tokens=total,
    )
    app.jinja_env.globals.update(
        Status=Status, LIVE=LIVE, messages=messages, theme=theme, feedback_chars=MAX_COMMENT_CHARS
    )


def model_label(choice: Choice, choices: list[Choice]) -> str:
    """A model as pickers name it, under the display name the settings give it, if any."""
    names = dict(current_config().model_labels) if has_app_context() else {}
    return picker_label(choice, choices, names)


def theme() -> str | None:
    """The theme the person chose (light or dark), or None to follow the system."""
    chosen = session.get("theme") if has_request_context() else None
    return chosen if chosen in ("light", "dark") else None


def _local_time(value: object) -> str:
    """A stored time in the person's chosen time zone (UTC when they chose none)."""
    zone = session.get("time_zone") if has_request_context() else None
    return short_time(value, zone if isinstance(zone, str) else None)


def drop_flask_processors(app: Quart) -> None:
    """Remove the context processor each blueprint inherits from Flask (call after registering them).

    Quart runs that plain function in a worker thread on every render of a blueprint's
    template, and it adds nothing: Flask's context is never set under Quart, whose own
    processor already provides `request` and `g`.
    """
    for name, processors in app.template_context_processors.items():
        if name is not None:
            processors[:] = [processor for processor in processors if processor is not _flask_processor]
