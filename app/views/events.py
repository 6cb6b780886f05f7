"""The admins' page of webhook events: each endpoint's dead and waiting ones, and sending dead ones again."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from quart import Blueprint, Response, abort, redirect, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..config import shown_url
from ..people.access import admin_only
from ..people.identity import current_user
from ..storage import Row, audit, get_db, outbox
from ..web.htmx import render
from ..web.limits import current_client
from ..webhooks import get_deliverer

bp = Blueprint("events", __name__, url_prefix="/admin/events")

# Events of each state shown per endpoint, oldest first.
SHOWN = 50
ENDPOINT = re.compile(r"[0-9a-f]{16}")


@dataclass(slots=True)
class Endpoint:
    """An endpoint as the page shows it: how many events it has in each state, and those waiting or dead."""

    key: str
    url: str
    here: bool  # named in this instance's settings; else shown by its digest alone
    counts: dict[str, int] = field(default_factory=dict)
    events: list[Row] = field(default_factory=list)


@bp.get("")
@admin_only
async def waiting() -> Response:
    """List each endpoint's dead and waiting events, with how many it has in each state."""
    db, deliverer = get_db(), get_deliverer()
    endpoints = {key: Endpoint(key, shown_url(url), True) for key, url in deliverer.endpoints.items()}
    for count in await outbox.counts(db):
        _endpoint(endpoints, count["endpoint"]).counts[count["state"]] = count["n"]
    for event in await outbox.waiting(db, SHOWN):
        _endpoint(endpoints, event["endpoint"]).events.append(event)
    return await render("admin/events.html", endpoints=list(endpoints.values()))


@bp.post("/<int:event_id>/again")
@admin_only
async def send_again(event_id: int) -> ResponseReturnValue:
    """Put a dead event back at the head of its endpoint's line, its 24 hours of retries anew."""
    db = get_db()
    event = await db.fetch_one("SELECT event_id FROM webhook_outbox WHERE id = :id", {"id": event_id})
    if event is None or not await outbox.send_again(db, get_deliverer().clock(), row_id=event_id):
        abort(404, messages.EVENT_GONE)
    await _audit("sent an event again", event["event_id"])
    return redirect(url_for("events.waiting"), 303)


@bp.post("/endpoints/<key>/again")
@admin_only
async def send_all_again(key: str) -> ResponseReturnValue:
    """Put every dead event of an endpoint back in its line, in their order."""
    if not ENDPOINT.fullmatch(key):
        abort(404)
    again = await outbox.send_again(get_db(), get_deliverer().clock(), endpoint=key)
    if again:
        await _audit("sent events again", key, f"{again} events")
    return redirect(url_for("events.waiting"), 303)


def _endpoint(endpoints: dict[str, Endpoint], key: str) -> Endpoint:
    """An endpoint of the page; one no longer in the settings is shown by its digest alone."""
    if key not in endpoints:
        endpoints[key] = Endpoint(key, key, False)
    return endpoints[key]


async def _audit(action: str, subject: str, detail: str = "") -> None:
    me = current_user()
    assert me is not None
    await audit.record(
        get_db(), action, actor_id=me["id"], subject=subject, address=current_client(), detail=detail
    )
