"""Error pages and fragments that tell people what went wrong in plain words."""

from __future__ import annotations

import logging

from quart import Quart, Response, current_app
from quart_rate_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from . import metrics
from .htmx import is_htmx, render
from .limits import too_many_message
from .storage import DatabaseUnavailable

log = logging.getLogger(__name__)

_PLAIN = {
    400: "The request could not be understood. Reload the page and try again.",
    401: "Sign in first.",
    404: "There is nothing at this address.",
    405: "This address does not accept that kind of request.",
    429: "Too many requests; wait a moment and try again.",
}


async def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    description = error.description or ""
    # Werkzeug's stock descriptions are written for developers; keep ours, replace theirs.
    if description == type(error).description:
        description = _PLAIN.get(status, description)
    if isinstance(error, RequestEntityTooLarge):
        description = _too_large_message()
    elif isinstance(error, RateLimitExceeded):
        description = too_many_message(error.retry_after)
    response = await _error_response(status, description or "The request could not be handled.")
    if isinstance(error, RateLimitExceeded):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _too_large_message() -> str:
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    return (
        f"What you sent is larger than the {limit // 1024:,} KB this app accepts, so nothing was stored. "
        "Shorten it and send it again."
    )


async def _database_unavailable(error: DatabaseUnavailable) -> Response:
    log.warning("database unavailable: %s", error)
    return await _error_response(503, "The database is not answering right now. Try again in a moment.")


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
    app.register_error_handler(DatabaseUnavailable, _database_unavailable)
    app.register_error_handler(Exception, _unexpected_error)
