"""Groups of people: their names, members and quotas, the models kept for them, and what they used."""

from __future__ import annotations

from collections.abc import Iterable

from .base import Executor, Row
from .dialects import utcnow

NAME_CHARS = 64
# The quotas a group may set, as their columns are named.
QUOTAS = ("questions_per_minute", "answers_at_once", "tokens_per_day")
_COLUMNS = "id, name, questions_per_minute, answers_at_once, tokens_per_day, created_at"


class NameTaken(Exception):
    """Another group already has this name."""


async def create(db: Executor, name: str, key: str) -> int:
    """Store a new group and return its id; NameTaken when another has the name."""
    if await by_key(db, key) is not None:
        raise NameTaken(name)
    result = await db.execute(
        "INSERT INTO user_groups (name, name_key, created_at) VALUES (:name, :key, :now)",
        {"name": name, "key": key, "now": utcnow()},
    )
    assert result.lastrowid is not None
    return result.lastrowid


async def rename(db: Executor, group_id: int, name: str, key: str) -> None:
    """Rename a group; NameTaken when another group has the name."""
    found = await by_key(db, key)
    if found is not None and found["id"] != group_id:
        raise NameTaken(name)
    await db.execute(
        "UPDATE user_groups SET name = :name, name_key = :key WHERE id = :id",
        {"name": name, "key": key, "id": group_id},
    )


async def set_quotas(db: Executor, group_id: int, quotas: dict[str, int | None]) -> None:
    """Set a group's quotas (None: the default)."""
    changes = ", ".join(f"{column} = :{column}" for column in QUOTAS)
    await db.execute(
        f"UPDATE user_groups SET {changes} WHERE id = :id",
        {column: quotas.get(column) for column in QUOTAS} | {"id": group_id},
    )


async def delete(db: Executor, group_id: int) -> bool:
    """Delete a group with its memberships and model rows; False when it was already gone."""
    await db.execute("DELETE FROM group_members WHERE group_id = :id", {"id": group_id})
    await db.execute("DELETE FROM model_groups WHERE group_id = :id", {"id": group_id})
    await db.execute("UPDATE invitations SET group_id = NULL WHERE group_id = :id", {"id": group_id})
    result = await db.execute("DELETE FROM user_groups WHERE id = :id", {"id": group_id})
    return result.rowcount == 1


async def by_id(db: Executor, group_id: int) -> Row | None:
    """The group with this id, or None."""
    return await db.fetch_one(f"SELECT {_COLUMNS} FROM user_groups WHERE id = :id", {"id": group_id})


async def by_key(db: Executor, key: str) -> Row | None:
    """The group whose name compares as `key`, or None."""
    return await db.fetch_one(f"SELECT {_COLUMNS} FROM user_groups WHERE name_key = :key", {"key": key})


async def every(db: Executor) -> list[Row]:
    """Every group by name, with how many members each has."""
    return await db.fetch_all(
        "SELECT user_groups.id, user_groups.name, user_groups.questions_per_minute,"
        " user_groups.answers_at_once, user_groups.tokens_per_day,"
        " (SELECT COUNT(*) FROM group_members WHERE group_members.group_id = user_groups.id) AS members"
        " FROM user_groups ORDER BY user_groups.name_key"
    )


async def members(db: Executor, group_id: int) -> list[Row]:
    """A group's members by name, each saying whether the provider's claim gave the membership."""
    return await db.fetch_all(
        "SELECT users.id, users.username, users.email, users.disabled_at, group_members.claimed"
        " FROM group_members JOIN users ON users.id = group_members.user_id"
        " WHERE group_members.group_id = :id ORDER BY users.username",
        {"id": group_id},
    )


async def add_member(db: Executor, group_id: int, user_id: int, claimed: bool = False) -> None:
    """Make a person a member; a membership an admin gives is kept whatever the provider says later."""
    row = await db.fetch_one(
        "SELECT claimed FROM group_members WHERE group_id = :group AND user_id = :user",
        {"group": group_id, "user": user_id},
    )
    if row is None:
        await db.execute(
            "INSERT INTO group_members (group_id, user_id, claimed, added_at)"
            " SELECT id, :user, :claimed, :now FROM user_groups WHERE id = :group",
            {"group": group_id, "user": user_id, "claimed": int(claimed), "now": utcnow()},
        )
    elif row["claimed"] and not claimed:
        await db.execute(
            "UPDATE group_members SET claimed = 0 WHERE group_id = :group AND user_id = :user",
            {"group": group_id, "user": user_id},
        )


async def remove_member(db: Executor, group_id: int, user_id: int) -> bool:
    """End a membership; False when there was none."""
    result = await db.execute(
        "DELETE FROM group_members WHERE group_id = :group AND user_id = :user",
        {"group": group_id, "user": user_id},
    )
    return result.rowcount == 1


async def claimed_ids(db: Executor, user_id: int) -> set[int]:
    """The groups a person is in because the provider's claim said so."""
    rows = await db.fetch_all(
        "SELECT group_id FROM group_members WHERE user_id = :user AND claimed = 1", {"user": user_id}
    )
    return {int(row["group_id"]) for row in rows}


async def of_person(db: Executor, user_id: int) -> list[Row]:
    """The groups a person is in, by name, with their quotas."""
    return await db.fetch_all(
        "SELECT user_groups.id, user_groups.name, user_groups.questions_per_minute,"
        " user_groups.answers_at_once, user_groups.tokens_per_day, group_members.claimed"
        " FROM group_members JOIN user_groups ON user_groups.id = group_members.group_id"
        " WHERE group_members.user_id = :user ORDER BY user_groups.name_key",
        {"user": user_id},
    )


async def model_access(db: Executor, user_id: int | None) -> dict[str, bool]:
    """Every model kept for some groups (by `model@server`), and whether this person is in one of them."""
    rows = await db.fetch_all(
        "SELECT model_groups.model, MAX(CASE WHEN group_members.user_id IS NULL THEN 0 ELSE 1 END) AS mine"
        " FROM model_groups LEFT JOIN group_members ON group_members.group_id = model_groups.group_id"
        " AND group_members.user_id = :user GROUP BY model_groups.model",
        {"user": user_id if user_id is not None else -1},
    )
    return {row["model"]: bool(row["mine"]) for row in rows}


async def models_of(db: Executor, group_id: int) -> set[str]:
    """The models kept for a group (among others, perhaps)."""
    rows = await db.fetch_all("SELECT model FROM model_groups WHERE group_id = :id", {"id": group_id})
    return {row["model"] for row in rows}


async def groups_of_model(db: Executor, model: str) -> set[int]:
    """The groups a model is kept for (none: it is everyone's)."""
    rows = await db.fetch_all("SELECT group_id FROM model_groups WHERE model = :model", {"model": model})
    return {int(row["group_id"]) for row in rows}


async def kept_models(db: Executor) -> dict[str, list[str]]:
    """Every model kept for some groups, with their names."""
    rows = await db.fetch_all(
        "SELECT model_groups.model, user_groups.name FROM model_groups"
        " JOIN user_groups ON user_groups.id = model_groups.group_id ORDER BY user_groups.name_key"
    )
    kept: dict[str, list[str]] = {}
    for row in rows:
        kept.setdefault(row["model"], []).append(row["name"])
    return kept


async def only_for(db: Executor, group_id: int) -> list[str]:
    """The models kept for this group alone: deleting it would open them to everyone."""
    rows = await db.fetch_all(
        "SELECT mine.model FROM model_groups mine WHERE mine.group_id = :id AND NOT EXISTS"
        " (SELECT 1 FROM model_groups other WHERE other.model = mine.model AND other.group_id <> :id)"
        " ORDER BY mine.model",
        {"id": group_id},
    )
    return [row["model"] for row in rows]


async def keep_model_for(db: Executor, model: str, group_id: int, kept: bool) -> None:
    """Keep a model for a group too, or no longer."""
    params = {"model": model, "group": group_id}
    await db.execute("DELETE FROM model_groups WHERE model = :model AND group_id = :group", params)
    if kept:
        await db.execute(
            "INSERT INTO model_groups (model, group_id) SELECT :model, id FROM user_groups WHERE id = :group",
            params,
        )


async def set_model_groups(db: Executor, model: str, group_ids: Iterable[int]) -> None:
    """Keep a model for exactly these groups (none: everyone may use it)."""
    await db.execute("DELETE FROM model_groups WHERE model = :model", {"model": model})
    for group_id in group_ids:
        await keep_model_for(db, model, group_id, True)


async def quotas_of(db: Executor, user_id: int) -> Row | None:
    """A person's groups' quotas at a glance: how many groups, how many set each, and the highest of each."""
    return await db.fetch_one(
        "SELECT COUNT(*) AS groups_in,"
        " COUNT(user_groups.questions_per_minute) AS questions_per_minute_set,"
        " MAX(user_groups.questions_per_minute) AS questions_per_minute,"
        " COUNT(user_groups.answers_at_once) AS answers_at_once_set,"
        " MAX(user_groups.answers_at_once) AS answers_at_once,"
        " COUNT(user_groups.tokens_per_day) AS tokens_per_day_set,"
        " MAX(user_groups.tokens_per_day) AS tokens_per_day"
        " FROM group_members JOIN user_groups ON user_groups.id = group_members.group_id"
        " WHERE group_members.user_id = :user",
        {"user": user_id},
    )


async def usage(db: Executor, since_day: str) -> dict[int, Row]:
    """Each group's questions and tokens from the usage ledger since a UTC day (`YYYY-MM-DD`), by group id.

    A person in two groups counts in both.
    """
    rows = await db.fetch_all(
        "SELECT group_members.group_id, COUNT(*) AS questions,"
        " SUM(COALESCE(usage_ledger.prompt_tokens, 0) + COALESCE(usage_ledger.completion_tokens, 0))"
        " AS tokens FROM usage_ledger JOIN users ON users.owner = usage_ledger.owner"
        " JOIN group_members ON group_members.user_id = users.id"
        " WHERE usage_ledger.day >= :day GROUP BY group_members.group_id",
        {"day": since_day},
    )
    return {int(row["group_id"]): row for row in rows}
