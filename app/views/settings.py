"""A person's own settings, and a conversation's own instructions and temperature."""

from __future__ import annotations

import math
from functools import cache
from zoneinfo import available_timezones

from quart import Blueprint, Response, redirect, request, session, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..answers import NotFound, get_answers
from ..config import current_config
from ..people import groups
from ..people.access import signed_in_only
from ..people.identity import owner
from ..storage import Row, conversations, get_db, preferences
from ..web.htmx import render

bp = Blueprint("settings", __name__)

THEMES = ("system", "light", "dark")
MAX_INSTRUCTIONS_CHARS = 4000


@cache
def time_zones() -> tuple[str, ...]:
    """Every IANA time zone this machine knows, sorted."""
    return tuple(sorted(available_timezones()))


@bp.get("/settings")
@signed_in_only
async def show() -> Response:
    """The settings form, filled with what the person saved."""
    saved = await preferences.get(get_db(), owner()) or {}
    return await _settings_page(saved)


@bp.post("/settings")
@signed_in_only
async def save() -> ResponseReturnValue:
    """Save the person's settings; a bad value is said plainly and nothing typed is lost."""
    form = await request.form
    values: Row = {
        "theme": form.get("theme", "system"),
        "instructions": (form.get("instructions") or "").strip() or None,
        "time_zone": (form.get("time_zone") or "").strip() or None,
        "model": None,
        "server": None,
    }
    problem = None
    if values["theme"] not in THEMES:
        problem = messages.PICK_A_THEME
    elif values["instructions"] and len(values["instructions"]) > MAX_INSTRUCTIONS_CHARS:
        problem = messages.instructions_too_long(MAX_INSTRUCTIONS_CHARS)
    elif values["time_zone"] and values["time_zone"] not in time_zones():
        problem = messages.UNKNOWN_TIME_ZONE
    elif key := form.get("model"):
        choice = await get_answers().catalog.find(key, await groups.permitted())
        if choice is None:
            problem = messages.MODEL_UNAVAILABLE
        else:
            values |= {"model": choice.model, "server": choice.server}
    if problem:
        return await _settings_page(values | {"chosen": form.get("model")}, problem, 422)
    await get_db().transact(lambda tx: preferences.save(tx, owner(), values))
    # Kept in the session too, so that pages show them without asking the database.
    session["theme"] = values["theme"]
    session["time_zone"] = values["time_zone"]
    return redirect(url_for("settings.show", saved=1), 303)


@bp.get("/c/<int:conversation_id>/instructions")
@signed_in_only
async def conversation(conversation_id: int) -> Response:
    """A conversation's own instructions and temperature."""
    found = await _own(conversation_id)
    return await _instructions_page(found, found["instructions"], found["temperature"])


@bp.post("/c/<int:conversation_id>/instructions")
@signed_in_only
async def instruct(conversation_id: int) -> ResponseReturnValue:
    """Save a conversation's instructions and temperature (empty: the defaults)."""
    found = await _own(conversation_id)
    form = await request.form
    instructions = (form.get("instructions") or "").strip() or None
    raw = (form.get("temperature") or "").strip()
    config = current_config()
    temperature, problem = None, None
    if instructions and len(instructions) > MAX_INSTRUCTIONS_CHARS:
        problem = messages.instructions_too_long(MAX_INSTRUCTIONS_CHARS)
    elif raw:
        try:
            temperature = float(raw)
        except ValueError:
            temperature = math.nan
        if not config.temperature_min <= temperature <= config.temperature_max:
            problem = messages.temperature_between(config.temperature_min, config.temperature_max)
    if problem:
        return await _instructions_page(found, instructions, raw, problem, 422)
    await conversations.instruct(get_db(), conversation_id, owner(), instructions, temperature)
    return redirect(url_for("chat.show", conversation_id=conversation_id), 303)


async def _settings_page(values: Row, error: str | None = None, status: int = 200) -> Response:
    catalog = get_answers().catalog
    chosen = values.get("chosen")
    if chosen is None and values.get("server"):
        chosen = f"{values['model']}@{values['server']}"
    return await render(
        "settings/index.html",
        status=status,
        values=values,
        error=error,
        saved=request.args.get("saved") == "1" and error is None,
        themes=THEMES,
        zones=time_zones(),
        models=await catalog.choices(await groups.permitted()),
        chosen=chosen,
        max_instructions_chars=MAX_INSTRUCTIONS_CHARS,
    )


async def _instructions_page(
    found: Row, instructions: str | None, temperature: object, error: str | None = None, status: int = 200
) -> Response:
    config = current_config()
    return await render(
        "settings/conversation.html",
        status=status,
        conversation=found,
        instructions=instructions or "",
        temperature="" if temperature is None else temperature,
        error=error,
        low=config.temperature_min,
        high=config.temperature_max,
        default_temperature=config.temperature,
        max_instructions_chars=MAX_INSTRUCTIONS_CHARS,
    )


async def _own(conversation_id: int) -> Row:
    found = await conversations.get(get_db(), conversation_id, owner())
    if found is None:
        raise NotFound(messages.NOT_YOURS)
    return found
