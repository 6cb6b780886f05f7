"""Deleting without JavaScript: the same form asks to confirm on a page of its own first."""

from __future__ import annotations

from quart import Response, render_template, request

from ..config import current_config
from .htmx import is_htmx


async def unconfirmed(kind: str, back: str) -> Response | None:
    """The page asking to confirm a deletion, unless htmx asked (it confirms in-page) or the form says yes."""
    if is_htmx() or (await request.form).get("confirmed") == "yes":
        return None
    erases = current_config().delete_erases
    return Response(await render_template("confirm.html", kind=kind, back=back, erases=erases))
