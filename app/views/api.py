"""The OpenAI-compatible API: the models a person may use, and chat completions kept like any chat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
from quart import Blueprint, Response, request

from .. import messages
from ..answers import get_answers
from ..answers.calls import Caller
from ..answers.following import follow_run
from ..answers.run import Run
from ..api import errors, wire
from ..api.errors import ApiError
from ..config import current_config
from ..people import groups, quotas
from ..people.access import api_key_only, asks_model
from ..people.api_keys import current_key
from ..people.identity import current_user
from ..storage.status import Status
from ..web.limits import limited_per_key

bp = Blueprint("api", __name__, url_prefix="/v1")
bp.register_error_handler(Exception, errors.handle)


@bp.app_template_filter("called")
def called(tool_calls: str | None) -> str:
    """Stored tool calls as people read them: `name(arguments)`, one after the other."""
    try:
        calls = orjson.loads(tool_calls or "[]")
    except orjson.JSONDecodeError:
        return tool_calls or ""
    functions = [call.get("function") or {} for call in calls if isinstance(call, dict)]
    return ", ".join(
        f"{function.get('name', '?')}({function.get('arguments', '')})" for function in functions
    )


@bp.get("/models")
@api_key_only
async def list_models() -> Response:
    """The models this person may use, as OpenAI lists them."""
    return _json(wire.models(await get_answers().catalog.choices(await groups.permitted())))


@bp.post("/chat/completions")
@api_key_only
@asks_model
@limited_per_key("api_key_rate", "ask")
async def create_completion() -> Response:
    """Answer a chat completion, streamed as server-sent chunks or whole; stored like any question."""
    asked = wire.read(await request.get_data(), current_config())
    answers = get_answers()
    permitted = await groups.permitted()
    choice = wire.chosen(await answers.catalog.choices(), asked.model, permitted)
    person, key = current_user(), current_key()
    assert person is not None and key is not None
    limits = await quotas.load()
    caller = Caller(person["owner"], key["name"], f"user-{person['id']}", limits.answers_at_once)
    run = await answers.calls.start(caller, asked.call(choice))
    reply = wire.Reply(choice.model, asked.include_usage)
    if asked.stream:
        return await _streamed(run, reply)
    return await _whole(run, reply)


@bp.route("/<path:address>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@api_key_only
async def unknown_address(address: str) -> Response:
    """Any other address under /v1/: a 404 in OpenAI's shape, as a client of the API expects."""
    raise ApiError(404, messages.API_UNKNOWN_ADDRESS, code="unknown_url")


async def _whole(run: Run, reply: wire.Reply) -> Response:
    try:
        # Shielded: a caller who goes away stops the answer rather than cancel its storing.
        await asyncio.shield(_ended(run))
    except asyncio.CancelledError:
        run.stop()
        raise
    if (failure := _failure(run)) is not None:
        return errors.response(failure)
    return _json(reply.whole(run.text(), run.usage, _finish_reason(run)))


async def _streamed(run: Run, reply: wire.Reply) -> Response:
    """The answer as OpenAI streams it: a failure before any text is an error status, after some an event."""
    pieces = follow_run(run, 0)
    try:
        first = await anext(pieces, None)
    except asyncio.CancelledError:
        run.stop()
        raise
    if first is None and (failure := _failure(run)) is not None:
        return errors.response(failure)

    async def chunks() -> AsyncIterator[bytes]:
        ended = False
        try:
            yield reply.chunk({"role": "assistant", "content": ""})
            if first is not None:
                yield reply.chunk({"content": first[0]})
                async for text, _ in pieces:
                    yield reply.chunk({"content": text})
            ended = True
        finally:
            if not ended:
                # The caller went away: the answer is stored as stopped, the model's request cancelled.
                run.stop()
        await _ended(run)
        if (failure := _failure(run)) is not None:
            yield wire.event(failure.body())
            return
        if run.usage.tool_calls:
            yield reply.tool_calls_chunk(run.usage.tool_calls)
        yield reply.chunk({}, _finish_reason(run))
        if reply.include_usage:
            yield reply.usage_chunk(run.usage)
        yield wire.DONE

    response = Response(
        chunks(),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    # An answer may stream for minutes; Quart's default response timeout would cut it.
    response.timeout = None
    return response


async def _ended(run: Run) -> None:
    """Wait for the answer to be stored."""
    if run.task is not None:
        await run.task


def _failure(run: Run) -> ApiError | None:
    """Why an ended answer cannot be handed over as a completion, if it cannot."""
    outcome = run.outcome
    if outcome is None or outcome.status == Status.INTERRUPTED:
        return ApiError(503, messages.INTERRUPTED, retry_after=1)
    if outcome.status == Status.ERROR:
        return errors.of_failure(run.failure)
    return None


def _finish_reason(run: Run) -> str:
    if run.outcome is not None and run.outcome.status == Status.STOPPED:
        return "stop"
    return run.usage.finish_reason or ("tool_calls" if run.usage.tool_calls else "stop")


def _json(body: object) -> Response:
    return Response(orjson.dumps(body), content_type="application/json")
