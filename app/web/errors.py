"""Error pages and fragments that tell people what went wrong in plain words."""

from __future__ import annotations

import logging

from quart import Quart, Response, current_app, redirect, request, session, url_for
from quart.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import messages, metrics
from ..answers import Busy, Conflict, Invalid, NotFound, Refused
from ..people.access import BearerRefused, SignInFirst
from ..storage import DatabaseUnavailable, is_database_failure
from .htmx import is_htmx, render
from .limits import TooMany

log = logging.getLogger(__name__)

# How each refusal of a question's life reads over HTTP (a kind of refusal reads as its kind).
_REFUSED = {NotFound: 404, Conflict: 409, Busy: 429, Invalid: 422}


def explain(error: Exception) -> tuple[int, str]:
    """The status and the sentence a person reads for an error their request met (logged when unexpected)."""
    if isinstance(error, HTTPException):
        status = error.code or 500
        description = error.description or ""
        # Werkzeug's stock descriptions are written for developers; keep ours, replace theirs.
        if description == type(error).description:
            description = messages.PLAIN.get(status, description)
        if isinstance(error, RequestEntityTooLarge):
            description = _too_large_message()
        elif isinstance(error, TooMany):
            description = messages.too_many(error.doing, error.seconds)
        return status, description or messages.NOT_HANDLED
    if isinstance(error, Refused):
        kind = next((kind for kind in type(error).__mro__ if kind in _REFUSED), None)
        return _REFUSED[kind] if kind else 400, str(error)
    if isinstance(error, DatabaseUnavailable):
        log.warning("database unavailable: %s", error)
        return 503, messages.DATABASE_DOWN
    log.exception("unhandled error", exc_info=error)
    if is_database_failure(error):
        metrics.database_errors.inc()
    return 500, messages.UNEXPECTED


def retry_after(response: Response, error: Exception) -> Response:
    """Say when a refused request may be made again, when a limit refused it."""
    if isinstance(error, TooMany):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


async def respond(error: Exception) -> ResponseReturnValue:
    """The page or fragment saying what went wrong (htmx: in the page's alert area), or the way to sign in."""
    if isinstance(error, SignInFirst):
        return await _sign_in_first()
    if isinstance(error, BearerRefused):
        return await _bearer_refused()
    return retry_after(await _error_response(*explain(error)), error)


def _too_large_message() -> str:
    return messages.too_large(request.max_content_length or current_app.config["MAX_CONTENT_LENGTH"])


async def _sign_in_first() -> ResponseReturnValue:
    """Send the visitor to sign in: htmx by a header, a page there and back again; refuse anything else."""
    login = url_for("auth.login_form")
    if is_htmx():
        response = Response("", 401)
        response.headers["HX-Redirect"] = login
        return response
    if request.method == "GET" and "text/event-stream" not in request.headers.get("Accept", ""):
        return redirect(url_for("auth.login_form", next=request.full_path.rstrip("?")))
    return await _error_response(401, messages.SIGN_IN_FIRST)


async def _bearer_refused() -> Response:
    """Tell a scraper its token is missing or wrong, and how to send one."""
    response = Response(f"{messages.BEARER_NEEDED}\n", 401, content_type="text/plain; charset=utf-8")
    response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


async def _error_response(status: int, message: str) -> Response:
    if not _page_can_render():
        response = _plain(status)
    else:
        try:
            response = await render(
                "error.html", "message", status=status, status_code=status, message=message
            )
        except Exception:
            log.exception("the error page could not be rendered; answered in plain text")
            response = _plain(status)
    if is_htmx():
        # htmx requests show the message in the page's alert area, whatever their target was.
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def _page_can_render() -> bool:
    """Whether this request has what every page needs: the visitor's session (files and probes get none)."""
    return isinstance(session.get("csrf"), str)


def _plain(status: int) -> Response:
    """A short plain-text answer, in words fixed in advance (never echoing the request)."""
    text = messages.PLAIN.get(status) or messages.PLAIN[500 if status >= 500 else 400]
    return Response(f"{text}\n", status, content_type="text/plain; charset=utf-8")


def init_app(app: Quart) -> None:
    """Register the handlers."""
    for kind in (HTTPException, Refused, SignInFirst, BearerRefused, DatabaseUnavailable, Exception):
        app.register_error_handler(kind, respond)
