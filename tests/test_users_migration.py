"""The upgrade to people: every owner of stored rows becomes an anonymous user, and no row is lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from app.storage import Database, migrate, open_database
from app.storage.migrations import MIGRATIONS


@asynccontextmanager
async def migrated_before(database_url, request, monkeypatch, step: str) -> AsyncIterator[Database]:
    """An empty database migrated up to (not including) `step`; the later steps apply on `migrate` again."""
    if database_url.startswith("mysql://"):
        request.getfixturevalue("mysql").drop_tables()
    else:
        Path(database_url.removeprefix("sqlite:///")).unlink()
    db = open_database(database_url)
    await db.open()
    try:
        monkeypatch.setattr("app.storage.migrations.MIGRATIONS", [one for one in MIGRATIONS if one[0] < step])
        await migrate(db)
        monkeypatch.undo()
        yield db
    finally:
        await db.close()


async def test_existing_owners_become_anonymous_users_without_losing_a_row(
    database_url, request, monkeypatch
):
    async with migrated_before(database_url, request, monkeypatch, "m010") as db:
        # Rows as the schema before people held them (today's storage functions know newer columns).
        at = {"t": "2026-01-01 00:00:00.000000"}
        for owner, chats in (("browser-one", 3), ("browser-two", 1)):
            for number in range(chats):
                chat = await db.execute(
                    "INSERT INTO conversations (owner, title, created_at, updated_at)"
                    " VALUES (:owner, :title, :t, :t)",
                    {"owner": owner, "title": f"{owner} chat {number}", **at},
                )
                await db.execute(
                    "INSERT INTO exchanges (conversation_id, owner, question, created_at)"
                    " VALUES (:chat, :owner, :question, :t)",
                    {
                        "chat": chat.lastrowid,
                        "owner": owner,
                        "question": f"question {number} of {owner}",
                        **at,
                    },
                )
        await db.execute(
            "INSERT INTO sessions (id, owner, created_at, seen_at) VALUES ('x', 'browser-one', :t, :t)",
            {"t": "2026-01-01 00:00:00.000000"},
        )
        applied = await migrate(db)
        assert "m010_users" in applied
        people = await db.fetch_all("SELECT owner, kind, role, username FROM users ORDER BY owner")
        assert people == [
            {"owner": "browser-one", "kind": "anonymous", "role": "user", "username": None},
            {"owner": "browser-two", "kind": "anonymous", "role": "user", "username": None},
        ]
        counts = await db.fetch_one(
            "SELECT (SELECT COUNT(*) FROM conversations) AS chats, (SELECT COUNT(*) FROM exchanges) AS asked,"
            " (SELECT COUNT(*) FROM sessions) AS sessions"
        )
        assert counts == {"chats": 4, "asked": 4, "sessions": 1}
