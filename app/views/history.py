"""The history page: every question and answer of this browser, newest first."""

from __future__ import annotations

from quart import Blueprint, Response, request

from ..htmx import render
from ..ids import parse_id
from ..security import owner
from ..storage import exchanges, get_db

bp = Blueprint("history", __name__)

PAGE_SIZE = 50


@bp.get("/list")
async def list_exchanges() -> Response:
    """List a page of past exchanges; `before` pages further back."""
    before = request.args.get("before", type=parse_id)
    rows = await exchanges.history(get_db(), owner(), before, PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    next_before = rows[-1]["id"] if more and rows else None
    return await render("history/list.html", "rows", exchanges=rows, next_before=next_before)
