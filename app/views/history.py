"""The history page: this browser's questions and answers, newest first, searched, exported, pruned."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from quart import Blueprint, Response, abort, redirect, render_template, request, url_for

from .. import export
from ..htmx import is_htmx, render
from ..ids import parse_id
from ..security import owner
from ..storage import Database, get_db, history
from ..storage.history import STATUSES, Search

bp = Blueprint("history", __name__)

PAGE_SIZE = 50
PREVIEW_CHARS = 160
# Markdown syntax, not text: emphasis and code marks, heading and quote marks at a line's
# start, table pipes and rules, list bullets, and the brackets and address of a link.
_MARKUP = re.compile(
    r"\[([^\]\n]*)\]\([^)\s]*\)|[*`~]+|__+|^\s*(?:#+|>+|[-+*]|\d+\.)\s|^\s*\|?[-:| ]{3,}\|?\s*$|\|",
    re.MULTILINE,
)


@bp.get("/list")
async def list_exchanges() -> Response:
    """Show a page of past exchanges; `before` pages further back, htmx gets only the new rows."""
    search = _search()
    before = request.args.get("before", type=parse_id)
    db = get_db()
    rows = await history.page(db, owner(), search, before, PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    context = {
        "exchanges": rows,
        "next_before": rows[-1]["id"] if more else None,
        "before": before,
        "search": search,
        "statuses": STATUSES,
    }
    if is_htmx():
        # A new search replaces the results; the scroll sentinel is replaced by the next rows.
        block = "results" if request.headers.get("HX-Target") == "history-results" else "rows"
        return await render("history/list.html", block, **context)
    models = await history.models(db, owner())
    if search.model and search.model not in models:
        models.append(search.model)
    return await render("history/list.html", models=models, **context)


@bp.get("/list/export.<fmt>")
async def export_exchanges(fmt: str) -> Response:
    """Stream every exchange of the current search as a CSV or NDJSON download."""
    if fmt not in export.FORMATS:
        abort(404, "Exports come as .csv or .ndjson.")
    rows = history.stream(get_db(), owner(), _search())
    response = Response(export.encode(rows, fmt), mimetype=export.FORMATS[fmt])
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    response.headers["Content-Disposition"] = f'attachment; filename="answers-history-{stamp}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    response.timeout = None
    return response


@bp.delete("/list/exchanges/<int:exchange_id>")
async def delete_exchange(exchange_id: int) -> Response:
    """Delete one exchange; its row disappears where it stood."""
    if not await history.delete_exchange(get_db(), owner(), exchange_id):
        abort(404, "This exchange is already gone, or it belongs to another browser.")
    return Response("", 200)


@bp.delete("/list/conversations/<int:conversation_id>")
async def delete_conversation(conversation_id: int) -> Response:
    """Delete a conversation with its exchanges; every row of it on the page disappears."""
    if not await history.delete_conversation(get_db(), owner(), conversation_id):
        abort(404, "This conversation is already gone, or it belongs to another browser.")
    return await render("history/deleted.html", conversation_id=conversation_id)


@bp.post("/list/exchanges/<int:exchange_id>/delete")
async def confirm_delete_exchange(exchange_id: int) -> Response:
    """Without JavaScript: ask to confirm, then delete the exchange and go back to the history."""
    return await _delete_without_js("exchange", exchange_id, history.delete_exchange)


@bp.post("/list/conversations/<int:conversation_id>/delete")
async def confirm_delete_conversation(conversation_id: int) -> Response:
    """Without JavaScript: ask to confirm, then delete the conversation and go back to the history."""
    return await _delete_without_js("conversation", conversation_id, history.delete_conversation)


async def _delete_without_js(
    kind: str, item_id: int, delete: Callable[[Database, str, int], Awaitable[bool]]
) -> Response:
    form = await request.form
    back = form.get("back", "")
    if not back.startswith("/list"):
        back = url_for("history.list_exchanges")
    if form.get("confirmed") != "yes":
        return Response(await render_template("history/confirm.html", kind=kind, item_id=item_id, back=back))
    if not await delete(get_db(), owner(), item_id):
        abort(404, f"This {kind} is already gone, or it belongs to another browser.")
    return redirect(back, 303)


@bp.app_template_filter("preview")
def preview(answer: str) -> str:
    """The start of an answer as plain words, for the collapsed row."""
    words = " ".join(_MARKUP.sub(lambda match: match.group(1) or "", answer).split())
    return words if len(words) <= PREVIEW_CHARS else words[:PREVIEW_CHARS].rsplit(" ", 1)[0] + "…"


def _search() -> Search:
    """The search the URL asks for; a status nobody stores is refused with a clear message."""
    status = request.args.get("status", "")
    if status and status not in STATUSES:
        abort(400, f"There is no status “{status}”; choose one of: {', '.join(STATUSES)}.")
    return Search(
        query=request.args.get("q", "")[: history.MAX_QUERY_CHARS],
        status=status,
        model=request.args.get("model", "")[:100],
    )
