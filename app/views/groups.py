"""Groups for admins: made, renamed, deleted; their members, quotas, models and usage; a model's groups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from quart import Blueprint, Response, abort, redirect, request, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..answers import get_answers
from ..people import groups
from ..people.access import admin_only
from ..people.identity import current_user
from ..storage import Executor, audit, get_db, users
from ..storage import groups as stored
from ..web.addresses import return_address
from ..web.htmx import is_htmx, render
from ..web.ids import parse_id
from ..web.limits import current_client

bp = Blueprint("groups", __name__, url_prefix="/admin")

# Each group's usage is counted over this many days, today included.
USAGE_DAYS = 30


@bp.get("/groups")
@admin_only
async def every_group() -> Response:
    """List the groups with their members, quotas and usage, and every model with the groups kept for it."""
    return await _list_page()


@bp.post("/groups")
@admin_only
async def create() -> ResponseReturnValue:
    """Make a group, then open its page; a bad or taken name is said beside the field."""
    raw = (await request.form).get("name", "")
    db = get_db()
    try:
        group_id = await db.transact(lambda tx: groups.create(tx, raw))
    except groups.Refusal as refusal:
        return await _list_page(name=raw, error=str(refusal), status=422)
    await _audit("group made", raw.strip())
    return _to(url_for("groups.show", group_id=group_id))


@bp.get("/groups/<int:group_id>")
@admin_only
async def show(group_id: int) -> Response:
    """One group: its name, quotas, members, models and usage."""
    return await _group_page(await _group(group_id))


@bp.post("/groups/<int:group_id>/rename")
@admin_only
async def rename(group_id: int) -> ResponseReturnValue:
    """Rename a group; a bad or taken name is said beside the field."""
    group = await _group(group_id)
    raw = (await request.form).get("name", "")
    try:
        await get_db().transact(lambda tx: groups.rename(tx, group_id, raw))
    except groups.Refusal as refusal:
        return await _group_page(group, "name_form", errors={"name": str(refusal)}, typed={"name": raw})
    await _audit("group renamed", group["name"], raw.strip())
    return await _changed(group_id, "name_form", saved="name")


@bp.post("/groups/<int:group_id>/quotas")
@admin_only
async def set_quotas(group_id: int) -> ResponseReturnValue:
    """Set a group's quotas: each a whole number, or blank for the default."""
    group = await _group(group_id)
    form = await request.form
    try:
        values = groups.quota_values(form)
    except groups.Refusal as refusal:
        return await _group_page(group, "quotas_form", errors={refusal.field: str(refusal)}, typed=dict(form))
    await stored.set_quotas(get_db(), group_id, values)
    await _audit("group quotas set", group["name"], ", ".join(f"{k}={v}" for k, v in values.items()))
    return await _changed(group_id, "quotas_form", saved="quotas")


@bp.post("/groups/<int:group_id>/members")
@admin_only
async def add_member(group_id: int) -> ResponseReturnValue:
    """Add a person to a group (a membership that stays whatever a provider's claim says)."""
    group = await _group(group_id)
    db = get_db()
    person = await _person((await request.form).get("user_id"))
    if person is None:
        return await _group_page(group, "members", errors={"member": messages.NO_SUCH_PERSON})
    await stored.add_member(db, group_id, person["id"])
    await _audit("added to group", person["username"], group["name"])
    return await _changed(group_id, "members")


@bp.post("/groups/<int:group_id>/members/<int:user_id>/remove")
@admin_only
async def remove_member(group_id: int, user_id: int) -> ResponseReturnValue:
    """Take a person out of a group: from their next request, its models and quotas are not theirs."""
    group = await _group(group_id)
    person = await users.by_id(get_db(), user_id)
    if person is None or not await stored.remove_member(get_db(), group_id, user_id):
        abort(404)
    await _audit("removed from group", person["username"] or "", group["name"])
    return await _changed(group_id, "members")


@bp.post("/groups/<int:group_id>/models")
@admin_only
async def set_models(group_id: int) -> ResponseReturnValue:
    """Choose the models this group may use (among the groups each is kept for)."""
    group = await _group(group_id)
    ticked = set((await request.form).getlist("model"))
    offered = [choice.key for choice in await get_answers().catalog.choices()]

    async def store(tx: Executor) -> None:
        for key in offered:
            await stored.keep_model_for(tx, key, group_id, key in ticked)

    await get_db().transact(store)
    await _audit("group models set", group["name"], ", ".join(sorted(ticked & set(offered))))
    return await _changed(group_id, "models", saved="models")


@bp.post("/groups/<int:group_id>/delete")
@admin_only
async def delete(group_id: int) -> ResponseReturnValue:
    """Delete a group once confirmed (a page of its own without JavaScript), unless it alone keeps a model."""
    group = await _group(group_id)
    db = get_db()
    if alone := await stored.only_for(db, group_id):
        return await _group_page(group, "danger", errors={"delete": messages.group_keeps_models(alone)})
    if (await request.form).get("confirmed") != "yes":
        return await render("admin/group_delete.html", group=group)
    await db.transact(lambda tx: stored.delete(tx, group_id))
    await _audit("group deleted", group["name"])
    return _to(url_for("groups.every_group"))


@bp.post("/models/<path:model>/groups")
@admin_only
async def model_groups(model: str) -> ResponseReturnValue:
    """Keep one model for the groups ticked (none ticked: everyone may use it)."""
    offered = {choice.key for choice in await get_answers().catalog.choices()}
    if model not in offered:
        abort(404)
    form = await request.form
    every = {group["id"] for group in await stored.every(get_db())}
    ticked = {
        found for raw in form.getlist("group") if (found := parse_id(raw)) is not None and found in every
    }
    await get_db().transact(lambda tx: stored.set_model_groups(tx, model, sorted(ticked)))
    await _audit("model groups set", model, ", ".join(str(group_id) for group_id in sorted(ticked)))
    if is_htmx():
        return await render(
            "admin/groups.html", "model_groups", **await _models_context(only=model), saved_model=model
        )
    back = return_address(form.get("next"), "/admin/") or url_for("groups.every_group")
    return redirect(back, 303)


async def _list_page(name: str = "", error: str | None = None, status: int = 200) -> Response:
    db = get_db()
    used = await stored.usage(db, _since())
    return await render(
        "admin/groups.html",
        "create_form",
        status=status,
        groups=await stored.every(db),
        usage=used,
        usage_days=USAGE_DAYS,
        typed_name=name,
        error=error,
        **await _models_context(),
    )


async def _models_context(only: str | None = None) -> dict[str, Any]:
    """Every model offered, the groups kept for each, and every group to tick."""
    db = get_db()
    models = await get_answers().catalog.choices()
    kept: dict[str, set[int]] = {}
    for group in await stored.every(db):
        for key in await stored.models_of(db, group["id"]):
            kept.setdefault(key, set()).add(group["id"])
    if only is not None:
        models = [choice for choice in models if choice.key == only]
    return {"models": models, "model_groups": kept, "all_groups": await stored.every(db)}


async def _group_page(
    group: dict[str, Any],
    *blocks: str,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    saved: str | None = None,
) -> Response:
    db = get_db()
    members = await stored.members(db, group["id"])
    inside = {member["id"] for member in members}
    kept = await stored.kept_models(db)
    return await render(
        "admin/group.html",
        *blocks,
        status=422 if errors else 200,
        group=group,
        members=members,
        others=[person for person in await users.accounts(db) if person["id"] not in inside],
        models=await get_answers().catalog.choices(),
        mine=await stored.models_of(db, group["id"]),
        kept=kept,
        usage=(await stored.usage(db, _since())).get(group["id"]),
        usage_days=USAGE_DAYS,
        errors=errors or {},
        typed=typed or {},
        saved=saved,
    )


async def _changed(group_id: int, block: str, saved: str | None = None) -> ResponseReturnValue:
    """After a change: htmx gets the block anew, a plain form goes back to the group's page."""
    if is_htmx():
        return await _group_page(await _group(group_id), block, saved=saved)
    return redirect(url_for("groups.show", group_id=group_id), 303)


def _to(address: str) -> ResponseReturnValue:
    """Another page: htmx is told to load it whole, a plain form is redirected."""
    if is_htmx():
        response = Response("", 200)
        response.headers["HX-Redirect"] = address
        return response
    return redirect(address, 303)


async def _group(group_id: int) -> dict[str, Any]:
    group = await stored.by_id(get_db(), group_id)
    if group is None:
        abort(404)
    return group


async def _person(raw: str | None) -> dict[str, Any] | None:
    user_id = parse_id(raw)
    person = await users.by_id(get_db(), user_id) if user_id is not None else None
    return person if person is not None and person["kind"] != "anonymous" else None


async def _audit(action: str, subject: str, detail: str = "") -> None:
    me = current_user()
    assert me is not None
    await audit.record(
        get_db(),
        action,
        actor_id=me["id"],
        subject=subject[:64],
        address=current_client(),
        detail=detail[:200],
    )


def _since() -> str:
    return (datetime.now(UTC).date() - timedelta(days=USAGE_DAYS - 1)).isoformat()
