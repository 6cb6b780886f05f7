"""The settings an admin may change in the browser: each one's section, label, form and text.

A setting is kept as the text its environment variable would hold (`SIGN_UP=invite`), and
read back through that variable's own parser in config.py, so the page, the database and
the environment agree on what a value means. Model servers are kept as JSON, their keys sealed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from .. import messages
from ..config import Config, Rate

SECTIONS = ("servers", "models", "behaviour", "people", "retention")
SERVERS = "llm_servers"
_FIELDS = {field.name: field for field in fields(Config)}


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting on the page: the Config field it fills, where it sits and how its input looks."""

    name: str
    section: str
    label: str
    kind: str  # text, textarea, whole, number, flag, choice, list, per_minute
    help: str = ""
    choices: tuple[str, ...] = ()

    @property
    def variable(self) -> str:
        """The environment variable that pins it."""
        return _FIELDS[self.name].metadata["variables"][0]

    def parse(self, text: str) -> Any:
        """The value its variable's text stands for; ValueError saying what it must be."""
        return _FIELDS[self.name].metadata["parse"](text)

    def text(self, value: Any) -> str:
        """A value as its variable's text."""
        return as_text(value)

    def shown(self, value: Any) -> str:
        """A value as its form field shows it."""
        if self.kind == "per_minute" and isinstance(value, Rate):
            return f"{value.count * 60 / value.seconds:g}"
        if self.kind == "list":
            return "\n".join(sorted(value) if isinstance(value, frozenset) else value)
        return as_text(value)

    def from_form(self, form: Any) -> str:
        """The variable's text a posted form gives (ValueError saying what it must be)."""
        raw = form.get(self.name, "")
        if self.kind == "flag":
            return "true" if raw else "false"
        raw = raw.strip()
        if self.kind == "per_minute":
            if not re.fullmatch(r"\d{1,9}", raw) or int(raw) < 1:
                raise ValueError(messages.MUST_BE_POSITIVE_WHOLE)
            return f"{int(raw)}/minute"
        if self.kind == "list":
            return ",".join(part.strip() for part in re.split(r"[\n,]", raw) if part.strip())
        if self.kind in ("whole", "number", "choice") and not raw:
            raise ValueError(messages.MUST_BE_GIVEN)
        return raw.replace("\r\n", "\n") if self.kind == "textarea" else raw


def as_text(value: Any) -> str:
    """A Config value written as its environment variable's text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Rate):
        return f"{value.count}/{value.seconds:g}s"
    if isinstance(value, frozenset):
        return ",".join(sorted(value))
    if isinstance(value, tuple):
        return ",".join(f"{item[0]}={item[1]}" if isinstance(item, tuple) else str(item) for item in value)
    return "" if value is None else str(value)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "allow_private_model_servers",
        "servers",
        "Allow servers on this machine or a private network",
        "flag",
        "Servers on 127.0.0.1, 10.0.0.0/8, 192.168.0.0/16 and the like; never a cloud's metadata address.",
    ),
    Setting(
        "system_prompt", "behaviour", "System prompt", "textarea", "Sent to the model before every chat."
    ),
    Setting("temperature_min", "behaviour", "Lowest temperature", "number", "From 0 to 2."),
    Setting("temperature_max", "behaviour", "Highest temperature", "number", "From 0 to 2."),
    Setting(
        "context_size",
        "behaviour",
        "Earlier exchanges sent",
        "whole",
        "How many exchanges of a chat the model sees.",
    ),
    Setting(
        "context_tokens",
        "behaviour",
        "Tokens of earlier exchanges sent",
        "whole",
        "The oldest are left out beyond this many (estimated); 0: no limit but the count above.",
    ),
    Setting("max_question_chars", "behaviour", "Longest question (characters)", "whole"),
    Setting("sign_up", "people", "Sign-up", "choice", "", ("invite", "open", "closed")),
    Setting(
        "admin_emails", "people", "Admin e-mails", "list", "One per line; they are admins when they sign in."
    ),
    Setting("ask_rate", "people", "Questions per minute, per person", "per_minute"),
    Setting("max_streams_per_client", "people", "Answers at once, per person", "whole"),
    Setting("tokens_per_day", "people", "Tokens per day, per person", "whole", "0: no limit."),
    Setting("public_shares", "people", "Allow links anyone can open", "flag"),
    Setting(
        "retention_days", "retention", "Keep questions and answers for (days)", "whole", "0: keep forever."
    ),
    Setting(
        "retention_spares_api",
        "retention",
        "Keep API calls for ever",
        "flag",
        "Kept chats are always spared.",
    ),
    Setting(
        "audit_retention_days", "retention", "Keep the audit trail for (days)", "whole", "0: keep forever."
    ),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}
# The models section's settings: their values are made from one row per model.
MODEL_SETTINGS = ("llm_hidden_models", "model_labels", "vision_models", "default_model")
# Each stored name, and what pins it (the default model is also pinned by LLM_MODEL).
PINNED_BY: dict[str, tuple[str, ...]] = {
    **{setting.name: (setting.name,) for setting in SETTINGS},
    SERVERS: (SERVERS,),
    "llm_hidden_models": ("llm_hidden_models",),
    "model_labels": ("model_labels",),
    "vision_models": ("vision_models",),
    "default_model": ("default_model", "llm_model"),
}
SECRET_NAMES: frozenset[str] = frozenset({SERVERS})


def variable_of(name: str) -> str:
    """The environment variable of a stored setting's name."""
    return _FIELDS[name].metadata["variables"][0]


def parser_of(name: str) -> Callable[[str], Any]:
    """How a stored setting's text is read (its variable's parser)."""
    return _FIELDS[name].metadata["parse"]


def pinned(config: Config, name: str) -> bool:
    """Whether the environment sets this setting, so the page only shows it."""
    return any(field in config.pinned for field in PINNED_BY[name])


def in_section(section: str) -> list[Setting]:
    """The plain settings of a section, in page order."""
    return [setting for setting in SETTINGS if setting.section == section]


def names_of(section: str) -> list[str]:
    """Every stored name a section writes."""
    if section == "servers":
        return [SERVERS, *(setting.name for setting in in_section(section))]
    if section == "models":
        return list(MODEL_SETTINGS)
    return [setting.name for setting in in_section(section)]
