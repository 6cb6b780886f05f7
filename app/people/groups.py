"""Groups as they shape what a person may do: their names checked, the models they open, the provider's claim.

Memberships are read from the database on each request that needs them (once per request,
kept on `g`), never across requests: removing someone from a group takes effect on their
next request, on every instance.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from quart import g

from .. import messages
from ..model.catalog import Choice, Permitted
from ..storage import Executor, Row, get_db, groups
from ..storage.users import normal_name
from .identity import current_user

log = logging.getLogger(__name__)


class Refusal(Exception):
    """A group cannot be made, named or changed as asked; the message says why, beside its field."""

    def __init__(self, message: str, field: str = "name") -> None:
        super().__init__(message)
        self.field = field


def group_name(raw: str) -> tuple[str, str]:
    """A group's name as typed (blanks collapsed) and as compared; Refusal when empty or too long."""
    name = " ".join(raw.split())
    if not name:
        raise Refusal(messages.GROUP_NAME_MISSING)
    if len(name) > groups.NAME_CHARS:
        raise Refusal(messages.group_name_too_long(groups.NAME_CHARS))
    return name, normal_name(name)[: groups.NAME_CHARS]


async def create(db: Executor, raw: str) -> int:
    """Make a group named `raw`; Refusal when the name is empty, too long or taken."""
    name, key = group_name(raw)
    try:
        return await groups.create(db, name, key)
    except groups.NameTaken:
        raise Refusal(messages.group_name_taken(name)) from None


async def rename(db: Executor, group_id: int, raw: str) -> None:
    """Rename a group; Refusal when the name is empty, too long or another group's."""
    name, key = group_name(raw)
    try:
        await groups.rename(db, group_id, name, key)
    except groups.NameTaken:
        raise Refusal(messages.group_name_taken(name)) from None


def quota_values(form: Mapping[str, str]) -> dict[str, int | None]:
    """A group's quotas from a form: each a positive whole number, or blank for the default."""
    values: dict[str, int | None] = {}
    for field in groups.QUOTAS:
        raw = (form.get(field) or "").strip().replace(",", "")
        if not raw:
            values[field] = None
            continue
        if not raw.isdigit() or not 0 < int(raw) < 2**31:
            raise Refusal(messages.QUOTA_NOT_A_NUMBER, field)
        values[field] = int(raw)
    return values


async def permitted() -> Permitted:
    """The models the person on this request may use: those kept for no group, and those of their groups."""
    if "permitted_models" not in g:
        user = current_user()
        g.permitted_models = await groups.model_access(get_db(), user["id"] if user is not None else None)
    access: dict[str, bool] = g.permitted_models

    def allowed(choice: Choice) -> bool:
        return access.get(choice.key, True)

    return allowed


async def sync_claimed(db: Executor, user: Row, names: Iterable[str]) -> None:
    """Make a person's claim-given memberships the groups the provider names now (made when missing).

    The memberships an admin gave stay, whatever the claim says.
    """
    wanted: set[int] = set()
    for raw in names:
        try:
            name, key = group_name(raw)
        except Refusal:
            log.warning("a group named by the provider's claim is skipped: its name is empty or too long")
            continue
        found = await groups.by_key(db, key)
        wanted.add(found["id"] if found is not None else await groups.create(db, name, key))
    had = await groups.claimed_ids(db, user["id"])
    for group_id in had - wanted:
        await groups.remove_member(db, group_id, user["id"])
    for group_id in wanted - had:
        await groups.add_member(db, group_id, user["id"], claimed=True)
