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


@migration
async def m010_users(db: Executor, dialect: str) -> None:
    # People: every owner of stored rows becomes an anonymous user; accounts sign in as themselves.
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE users (
            id {pk},
            owner VARCHAR(64) NOT NULL,
            username VARCHAR(64),
            password_hash VARCHAR(255),
            kind VARCHAR(16) NOT NULL DEFAULT 'anonymous',
            role VARCHAR(16) NOT NULL DEFAULT 'user',
            disabled_at {datetime},
            created_at {datetime} NOT NULL,
            signed_in_at {datetime}
        ) {table_options}""",
        )
    )
    await db.execute("CREATE UNIQUE INDEX users_owner ON users (owner)")
    await db.execute("CREATE UNIQUE INDEX users_username ON users (username)")
    await db.execute(
        "INSERT INTO users (owner, kind, role, created_at)"
        " SELECT owner, 'anonymous', 'user', MIN(created_at) FROM conversations GROUP BY owner",
    )
    # A signed-in session belongs to a user; one of the password gate belongs to nobody.
    await db.execute("ALTER TABLE sessions ADD COLUMN user_id INTEGER")
    await db.execute("CREATE INDEX sessions_user ON sessions (user_id)")


@migration
async def m011_invitations(db: Executor, dialect: str) -> None:
    # One-time links an admin hands out: to make an account, or to set a forgotten password.
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE invitations (
            id CHAR(64) NOT NULL PRIMARY KEY,
            user_id INTEGER,
            created_by INTEGER NOT NULL,
            created_at {datetime} NOT NULL,
            expires_at {datetime} NOT NULL,
            used_at {datetime}
        ) {table_options}""",
        )
    )


@migration
async def m012_audit(db: Executor, dialect: str) -> None:
    # Sign-ins, failed sign-ins and admin actions; failures by name also throttle signing in.
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE audit (
            id {pk},
            at {datetime} NOT NULL,
            action VARCHAR(32) NOT NULL,
            actor_id INTEGER,
            subject VARCHAR(64) NOT NULL DEFAULT '',
            address VARCHAR(64) NOT NULL DEFAULT '',
            detail VARCHAR(255) NOT NULL DEFAULT ''
        ) {table_options}""",
        )
    )
    await db.execute("CREATE INDEX audit_subject ON audit (action, subject, at)")


@migration
async def m013_everyones_history(db: Executor, dialect: str) -> None:
    # An admin's history filters everyone's rows by status and by model, paging by id within each.
    await db.execute("CREATE INDEX exchanges_status ON exchanges (status, id)")
    await db.execute("CREATE INDEX exchanges_model ON exchanges (model, id)")


@migration
async def m014_external_identities(db: Executor, dialect: str) -> None:
    # People signed in by an OpenID provider or a trusted proxy: known by their subject there.
    # A provider's subject is case-sensitive: compared byte for byte on MySQL too.
    binary = " COLLATE utf8mb4_bin" if dialect == "mysql" else ""
    await db.execute(f"ALTER TABLE users ADD COLUMN subject VARCHAR(255){binary}")
    await db.execute("ALTER TABLE users ADD COLUMN email VARCHAR(254)")
    await db.execute("CREATE UNIQUE INDEX users_subject ON users (kind, subject)")


@migration
async def m015_tokens_per_day(db: Executor, dialect: str) -> None:
    # A person's tokens since midnight are summed over their rows of the day, found by this index.
    await db.execute("CREATE INDEX exchanges_owner_created ON exchanges (owner, created_at)")


@migration
async def m016_retention(db: Executor, dialect: str) -> None:
    # RETENTION_DAYS deletes old exchanges, oldest first, except in chats someone chose to keep.
    await db.execute("ALTER TABLE conversations ADD COLUMN keep INTEGER NOT NULL DEFAULT 0")
    await db.execute("CREATE INDEX exchanges_created ON exchanges (created_at, id)")


@migration
async def m020_models_and_servers(db: Executor, dialect: str) -> None:
    # The model chosen is stored with the question, and stays as the one that answered;
    # a conversation remembers the last one chosen in it.
    await db.execute("ALTER TABLE exchanges ADD COLUMN server VARCHAR(100)")
    await db.execute("ALTER TABLE conversations ADD COLUMN model VARCHAR(200)")
    await db.execute("ALTER TABLE conversations ADD COLUMN server VARCHAR(100)")


@migration
async def m021_shares(db: Executor, dialect: str) -> None:
    # A shared link keeps a copy of the conversation as it was when shared: what is asked
    # or regenerated later stays private.
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE shares (
            id {pk},
            token VARCHAR(64) NOT NULL UNIQUE,
            conversation_id {fk} NOT NULL,
            owner VARCHAR(64) NOT NULL,
            title VARCHAR(200) NOT NULL DEFAULT '',
            snapshot {text} NOT NULL,
            created_at {datetime} NOT NULL,
            revoked_at {datetime},
            FOREIGN KEY (conversation_id) REFERENCES conversations (id) ON DELETE CASCADE
        ) {table_options}""",
        )
    )
    await db.execute("CREATE INDEX shares_conversation ON shares (conversation_id, id)")


@migration
async def m022_instructions_and_preferences(db: Executor, dialect: str) -> None:
    # What the model was sent (the whole system prompt, the temperature) stays with each
    # exchange; a conversation may have its own instructions and temperature.
    await db.execute(ddl(dialect, "ALTER TABLE exchanges ADD COLUMN instructions {text}"))
    await db.execute("ALTER TABLE exchanges ADD COLUMN temperature DOUBLE")
    await db.execute(ddl(dialect, "ALTER TABLE conversations ADD COLUMN instructions {text}"))
    await db.execute("ALTER TABLE conversations ADD COLUMN temperature DOUBLE")
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE preferences (
            owner VARCHAR(64) NOT NULL PRIMARY KEY,
            instructions {text},
            model VARCHAR(100),
            server VARCHAR(100),
            theme VARCHAR(8) NOT NULL DEFAULT 'system',
            time_zone VARCHAR(64),
            updated_at {datetime} NOT NULL
        ) {table_options}""",
        )
    )


@migration
async def m050_attachments(db: Executor, dialect: str) -> None:
    # Files asked about: each kept with the exchange it came with (NULL while it is being stored),
    # its text as read, and its bytes in chunks small enough for any MySQL packet or Galera write set.
    blob = "MEDIUMBLOB" if dialect == "mysql" else "BLOB"
    await db.execute(
        ddl(
            dialect,
            f"""
        CREATE TABLE attachments (
            id {{pk}},
            owner VARCHAR(64) NOT NULL,
            exchange_id {{fk}},
            name VARCHAR(255) NOT NULL,
            kind VARCHAR(16) NOT NULL,
            media_type VARCHAR(100) NOT NULL,
            size BIGINT NOT NULL,
            chunks INTEGER NOT NULL DEFAULT 0,
            sha256 CHAR(64) NOT NULL DEFAULT '',
            text {{text}},
            chars INTEGER,
            pages INTEGER,
            read_pages INTEGER,
            cut INTEGER NOT NULL DEFAULT 0,
            width INTEGER,
            height INTEGER,
            thumbnail {blob},
            created_at {{datetime}} NOT NULL,
            FOREIGN KEY (exchange_id) REFERENCES exchanges (id) ON DELETE CASCADE
        ) {{table_options}}""",
        )
    )
    await db.execute("CREATE INDEX attachments_exchange ON attachments (exchange_id, id)")
    await db.execute("CREATE INDEX attachments_owner_created ON attachments (owner, created_at)")
    await db.execute("CREATE INDEX attachments_created ON attachments (created_at)")
    await db.execute(
        ddl(
            dialect,
            f"""
        CREATE TABLE attachment_chunks (
            attachment_id {{fk}} NOT NULL,
            seq INTEGER NOT NULL,
            data {blob} NOT NULL,
            PRIMARY KEY (attachment_id, seq),
            FOREIGN KEY (attachment_id) REFERENCES attachments (id) ON DELETE CASCADE
        ) {{table_options}}""",
        )
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
