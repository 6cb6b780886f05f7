"""Feedback on an answer: its owner's thumbs up or down and comment, given, changed or removed."""

from __future__ import annotations

from quart import Blueprint, Response, redirect, request, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..answers import Invalid, NotFound
from ..people.access import signed_in_only
from ..people.identity import owner
from ..storage import Executor, Row, exchanges, feedback, get_db
from ..web.htmx import is_htmx, render

bp = Blueprint("feedback", __name__)


@bp.post("/answers/<int:exchange_id>/feedback")
@signed_in_only
async def give(exchange_id: int) -> ResponseReturnValue:
    """Give or change a thumbs up or down, with the comment typed (htmx gets the control back)."""
    form = await request.form
    rating = form.get("rating", "")
    comment = (form.get("comment") or "").strip()
    problem = None
    if rating not in feedback.RATINGS:
        problem = messages.FEEDBACK_RATINGS
    elif len(comment) > feedback.MAX_COMMENT_CHARS:
        problem = messages.feedback_too_long(len(comment), feedback.MAX_COMMENT_CHARS)
    if problem is not None:
        if not is_htmx():
            raise Invalid(problem)
        exchange = await _own(exchange_id)
        given = await feedback.of_exchange(get_db(), exchange_id)
        return await _control(exchange, given, problem, comment, 422)

    async def save(tx: Executor) -> Row | None:
        return await feedback.give(tx, exchange_id, owner(), rating, comment)

    given = await get_db().transact(save, idempotent=True)
    if given is None:
        raise NotFound(messages.NOT_YOUR_ANSWER)
    return await _answered(await _own(exchange_id), given)


@bp.post("/answers/<int:exchange_id>/feedback/delete")
@signed_in_only
async def remove(exchange_id: int) -> ResponseReturnValue:
    """Remove the owner's feedback on an answer."""

    async def forget(tx: Executor) -> bool:
        return await feedback.remove(tx, exchange_id, owner())

    if not await get_db().transact(forget, idempotent=True):
        raise NotFound(messages.NOT_YOUR_ANSWER)
    return await _answered(await _own(exchange_id), None)


async def _own(exchange_id: int) -> Row:
    exchange = await exchanges.get(get_db(), exchange_id, owner())
    if exchange is None:
        raise NotFound(messages.NOT_YOUR_ANSWER)
    return exchange


async def _answered(exchange: Row, given: Row | None) -> ResponseReturnValue:
    """The control as it now stands for htmx; without JavaScript, back to the answer."""
    if is_htmx():
        return await _control(exchange, given)
    page = url_for("chat.show", conversation_id=exchange["conversation_id"])
    return redirect(f"{page}#answer-{exchange['id']}", 303)


async def _control(
    exchange: Row, given: Row | None, problem: str | None = None, typed: str | None = None, status: int = 200
) -> Response:
    return await render(
        "chat/index.html",
        "feedback",
        status=status,
        rated={**exchange, "feedback": given},
        feedback_problem=problem,
        feedback_typed=typed,
    )
