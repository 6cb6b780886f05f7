"""The history page: a person's questions and answers (an admin's: everyone's), searched, exported, pruned."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from quart import Blueprint, Response, abort, redirect, request, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..answers import NotFound
from ..people.access import signed_in_only
from ..people.identity import is_admin, owner
from ..rendering import export
from ..storage import Database, Row, attachments, exchanges, get_db, history, users
from ..storage.history import STATUSES, Search
from ..web.addresses import return_address
from ..web.confirm import unconfirmed
from ..web.htmx import is_htmx, render
from ..web.ids import parse_id

bp = Blueprint("history", __name__)

PAGE_SIZE = 50


@bp.get("/list")
@signed_in_only
async def list_exchanges() -> Response:
    """Show a page of past exchanges; `before` pages further back, htmx gets only the new rows."""
    search = await _search()
    before = request.args.get("before", type=parse_id)
    db = get_db()
    rows = await history.page(db, _scope(), search, before, PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    versions = await exchanges.versions(db, rows)
    attached = await attachments.of_exchanges(db, [row["id"] for row in rows])
    for row in rows:
        row["versions"] = versions[row["id"]]
        row["files"] = attached.get(row["id"], [])
    context: dict[str, Any] = {
        "exchanges": rows,
        "everyone": is_admin(),
        "people": await _people(rows),
        "next_before": rows[-1]["id"] if more else None,
        "before": before,
        "search": search,
        "statuses": STATUSES,
    }
    if is_htmx():
        # A new search replaces the results; the scroll sentinel is replaced by the next rows.
        block = "results" if request.headers.get("HX-Target") == "history-results" else "rows"
        return await render("history/list.html", block, **context)
    models = await history.models(db, _scope())
    if search.model and search.model not in models:
        models.append(search.model)
    return await render("history/list.html", models=models, **context)


@bp.get("/list/export.<fmt>")
@signed_in_only
async def export_exchanges(fmt: str) -> Response:
    """Stream every exchange of the current search as a CSV or NDJSON download."""
    if fmt not in export.FORMATS:
        abort(404, messages.EXPORT_FORMATS)
    rows = _with_files(history.stream(get_db(), _scope(), await _search()), get_db())
    if is_admin():
        rows = _with_names(rows, get_db())
    response = Response(export.encode(rows, fmt), content_type=export.FORMATS[fmt])
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    response.headers["Content-Disposition"] = f'attachment; filename="answers-history-{stamp}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    response.timeout = None
    return response


@bp.post("/list/exchanges/<int:exchange_id>/delete")
@signed_in_only
async def delete_exchange(exchange_id: int) -> ResponseReturnValue:
    """Delete one exchange: only its row disappears (without JavaScript, after a page asks to confirm)."""
    page = url_for("history.list_exchanges")
    back = return_address((await request.form).get("back"), within=page) or page
    if asking := await unconfirmed("exchange", back):
        return asking
    if not await exchanges.delete(get_db(), exchange_id, owner()):
        raise NotFound(messages.NOT_YOUR_EXCHANGE)
    return Response("", 200) if is_htmx() else redirect(back, 303)


def _scope() -> str | None:
    """Whose rows this visitor reads: their own, or (an admin) everyone's."""
    return None if is_admin() else owner()


async def _people(rows: list[Row]) -> dict[str, Row]:
    """For an admin, the users owning the rows shown, by owner id."""
    if not is_admin():
        return {}
    return await users.names(get_db(), {row["owner"] for row in rows})


async def _with_names(rows: AsyncIterator[Row], db: Database) -> AsyncIterator[Row]:
    """Everyone's rows, each with the name of who asked (looked up once per person, as it streams)."""
    names: dict[str, str] = {}
    async for row in rows:
        if row["owner"] not in names:
            person = await users.by_owner(db, row["owner"])
            names[row["owner"]] = person["username"] if person and person["username"] else "anonymous"
        yield {**row, "user": names[row["owner"]]}


async def _with_files(rows: AsyncIterator[Row], db: Database, batch: int = 500) -> AsyncIterator[Row]:
    """The rows, each naming the files it was asked with (looked up a batch of rows at a time)."""
    waiting: list[Row] = []
    async for row in rows:
        waiting.append(row)
        if len(waiting) >= batch:
            for named in await _named_files(waiting, db):
                yield named
            waiting = []
    for named in await _named_files(waiting, db):
        yield named


async def _named_files(rows: list[Row], db: Database) -> list[Row]:
    attached = await attachments.of_exchanges(db, [row["id"] for row in rows])
    return [{**row, "files": "; ".join(file["name"] for file in attached.get(row["id"], []))} for row in rows]


async def _search() -> Search:
    """The search the URL asks for; a status nobody stores is refused with a clear message."""
    status = request.args.get("status", "")
    if status and status not in STATUSES:
        abort(400, messages.no_such_status(status, STATUSES))
    user = request.args.get("user", "").strip()[:64] if is_admin() else ""
    named = await users.by_username(get_db(), user.casefold()) if user else None
    return Search(
        query=request.args.get("q", "")[: history.MAX_QUERY_CHARS],
        status=status,
        model=request.args.get("model", "")[:100],
        user=user,
        owner=named["owner"] if named else user,
    )
