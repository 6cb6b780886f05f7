"""The admin settings page: model servers, models, behaviour, people and limits, retention; 404 for others.

Each section is a form of its own (and, with htmx, swaps only itself). A setting the
environment sets is shown, not editable. A change is stored all or nothing, audited, and
every instance applies it within seconds.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, abort, redirect, request, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..answers import get_answers
from ..config import Config
from ..files import sees_images
from ..model import OnDemandModel, Unlisted
from ..model.catalog import primary_server_name
from ..people.access import admin_only
from ..people.identity import current_user
from ..settings import Conflict, Contradiction, Unchanged, addresses, fingerprint, forms, get_settings
from ..settings.fields import SECTIONS, SERVERS, in_section, pinned, variable_of
from ..settings.forms import Edit
from ..storage import get_db
from ..storage import groups as stored_groups
from ..web.htmx import is_htmx, render
from ..web.limits import current_client

bp = Blueprint("admin_settings", __name__, url_prefix="/admin/settings")


@bp.get("")
@admin_only
async def page() -> Response:
    """Every section, as stored now."""
    saved = request.args.get("saved", "")
    notices = {saved: messages.SETTINGS_SAVED} if saved in SECTIONS else {}
    return await _render(None, notices=notices)


@bp.post("/<section>")
@admin_only
async def save(section: str) -> ResponseReturnValue:
    """Store one section's form: all of it, or nothing with a message beside each wrong field."""
    if section not in SECTIONS:
        abort(404)
    settings, form = get_settings(), await request.form
    base, current = settings.base, settings.loaded.config
    edit = await _read(section, form, base, current)
    if not edit.errors:
        for field, url in edit.addresses:
            try:
                await addresses.check(url, edit.allow_private)
            except addresses.Refused as refusal:
                edit.errors[field] = str(refusal)
    notice = None
    if not edit.errors:
        me = current_user()
        assert me is not None

        async def record(tx: Any, rows: Any, written: dict[str, str]) -> None:
            await forms.record(tx, base, rows, written, me["id"], current_client())

        try:
            await settings.save(section, form.get("seen", ""), edit.change, record)
        except Conflict:
            notice = messages.SETTINGS_CONFLICT
        except Unchanged:
            notice = messages.SETTINGS_UNCHANGED
        except Contradiction as error:
            edit.errors[forms.field_of(error.variable) or "section"] = str(error).partition(": ")[2] or str(
                error
            )
        else:
            if not is_htmx():
                return redirect(
                    url_for("admin_settings.page", saved=section, _anchor=f"settings-{section}"), 303
                )
            notice = messages.SETTINGS_SAVED
    if edit.errors:
        return await _render(section, errors=edit.errors, posted=form, status=200 if is_htmx() else 422)
    return await _render(section, notices={section: notice or ""})


@bp.post("/servers/test")
@admin_only
async def test_server() -> Response:
    """List the models of the server on one row of the form (its typed address, its typed or stored key)."""
    settings, form = get_settings(), await request.form
    current = settings.loaded.config
    row = f"server-{form.get('test', '')}"
    url, key, was = (form.get(f"{row}-{part}", "").strip() for part in ("url", "key", "was"))
    if not key and was:
        key = next((server.api_key for server in current.llm_servers if server.name == was), "")
    allow = current.allow_private_model_servers
    if not pinned(settings.base, "allow_private_model_servers") and "allow_private_model_servers" in form:
        allow = form.get("allow_private_model_servers") == "true"
    found: dict[str, str] = {}
    if not url:
        found[f"{row}-url"] = messages.SERVER_TEST_UNSAVED
    else:
        try:
            await addresses.check(url.rstrip("/"), allow)
        except addresses.Refused as refusal:
            found[f"{row}-url"] = str(refusal)
    if found:
        return await _render("servers", errors=found, posted=form)
    client = OnDemandModel(
        Config(llm_base_url=url.rstrip("/"), openai_api_key=key or "", llm_timeout=current.llm_timeout)
    )
    try:
        names = await client.listed()
        notice = messages.server_listed(sorted(names))
    except Unlisted as failure:
        why = failure.args[0] if failure.args else "no reason given"
        notice = messages.server_unlisted(messages.server_answered(why) if isinstance(why, int) else str(why))
    finally:
        await client.close()
    return await _render("servers", notices={"servers": notice}, posted=form, tested=row)


async def _read(section: str, form: Any, base: Config, current: Config) -> Edit:
    if section == "servers":
        return forms.servers(form, base)
    if section == "models":
        return forms.models(form, base, current, await get_answers().catalog.everything())
    return forms.plain(section, form, base)


async def _render(
    section: str | None,
    errors: dict[str, str] | None = None,
    notices: dict[str, str] | None = None,
    posted: Any = None,
    status: int = 200,
    tested: str = "",
) -> Response:
    """The page, or (for htmx) the one section posted."""
    settings = get_settings()
    base, loaded = settings.base, settings.loaded
    config = loaded.config
    catalog = get_answers().catalog
    listed = await catalog.everything()
    names = dict(config.model_labels)
    models = [
        {
            "key": choice.key,
            "model": choice.model,
            "server": choice.server,
            "enabled": not catalog.is_hidden(choice),
            "label": names.get(choice.key, ""),
            "vision": sees_images(config.vision_models, choice.model, choice.server),
        }
        for choice in listed
    ]
    values = {setting.name: setting.shown(getattr(config, setting.name)) for setting in _all_settings()}
    if posted is not None and section is not None:
        for setting in in_section(section):
            values[setting.name] = (
                "true"
                if setting.kind == "flag" and posted.get(setting.name)
                else posted.get(setting.name, "")
            )
    blocks = (section,) if section else ()
    return await render(
        "admin/settings.html",
        *blocks,
        status=status,
        sections=SECTIONS,
        fields={name: in_section(name) for name in SECTIONS},
        values=values,
        pinned={setting.name: pinned(base, setting.name) for setting in _all_settings()}
        | {
            name: pinned(base, name)
            for name in (SERVERS, "llm_hidden_models", "model_labels", "vision_models", "default_model")
        },
        variables={setting.name: setting.variable for setting in _all_settings()}
        | {
            name: variable_of(name)
            for name in (SERVERS, "llm_hidden_models", "model_labels", "vision_models")
        }
        | {"default_model": "LLM_MODEL" if "llm_model" in base.pinned else "DEFAULT_MODEL"},
        errors=errors or {},
        error_section=section if errors else None,
        notices=notices or {},
        problems=loaded.problems,
        seen={name: fingerprint(loaded.rows, name) for name in SECTIONS},
        primary={"name": primary_server_name(config), "url": config.llm_base_url, "demo": config.demo},
        servers=_servers(config, section == "servers" and posted is not None, posted),
        models=models,
        default_key=catalog.default.key,
        kept_for=await stored_groups.kept_models(get_db()),
        tested=tested,
    )


def _servers(config: Config, from_form: bool, posted: Any) -> list[dict[str, Any]]:
    """The servers' rows: as stored (keys never shown), or as posted when the form comes back with errors."""
    if from_form:
        rows = []
        for number in range(
            int(posted.get("servers", "0") or 0) if str(posted.get("servers", "0")).isdigit() else 0
        ):
            row = f"server-{number}"
            name, url, was = (posted.get(f"{row}-{part}", "") for part in ("name", "url", "was"))
            if name or url or was:
                rows.append({"name": name, "url": url, "was": was, "has_key": bool(was)})
        return rows
    return [
        {"name": server.name, "url": server.base_url, "was": server.name, "has_key": bool(server.api_key)}
        for server in config.llm_servers
    ]


def _all_settings() -> list[Any]:
    return [setting for name in SECTIONS for setting in in_section(name)]
