"""Schema changes as small numbered steps, each recorded once in the migrations table."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from .base import Database, Executor
from .dialects import TIME_FORMAT, ddl, search_index, utcnow

log = logging.getLogger(__name__)

Step = Callable[[Executor, str], Awaitable[None]]
MIGRATIONS: list[tuple[str, Step]] = []


def migration(step: Step) -> Step:
    """Register a step; its name orders it, so name steps m001_, m002_, …"""
    MIGRATIONS.append((step.__name__, step))
    return step


@migration
async def m001_conversations_and_exchanges(db: Executor, dialect: str) -> None:
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE conversations (
            id {pk},
            owner VARCHAR(64) NOT NULL,
            title VARCHAR(200) NOT NULL DEFAULT '',
            created_at {datetime} NOT NULL,
            updated_at {datetime} NOT NULL
        ) {table_options}""",
        )
    )
    await db.execute("CREATE INDEX conversations_owner ON conversations (owner, updated_at, id)")
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE exchanges (
            id {pk},
            conversation_id {fk} NOT NULL,
            owner VARCHAR(64) NOT NULL,
            question {text} NOT NULL,
            answer {text},
            status VARCHAR(16) NOT NULL DEFAULT 'pending',
            model VARCHAR(100),
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            latency_ms INTEGER,
            error VARCHAR(1000),
            created_at {datetime} NOT NULL,
            answered_at {datetime},
            FOREIGN KEY (conversation_id) REFERENCES conversations (id) ON DELETE CASCADE
        ) {table_options}""",
        )
    )
    await db.execute("CREATE INDEX exchanges_conversation ON exchanges (conversation_id, id)")
    await db.execute("CREATE INDEX exchanges_owner ON exchanges (owner, id)")


@migration
async def m002_search_index(db: Executor, dialect: str) -> None:
    for statement in search_index(dialect):
        await db.execute(statement)


@migration
async def m003_ask_key(db: Executor, dialect: str) -> None:
    # The composer form's one-time key: a question re-sent after a lost reply is stored once.
    await db.execute("ALTER TABLE exchanges ADD COLUMN ask_key VARCHAR(64)")
    await db.execute("CREATE UNIQUE INDEX exchanges_ask_key ON exchanges (owner, ask_key)")


@migration
async def m004_history_filters(db: Executor, dialect: str) -> None:
    # The history page filters by status and by model and pages by id within each.
    await db.execute("CREATE INDEX exchanges_owner_status ON exchanges (owner, status, id)")
    await db.execute("CREATE INDEX exchanges_owner_model ON exchanges (owner, model, id)")


@migration
async def m005_sessions(db: Executor, dialect: str) -> None:
    # Signed-in sessions live on the server too, so signing out revokes a copied cookie.
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE sessions (
            id CHAR(64) NOT NULL PRIMARY KEY,
            owner VARCHAR(64) NOT NULL,
            created_at {datetime} NOT NULL,
            seen_at {datetime} NOT NULL
        ) {table_options}""",
        )
    )
    await db.execute("CREATE INDEX sessions_owner ON sessions (owner)")
    await db.execute("CREATE INDEX sessions_seen ON sessions (seen_at)")


@migration
async def m006_answer_leases(db: Executor, dialect: str) -> None:
    # A running answer holds a lease its process renews; a lapsed one is finished by any
    # instance's sweeper. A pending question's lease is the time by which someone should claim it.
    await db.execute("ALTER TABLE exchanges ADD COLUMN lease_owner VARCHAR(32)")
    await db.execute(ddl(dialect, "ALTER TABLE exchanges ADD COLUMN lease_until {datetime}"))
    await db.execute("CREATE INDEX exchanges_lease ON exchanges (status, lease_until)")
    # Answers live at the upgrade get a minute before the sweeper may take them.
    soon = (datetime.now(UTC) + timedelta(minutes=1)).strftime(TIME_FORMAT)
    await db.execute(
        "UPDATE exchanges SET lease_until = :soon WHERE status IN ('pending', 'streaming', 'stopping')",
        {"soon": soon},
    )


@migration
async def m007_versions(db: Executor, dialect: str) -> None:
    # Every answer is kept: Regenerate and Edit add an exchange beside the one they redo
    # (same parent), and a conversation is a tree whose branch on screen is the model's
    # context. The parent of a conversation's first exchanges is 0.
    await db.execute(ddl(dialect, "ALTER TABLE exchanges ADD COLUMN parent_id {fk} NOT NULL DEFAULT 0"))
    await link_branches(db, dialect)
    await db.execute("CREATE INDEX exchanges_versions ON exchanges (conversation_id, parent_id, id)")


async def link_branches(db: Executor, dialect: str) -> None:
    """Make each conversation stored before versions one branch: every exchange follows the one before it."""
    earlier = (
        "SELECT MAX(p.id) FROM exchanges p"
        " WHERE p.conversation_id = {row}.conversation_id AND p.id < {row}.id"
    )
    if dialect == "mysql":
        # MySQL cannot read the table an UPDATE writes, except through a derived table.
        await db.execute(
            "UPDATE exchanges e JOIN (SELECT c.id, ({}) AS parent FROM exchanges c) t ON t.id = e.id"
            " SET e.parent_id = t.parent WHERE t.parent IS NOT NULL".format(earlier.format(row="c"))
        )
    else:
        await db.execute(
            "UPDATE exchanges SET parent_id = COALESCE(({}), 0)".format(earlier.format(row="exchanges"))
        )


async def migrate(db: Database) -> list[str]:
    """Apply the steps not yet recorded, in order, and return their names."""
    await db.execute(
        ddl(
            db.dialect,
            """
        CREATE TABLE IF NOT EXISTS migrations (
            name VARCHAR(100) NOT NULL PRIMARY KEY,
            applied_at {datetime} NOT NULL
        ) {table_options}""",
        )
    )
    applied: list[str] = []
    async with db.transaction() as tx:
        if db.dialect == "mysql":
            # Several processes may start at once; one applies, the others wait.
            await tx.fetch_one("SELECT GET_LOCK('answers_migrations', 60) AS locked")
        try:
            done = {row["name"] for row in await tx.fetch_all("SELECT name FROM migrations")}
            for name, step in sorted(MIGRATIONS):
                if name in done:
                    continue
                log.info("applying migration %s", name)
                await step(tx, db.dialect)
                await tx.execute(
                    "INSERT INTO migrations (name, applied_at) VALUES (:name, :now)",
                    {"name": name, "now": utcnow()},
                )
                applied.append(name)
        finally:
            if db.dialect == "mysql":
                await tx.fetch_one("SELECT RELEASE_LOCK('answers_migrations') AS released")
    return applied
