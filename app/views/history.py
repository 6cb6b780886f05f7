"""The history page: a person's questions and answers (an admin's: everyone's), searched, exported, pruned."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from quart import Blueprint, Response, abort, redirect, request, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..answers import NotFound
from ..config import current_config
from ..people.access import signed_in_only
from ..people.identity import current_user, is_admin, owner
from ..rendering import export
from ..storage import Database, Row, api_keys, attachments, exchanges, get_db, history, users
from ..storage.history import STATUSES, Search
from ..web.addresses import return_address
from ..web.confirm import unconfirmed
from ..web.htmx import is_htmx, render
from ..web.ids import parse_id
from ..web.whose import Whose, whose

bp = Blueprint("history", __name__)

PAGE_SIZE = 50


@bp.get("/list")
@signed_in_only
async def list_exchanges() -> Response:
    """Show a page of past exchanges; `before` pages further back, htmx gets only the new rows."""
    search, person = await _search()
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
        "named": person,
        "statuses": STATUSES,
    }
    if is_htmx():
        # A new search replaces the results; the scroll sentinel is replaced by the next rows.
        block = "results" if request.headers.get("HX-Target") == "history-results" else "rows"
        return await render("history/list.html", block, **context)
    models = await history.models(db, _scope())
    if search.model and search.model not in models:
        models.append(search.model)
    return await render("history/list.html", models=models, sources=await _sources(search), **context)


@bp.get("/list/export.<fmt>")
@signed_in_only
async def export_exchanges(fmt: str) -> Response:
    """Stream every exchange of the current search as a CSV or NDJSON download."""
    if fmt not in export.FORMATS:
        abort(404, messages.EXPORT_FORMATS)
    search, _ = await _search()
    rows = _with_files(history.stream(get_db(), _scope(), search), get_db())
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
    """Delete one exchange for its owner: only its row disappears (without JavaScript, confirmed first)."""
    page = url_for("history.list_exchanges")
    back = return_address((await request.form).get("back"), within=page) or page
    if asking := await unconfirmed("exchange", back):
        return asking
    if not await exchanges.delete(get_db(), exchange_id, owner(), current_config().delete_erases):
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


async def _sources(search: Search) -> list[tuple[str, str]]:
    """The source filter's choices: the chat, the API, and each API key by name (an admin: everyone's)."""
    user = current_user()
    names = await api_keys.names(get_db(), None if is_admin() else user["id"]) if user else []
    choices = [("chat", messages.source(None)), ("api", messages.API_CALLS)]
    choices += [(f"api:{name}", messages.source(name)) for name in names]
    if search.source and search.source not in dict(choices):
        choices.append((search.source, messages.source(search.source.removeprefix("api:"))))
    return choices


async def _search() -> tuple[Search, Whose]:
    """The search the URL asks for, and whose rows it names; a status nobody stores is refused with a
    clear message."""
    status = request.args.get("status", "")
    if status and status not in STATUSES:
        abort(400, messages.no_such_status(status, STATUSES))
    person = await whose(get_db(), request.args) if is_admin() else Whose()
    return Search(
        query=request.args.get("q", "")[: history.MAX_QUERY_CHARS],
        status=status,
        model=request.args.get("model", "")[:100],
        owner=person.owner if person.parameter else None,
        person=(person.parameter, person.value),
        source=_source(),
    ), person


def _source() -> str:
    """The source the URL asks for: chat, api or api:NAME; another is refused with a clear message."""
    source = request.args.get("source", "")
    if source and source not in ("chat", "api") and not (source.startswith("api:") and 4 < len(source) <= 68):
        abort(400, messages.NO_SUCH_SOURCE)
    return source
