"""htmx awareness: tell fragment requests from page loads and answer each in kind."""

from __future__ import annotations

from typing import Any

from jinja2_fragments import render_blocks_async
from quart import Response, current_app, render_template, request
from quart.globals import app_ctx


def is_htmx() -> bool:
    """Whether htmx made this request (a history restore wants the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


async def render(template: str, *blocks: str, status: int = 200, **context: Any) -> Response:
    """Render the named blocks for htmx, or the whole page otherwise."""
    if blocks and is_htmx():
        body = await render_blocks(template, blocks, context)
    else:
        body = await render_template(template, **context)
    response = current_app.response_class(body, status)
    # Both headers decide between page and fragment.
    response.vary.add("HX-Request")
    response.vary.add("HX-History-Restore-Request")
    return response


async def render_blocks(template: str, blocks: tuple[str, ...], context: dict[str, Any]) -> str:
    """Render some blocks of a template with the same context processors as a whole page."""
    # jinja2_fragments.quart predates Quart 0.23's update_template_context(ctx, context).
    await current_app.update_template_context(app_ctx._get_current_object(), context)
    return await render_blocks_async(current_app.jinja_env, template, list(blocks), **context)
