"""Whose rows an admin's filter names: an account by its id, an account by its name, or an anonymous owner."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..storage import Executor, users
from .ids import parse_id

# The query parameters that name a person: a name typed in the filter first (it replaces a person
# chosen by a link), then an account's id, then an anonymous owner's id.
PARAMETERS = ("name", "user", "owner")
OWNER_CHARS = 64


@dataclass(frozen=True, slots=True)
class Whose:
    """A person as an address names them (`parameter=value`), their rows' owner ('' if nobody), their name."""

    parameter: str = ""
    value: str = ""
    owner: str = ""
    label: str = ""

    def args(self) -> dict[str, str]:
        """The person as query arguments (none when the filter names nobody)."""
        return {self.parameter: self.value} if self.parameter else {}


async def whose(db: Executor, args: Mapping[str, str]) -> Whose:
    """The person named by `name` (an account's name, as typed), `user` (its id) or `owner` (an owner id).

    A value that names nobody filters to nobody, never to everyone.
    """
    for parameter in PARAMETERS:
        value = args.get(parameter, "").strip()[:OWNER_CHARS]
        if not value:
            continue
        if parameter == "user":
            user_id = parse_id(value)
            person = await users.by_id(db, user_id) if user_id is not None else None
        elif parameter == "name":
            person = await users.by_username(db, users.username_key(value))
        else:
            person = await users.by_owner(db, value)
            return Whose(
                parameter, value, value, person["username"] if person and person["username"] else value
            )
        if person is None:
            return Whose(parameter, value, "", value)
        return Whose(
            parameter, value, person["owner"], person["username"] or f"anonymous {person['owner'][:6]}"
        )
    return Whose()
