"""The history page: a person's questions and answers (an admin's: everyone's), searched, exported, pruned."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from quart import Blueprint, Response, abort, redirect, request, session, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..answers import NotFound
from ..config import current_config
from ..people.access import signed_in_only
from ..people.identity import current_user, is_admin, owner
from ..rendering import export
from ..storage import Database, Row, api_keys, attachments, exchanges, get_db, history, users
from ..storage import groups as stored_groups
from ..storage.history import FEEDBACK, STATUSES, Search
from ..web.addresses import return_address
from ..web.confirm import unconfirmed
from ..web.htmx import is_htmx, render
from ..web.ids import parse_id
from ..web.whose import Whose, whose

bp = Blueprint("history", __name__)

PAGE_SIZE = 50
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@bp.get("/list")
@signed_in_only
async def list_exchanges() -> Response:
    """Show a page of past exchanges; `before` pages further back, htmx gets only the new rows."""
    search, person, problems = await _search()
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
        "feedback_choices": FEEDBACK,
        "problems": problems,
        "zone": _zone(),
    }
    if is_htmx():
        # A new search replaces the results; the scroll sentinel is replaced by the next rows.
        block = "results" if request.headers.get("HX-Target") == "history-results" else "rows"
        return await render("history/list.html", block, **context)
    models = await history.models(db, _scope())
    if search.model and search.model not in models:
        models.append(search.model)
    groups = await stored_groups.every(db) if is_admin() else []
    return await render(
        "history/list.html", models=models, sources=await _sources(search), groups=groups, **context
    )


@bp.get("/list/export.<fmt>")
@signed_in_only
async def export_exchanges(fmt: str) -> Response:
    """Stream every exchange of the current search as a CSV or NDJSON download."""
    if fmt not in export.FORMATS:
        abort(404, messages.EXPORT_FORMATS)
    search, _, problems = await _search()
    if problems:
        abort(400, " ".join(problems))
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


async def _search() -> tuple[Search, Whose, list[str]]:
    """The search the URL asks for, whose rows it names, and what it asked that cannot be read: each such
    filter is left out and said why, in a clear sentence."""
    problems: list[str] = []

    def read(name: str, parse: Callable[[str], str]) -> str:
        raw = request.args.get(name, "").strip()
        try:
            return parse(raw) if raw else ""
        except BadFilter as refused:
            problems.append(str(refused))
            return ""

    zone = _zone()
    days = (read("from", _day), read("to", _day))
    span = (_start_of(days[0], zone), _start_of(days[1], zone, after=True))
    if span[0] and span[1] and span[0] >= span[1]:
        problems.append(messages.days_reversed(*days))
        days, span = ("", ""), (None, None)
    person = await whose(get_db(), request.args) if is_admin() else Whose()
    search = Search(
        query=request.args.get("q", "")[: history.MAX_QUERY_CHARS],
        status=read("status", _status),
        model=request.args.get("model", "")[:100],
        owner=person.owner if person.parameter else None,
        person=(person.parameter, person.value),
        source=read("source", _source),
        feedback=read("feedback", _feedback),
        group=read("group", _group) if is_admin() else "",
        days=days,
        span=span,
    )
    return search, person, problems


class BadFilter(ValueError):
    """A filter's value that cannot be read; the message says what it may be."""


def _status(value: str) -> str:
    if value not in STATUSES:
        raise BadFilter(messages.no_such_status(value, STATUSES))
    return value


def _source(value: str) -> str:
    """The source asked for: chat, api or api:NAME."""
    if value not in ("chat", "api") and not (value.startswith("api:") and 4 < len(value) <= 68):
        raise BadFilter(messages.NO_SUCH_SOURCE)
    return value


def _group(value: str) -> str:
    """A group's id, as digits."""
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise BadFilter(messages.no_such_group(value[:40]))
    return value


def _feedback(value: str) -> str:
    if value not in FEEDBACK:
        raise BadFilter(messages.no_such_feedback(value[:40], FEEDBACK))
    return value


def _day(value: str) -> str:
    """A day as YYYY-MM-DD."""
    try:
        if not DAY.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise BadFilter(messages.not_a_day(value[:40])) from None


def _zone() -> str:
    """The time zone the person chose, in which the days of the history's span are read (else UTC)."""
    chosen = session.get("time_zone")
    if not isinstance(chosen, str) or not chosen:
        return "UTC"
    try:
        ZoneInfo(chosen)
    except (ValueError, ZoneInfoNotFoundError):
        return "UTC"
    return chosen


def _start_of(day: str, zone: str, after: bool = False) -> datetime | None:
    """When a day starts in a time zone (`after`: when the day after it starts), in UTC."""
    if not day:
        return None
    moment = datetime.combine(date.fromisoformat(day), time(), ZoneInfo(zone))
    if after:
        moment = datetime.combine(moment.date() + timedelta(days=1), time(), ZoneInfo(zone))
    return moment.astimezone(UTC).replace(tzinfo=None)
