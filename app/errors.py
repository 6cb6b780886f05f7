"""Error pages and fragments that tell people what went wrong in plain words."""

from __future__ import annotations

import logging

from quart import Quart, Response
from werkzeug.exceptions import HTTPException

from . import metrics
from .htmx import is_htmx, render

log = logging.getLogger(__name__)

_PLAIN = {
    404: "There is nothing at this address.",
    405: "This address does not accept that kind of request.",
    413: "What you sent is too large.",
    429: "Too many requests; wait a moment and try again.",
}


async def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    description = error.description or ""
    # Werkzeug's stock descriptions are written for developers; keep ours, replace theirs.
    if description == type(error).description:
        description = _PLAIN.get(status, description)
    message = description
    return await _error_response(status, message or "The request could not be handled.")


async def _unexpected_error(error: Exception) -> Response:
    log.exception("unhandled error", exc_info=error)
    metrics.count_error(error)
    return await _error_response(500, "Something went wrong on our side. Try again in a moment.")


async def _error_response(status: int, message: str) -> Response:
    response = await render("error.html", "message", status=status, status_code=status, message=message)
    if is_htmx():
        # htmx requests show the message in the page's alert area, whatever their target was.
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def init_app(app: Quart) -> None:
    """Register the handlers."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
