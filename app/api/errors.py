"""Errors in OpenAI's shape, `{"error": {"message", "type", "code", "param"}}`, with the status that fits."""

from __future__ import annotations

import logging

import orjson
from quart import Response, current_app
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import messages
from ..answers import Busy, Conflict, Invalid, NotFound, Refused
from ..model import ModelError
from ..people.api_keys import KeyRefused
from ..storage import DatabaseUnavailable
from ..web.limits import TooMany

log = logging.getLogger(__name__)

# The type OpenAI gives each status (and the code, when a status has one meaning here).
TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}
CODES = {401: "invalid_api_key", 413: "request_too_large", 429: "rate_limit_exceeded", 504: "timeout"}
_REFUSED = {NotFound: 404, Conflict: 409, Busy: 429, Invalid: 400}


class ApiError(Exception):
    """What an API request is answered when it cannot be done: a status and OpenAI's error fields."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODES.get(status)
        self.param = param
        self.retry_after = retry_after

    @property
    def kind(self) -> str:
        """OpenAI's `type` for this error."""
        return TYPES.get(self.status, "server_error" if self.status >= 500 else "invalid_request_error")

    def body(self) -> dict[str, object]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


def response(error: ApiError) -> Response:
    """The error as a JSON response (never echoing the request, nor any key)."""
    answer = Response(orjson.dumps(error.body()), error.status, content_type="application/json")
    answer.headers["Cache-Control"] = "no-store"
    if error.retry_after is not None:
        answer.headers["Retry-After"] = str(max(1, round(error.retry_after)))
    return answer


def of(error: BaseException) -> ApiError:
    """The API error an exception raised while answering an API request stands for."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, KeyRefused):
        return ApiError(401, str(error))
    if isinstance(error, TooMany):
        return ApiError(429, messages.too_many("ask", error.seconds), retry_after=error.seconds)
    if isinstance(error, RequestEntityTooLarge):
        return ApiError(413, messages.too_large(current_app.config["MAX_CONTENT_LENGTH"]))
    if isinstance(error, HTTPException):
        status = error.code or 500
        return ApiError(status, messages.PLAIN.get(status) or messages.PLAIN[500 if status >= 500 else 400])
    if isinstance(error, Refused):
        status = _REFUSED.get(type(error), 400)
        retry = (getattr(error, "retry_after", None) or 1) if status == 429 else None
        return ApiError(status, str(error), retry_after=retry)
    if isinstance(error, DatabaseUnavailable):
        log.warning("database unavailable: %s", error)
        return ApiError(503, messages.DATABASE_DOWN, retry_after=1)
    log.exception("unhandled error in an API request", exc_info=error)
    return ApiError(500, messages.UNEXPECTED)


def of_failure(failure: BaseException | None) -> ApiError:
    """The API error for an answer the model could not give: 504 when it kept silent, else by its server."""
    if not isinstance(failure, ModelError):
        return ApiError(500, messages.UNEXPECTED_IN_ANSWER)
    if failure.timed_out:
        return ApiError(504, str(failure))
    if failure.status == 429:
        return ApiError(429, str(failure), retry_after=1)
    if failure.status in (400, 413, 422):
        return ApiError(400, str(failure), code="model_refused")
    if failure.status == 404:
        return ApiError(404, str(failure), code="model_not_found", param="model")
    return ApiError(502, str(failure), code="model_failed")


async def handle(error: BaseException) -> Response:
    """Answer an API request's failure in OpenAI's shape (the API blueprint's error handler)."""
    return response(of(error))
