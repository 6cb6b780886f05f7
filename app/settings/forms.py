"""A settings section's form read into the rows it would store, and the audit lines a change writes.

Each reader returns the stored rows a form asks for (made from the rows stored when it is
saved, so a server's sealed key is kept) and the problems beside each field; nothing is
stored while any field has one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from .. import messages
from ..config import Config, _http_url, _server_name
from ..files import sees_images
from ..model.catalog import Choice
from ..storage import audit
from .fields import SERVERS, SETTINGS, as_text, in_section, pinned, variable_of
from .sealing import seal

CHANGED = "changed a setting"
AUDIT_PART_CHARS = 120


class Form(Protocol):
    """A posted form, as Quart's MultiDict reads it."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def getlist(self, key: str) -> list[str]: ...


@dataclass(slots=True)
class Edit:
    """What a posted section asks for: `change` makes the rows to store from those stored; `errors`."""

    change: Callable[[Mapping[str, str]], dict[str, str]]
    errors: dict[str, str] = field(default_factory=dict)
    # Server URLs to check for where they point before anything is stored (field id, URL).
    addresses: list[tuple[str, str]] = field(default_factory=list)
    allow_private: bool = False


def plain(section: str, form: Form, base: Config) -> Edit:
    """A section of plain settings: each field's text read by its variable's parser."""
    texts: dict[str, str] = {}
    errors: dict[str, str] = {}
    for setting in in_section(section):
        if pinned(base, setting.name):
            continue
        try:
            text = setting.from_form(form)
            setting.parse(text)
        except ValueError as error:
            errors[setting.name] = messages.setting_must(setting.label, str(error))
            continue
        texts[setting.name] = text

    def change(rows: Mapping[str, str]) -> dict[str, str]:
        return {name: text for name, text in texts.items() if _differs(rows, base, name, text)}

    allow = texts.get("allow_private_model_servers", as_text(base.allow_private_model_servers)) == "true"
    return Edit(change, errors, allow_private=allow)


def servers(form: Form, base: Config, seal_key: Callable[[str], str] | None = None) -> Edit:
    """The servers section: rows of name, address and key (blank keeps the stored key), and the switch."""
    edit = plain("servers", form, base)
    if pinned(base, SERVERS):
        return edit
    seal_key = seal_key or (lambda plain: seal(plain, base.secret_key))
    wanted: list[tuple[str, str, str, str]] = []  # name, url, typed key, former name
    names: set[str] = set()
    for number in range(int(form.get("servers", "0") or 0) if str(form.get("servers", "0")).isdigit() else 0):
        row = f"server-{number}"
        name = (form.get(f"{row}-name") or "").strip()
        url = (form.get(f"{row}-url") or "").strip()
        key = (form.get(f"{row}-key") or "").strip()
        was = (form.get(f"{row}-was") or "").strip()
        if form.get(f"{row}-remove") or not (name or url or key or was):
            continue
        try:
            _server_name(name)
        except ValueError as error:
            edit.errors[f"{row}-name"] = messages.setting_must("The name", str(error))
        if name in names:
            edit.errors[f"{row}-name"] = messages.SERVER_NAME_TWICE
        names.add(name)
        try:
            url = _http_url(url)
            edit.addresses.append((f"{row}-url", url))
        except ValueError:
            edit.errors[f"{row}-url"] = messages.SERVER_NEEDS_URL if not url else messages.SERVER_URL_UNPARSED
        wanted.append((name, url, key, was))
    plain_change = edit.change

    def change(rows: Mapping[str, str]) -> dict[str, str]:
        written = plain_change(rows)
        stored = {entry["name"]: entry for entry in _stored_servers(rows)}
        listed = []
        for name, url, key, was in wanted:
            kept = stored.get(was, {}).get("key", "") if was else ""
            listed.append({"name": name, "url": url, "key": seal_key(key) if key else kept})
        same = [(s["name"], s["url"], s["key"]) for s in listed] == [
            (s["name"], s["url"], s.get("key", "")) for s in stored.values()
        ]
        if not same:
            written[SERVERS] = orjson.dumps(listed).decode()
        return written

    edit.change = change
    return edit


def models(form: Form, base: Config, current: Config, listed: list[Choice]) -> Edit:
    """The models section: per model enabled, display name and vision, and the default."""
    errors: dict[str, str] = {}
    rows: list[tuple[Choice, bool, str, bool]] = []
    keys = {choice.key: choice for choice in listed}
    for number in range(len(form.getlist("model"))):
        key = form.getlist("model")[number]
        if key not in keys:
            continue
        label = (form.get(f"label-{number}") or "").strip()
        if len(label) > 60 or "," in label:
            errors[f"label-{number}"] = messages.LABEL_NO_COMMA
        rows.append(
            (keys[key], bool(form.get(f"enabled-{number}")), label, bool(form.get(f"vision-{number}")))
        )
    chosen = (form.get("default") or "").strip()
    mine = {choice.key for choice, *_ in rows}
    hidden = [entry for entry in current.llm_hidden_models if entry not in mine]
    hidden += [choice.key for choice, enabled, _, _ in rows if not enabled]
    labels = [(key, name) for key, name in current.model_labels if key not in mine]
    labels += [(choice.key, label) for choice, _, label, _ in rows if label]
    others = tuple(p for p in current.vision_models if p.removeprefix("!") not in mine)
    vision = [f"!{c.key}" for c, _, _, sees in rows if not sees and sees_images(others, c.model, c.server)]
    vision += [c.key for c, _, _, sees in rows if sees and not sees_images(others, c.model, c.server)]
    texts = {
        "llm_hidden_models": ",".join(dict.fromkeys(hidden)),
        "model_labels": ",".join(f"{key}={name}" for key, name in labels),
        "vision_models": ",".join([*vision, *others]),
    }
    if chosen and chosen in mine:
        if chosen in hidden:
            errors["default"] = messages.DEFAULT_MUST_BE_ENABLED
        texts["default_model"] = chosen
    texts = {name: text for name, text in texts.items() if not pinned(base, name)}

    def change(rows: Mapping[str, str]) -> dict[str, str]:
        return {
            name: text
            for name, text in texts.items()
            if text != rows.get(name, as_text(getattr(current, name)))
            and (name in rows or text != as_text(getattr(base, name)))
        }

    return Edit(change, errors)


def _differs(rows: Mapping[str, str], base: Config, name: str, text: str) -> bool:
    """Whether storing this text changes the setting (a default left as it is is not stored)."""
    if name in rows:
        return rows[name] != text
    return text != as_text(getattr(base, name))


def _stored_servers(rows: Mapping[str, str]) -> list[dict[str, str]]:
    try:
        listed = orjson.loads(rows.get(SERVERS, "[]"))
    except orjson.JSONDecodeError:
        return []
    return [entry for entry in listed if isinstance(entry, dict)] if isinstance(listed, list) else []


async def record(
    tx: Any, base: Config, rows: Mapping[str, str], written: Mapping[str, str], actor_id: int, address: str
) -> None:
    """One audit line per setting changed: who, when, the value before and after (a secret only "changed")."""
    for name, text in written.items():
        if name == SERVERS:
            for detail in _server_changes(_stored_servers(rows), _stored_servers(written)):
                await audit.record(
                    tx, CHANGED, actor_id=actor_id, subject=variable_of(name), address=address, detail=detail
                )
            continue
        before = rows.get(name, as_text(getattr(base, name)))
        detail = f"{_cut(before)} → {_cut(text)}"
        await audit.record(
            tx, CHANGED, actor_id=actor_id, subject=variable_of(name), address=address, detail=detail
        )


def _server_changes(before: list[dict[str, str]], after: list[dict[str, str]]) -> list[str]:
    """What changed among the servers, in words, keys only as "key changed"."""
    old = {entry["name"]: entry for entry in before}
    new = {entry["name"]: entry for entry in after}
    lines = [f"removed {name} ({_cut(old[name]['url'])})" for name in old if name not in new]
    for name, entry in new.items():
        if name not in old:
            lines.append(
                f"added {name} ({_cut(entry['url'])})" + (", with a key" if entry.get("key") else "")
            )
            continue
        if entry["url"] != old[name]["url"]:
            lines.append(f"{name}: {_cut(old[name]['url'])} → {_cut(entry['url'])}")
        if entry.get("key", "") != old[name].get("key", ""):
            lines.append(f"{name}: key changed")
    return lines


def _cut(text: str) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= AUDIT_PART_CHARS else text[: AUDIT_PART_CHARS - 1] + "…"


def field_of(variable: str) -> str:
    """The form field to show a problem beside, from the variable a check named."""
    for setting in SETTINGS:
        if setting.variable == variable:
            return setting.name
    return {"LLM_SERVERS": "server-0-name", "DEFAULT_MODEL": "default"}.get(variable, "")
