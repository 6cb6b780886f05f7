"""Queries on folders: a person's named groups of chats, each with instructions its chats inherit."""

from __future__ import annotations

from .base import Executor, Row
from .dialects import utcnow

NAME_CHARS = 100


async def create(db: Executor, owner: str, name: str) -> int:
    """Make a folder for the owner and return its id."""
    result = await db.execute(
        "INSERT INTO folders (owner, name, created_at) VALUES (:owner, :name, :now)",
        {"owner": owner, "name": name, "now": utcnow()},
    )
    assert result.lastrowid is not None
    return result.lastrowid


async def get(db: Executor, folder_id: int, owner: str) -> Row | None:
    """The owner's folder, or None when it is not theirs or does not exist."""
    return await db.fetch_one(
        "SELECT id, owner, name, instructions, created_at FROM folders WHERE id = :id AND owner = :owner",
        {"id": folder_id, "owner": owner},
    )


async def of_owner(db: Executor, owner: str) -> list[Row]:
    """The owner's folders by name."""
    return await db.fetch_all(
        "SELECT id, name FROM folders WHERE owner = :owner ORDER BY name, id", {"owner": owner}
    )


async def rename(db: Executor, folder_id: int, owner: str, name: str) -> bool:
    """Give the owner's folder a new name; False if it is not theirs."""
    if await get(db, folder_id, owner) is None:
        return False
    await db.execute(
        "UPDATE folders SET name = :name WHERE id = :id AND owner = :owner",
        {"name": name, "id": folder_id, "owner": owner},
    )
    return True


async def instruct(db: Executor, folder_id: int, owner: str, instructions: str | None) -> bool:
    """Give the owner's folder the instructions its chats inherit (None: none); False if not theirs."""
    if await get(db, folder_id, owner) is None:
        return False
    await db.execute(
        "UPDATE folders SET instructions = :instructions WHERE id = :id AND owner = :owner",
        {"instructions": instructions, "id": folder_id, "owner": owner},
    )
    return True


async def delete(db: Executor, folder_id: int, owner: str) -> bool:
    """Delete the owner's folder; its chats stay, out of any folder. False if it is not theirs."""
    await db.execute(
        "UPDATE conversations SET folder_id = NULL WHERE folder_id = :id AND owner = :owner",
        {"id": folder_id, "owner": owner},
    )
    result = await db.execute(
        "DELETE FROM folders WHERE id = :id AND owner = :owner", {"id": folder_id, "owner": owner}
    )
    return result.rowcount == 1
