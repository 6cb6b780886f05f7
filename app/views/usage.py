"""The usage page: questions per day, tokens by model and person, latency, errors: charts, tables and CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from quart import Blueprint, Response, abort, request

from .. import messages
from ..config import current_config
from ..people.access import signed_in_only
from ..people.identity import is_admin, owner
from ..rendering import charts
from ..storage import Row, feedback, get_db, ledger, usage, users
from ..storage.dialects import TIME_FORMAT
from ..web.htmx import render
from ..web.whose import PARAMETERS, Whose, whose

bp = Blueprint("usage", __name__)

SPANS = (7, 30, 90)


@bp.get("/usage")
@signed_in_only
async def page() -> Response:
    """Show the usage of the visitor (an admin: everyone's, or one person's) over the last days."""
    days, scope, user = await _choice()
    found = await usage.read(get_db(), scope, _since(days))
    thumbs = await _thumbs(scope, days)
    daily = _every_day(found.days, days)
    people = await users.names(get_db(), {row["owner"] for row in found.owners})
    by_person = [(_name(row["owner"], people), _tokens(row)) for row in found.owners]
    by_model = [(row["model"] or "none", _tokens(row)) for row in found.models]
    by_source = [(messages.source(row["key_name"]), _tokens(row)) for row in found.sources]
    return await render(
        "usage/index.html",
        days=days,
        spans=SPANS,
        user=user,
        everyone=scope is None,
        usage=found,
        daily=daily,
        day_bars=charts.columns([(row["day"], row["questions"], row["errors"]) for row in daily]),
        model_bars=charts.rows(by_model),
        person_bars=charts.rows(by_person),
        source_bars=charts.rows(by_source),
        chart=charts,
        costs=_costs(found.models),
        totals=_totals(found.models),
        thumbs=thumbs,
    )


@bp.get("/usage.csv")
@signed_in_only
async def download() -> Response:
    """The usage per day and model as CSV."""
    days, scope, _ = await _choice()
    found = await usage.read(get_db(), scope, _since(days))
    thumbs = await _thumbs(scope, days)
    prices = dict(current_config().prices)
    out = io.StringIO()
    writer = csv.writer(out)
    # `estimated`: how many of the row's questions have token counts made here, not reported.
    writer.writerow(["day", "questions", "errors", "prompt_tokens", "completion_tokens", "estimated"])
    for row in _every_day(found.days, days):
        writer.writerow(
            [
                row["day"],
                row["questions"],
                row["errors"],
                row["prompt_tokens"],
                row["completion_tokens"],
                row["estimated"],
            ]
        )
    writer.writerow([])
    writer.writerow(["source", "questions", "prompt_tokens", "completion_tokens"])
    for row in found.sources:
        writer.writerow(
            [
                messages.source(row["key_name"]),
                row["questions"],
                row["prompt_tokens"],
                row["completion_tokens"],
            ]
        )
    writer.writerow([])
    writer.writerow(
        [
            "model",
            "questions",
            "prompt_tokens",
            "completion_tokens",
            "cost",
            "estimated",
            "thumbs_up",
            "thumbs_down",
        ]
    )
    for row in found.models:
        price = prices.get(row["model"])
        rated = thumbs.get(row["model"], {})
        cost = f"{_tokens(row) / 1000 * price:.4f}" if price is not None else ""
        writer.writerow(
            [
                row["model"],
                row["questions"],
                row["prompt_tokens"],
                row["completion_tokens"],
                cost,
                int(row["estimated"] or 0),
                int(rated.get("up") or 0),
                int(rated.get("down") or 0),
            ]
        )
    response = Response(out.getvalue(), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="answers-usage-{days}d.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


async def _choice() -> tuple[int, str | None, Whose]:
    """The span asked for, whose rows (None: everyone's) and the person named; others' usage is not found."""
    days = request.args.get("days", type=int) or 30
    if days not in SPANS:
        days = 30
    if not is_admin():
        if any(request.args.get(name) for name in PARAMETERS):
            abort(404)
        return days, owner(), Whose()
    person = await whose(get_db(), request.args)
    return days, person.owner if person.parameter else None, person


async def _thumbs(scope: str | None, days: int) -> dict[str | None, Row]:
    """Thumbs up and down per model on the span's questions."""
    return {row["model"]: row for row in await feedback.by_model(get_db(), scope, _since(days))}


def _since(days: int) -> str:
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
    return start.strftime(TIME_FORMAT)


def _every_day(found: list[Row], days: int) -> list[Row]:
    """One row per day of the span, the quiet ones with zeros."""
    by_day = {str(row["day"]): row for row in found}
    today = datetime.now(UTC).date()
    every = []
    for back in range(days - 1, -1, -1):
        day = (today - timedelta(days=back)).isoformat()
        row = by_day.get(day, {})
        every.append(
            {
                "day": day,
                "questions": int(row.get("questions") or 0),
                "errors": int(row.get("errors") or 0),
                "prompt_tokens": int(row.get("prompt_tokens") or 0),
                "completion_tokens": int(row.get("completion_tokens") or 0),
                "estimated": int(row.get("estimated") or 0),
            }
        )
    return every


def _tokens(row: Row) -> int:
    return int(row["prompt_tokens"] or 0) + int(row["completion_tokens"] or 0)


def _name(owner_id: str, people: dict[str, Row]) -> str:
    if owner_id == ledger.ERASED:
        return messages.ERASED_PEOPLE
    person = people.get(owner_id)
    return person["username"] if person and person["username"] else f"anonymous {owner_id[:6]}"


def _costs(models: list[Row]) -> dict[str, float]:
    """The cost of each priced model's tokens."""
    prices = dict(current_config().prices)
    return {
        row["model"]: _tokens(row) / 1000 * prices[row["model"]] for row in models if row["model"] in prices
    }


def _totals(models: list[Row]) -> dict[str, int]:
    return {
        "questions": sum(int(row["questions"]) for row in models),
        "tokens": sum(_tokens(row) for row in models),
        "estimated": sum(int(row["estimated"] or 0) for row in models),
    }
