"""Schema changes as small numbered steps, each recorded once in the migrations table."""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import orjson

from .base import Database, Executor
from .dialects import TIME_FORMAT, ddl, search_index, title_search_index, utcnow

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
async def m030_links_end(db: Executor, dialect: str) -> None:
    # A link can be revoked, and ends with its maker's rights: found by whom it is for and who made it.
    await db.execute(ddl(dialect, "ALTER TABLE invitations ADD COLUMN revoked_at {datetime}"))
    await db.execute("CREATE INDEX invitations_person ON invitations (user_id)")
    await db.execute("CREATE INDEX invitations_maker ON invitations (created_by)")


@migration
async def m031_locks(db: Executor, dialect: str) -> None:
    # A row to lock where a decision needs one writer at a time on every engine and instance:
    # whether anyone has an account yet (so whether sign-up is open, and who is the admin).
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE locks (
            name VARCHAR(32) NOT NULL PRIMARY KEY,
            taken INTEGER NOT NULL DEFAULT 0
        ) {table_options}""",
        )
    )
    await db.execute("INSERT INTO locks (name, taken) VALUES ('accounts', 0)")


@migration
async def m032_audit_retention(db: Executor, dialect: str) -> None:
    # AUDIT_RETENTION_DAYS deletes the trail's old lines, oldest first.
    await db.execute("CREATE INDEX audit_at ON audit (at, id)")


@migration
async def m033_normal_names(db: Executor, dialect: str) -> None:
    # Names a proxy or an OpenID provider gives are compared as sign-up compares names (NFKC,
    # trimmed, case-folded): a proxy's `OpsAdmin` and `opsadmin` are one person from now on.
    # A name whose normal form another account has already is left as it was, for an admin.
    def normal(name: str) -> str:
        return unicodedata.normalize("NFKC", name).strip().casefold()

    rows = await db.fetch_all(
        "SELECT id, kind, subject, username FROM users WHERE kind IN ('proxy', 'oidc') ORDER BY id"
    )
    for row in rows:
        subject = normal(row["subject"] or "")[:255] if row["kind"] == "proxy" else row["subject"]
        username = normal(row["username"] or "")[:64] or row["username"]
        if subject != row["subject"] and await db.fetch_one(
            "SELECT id FROM users WHERE kind = 'proxy' AND subject = :subject", {"subject": subject}
        ):
            log.warning("users: %s keeps its name; %s is another account's", row["subject"], subject)
            continue
        if username != row["username"] and await db.fetch_one(
            "SELECT id FROM users WHERE username = :username AND id <> :id",
            {"username": username, "id": row["id"]},
        ):
            log.warning("users: %s keeps its name; %s is another account's", row["username"], username)
            username = row["username"]
        await db.execute(
            "UPDATE users SET subject = :subject, username = :username WHERE id = :id",
            {"subject": subject, "username": username, "id": row["id"]},
        )


@migration
async def m035_rate_limits(db: Executor, dialect: str) -> None:
    # Rate-limit counts (a theoretical arrival time per key) while Redis is away.
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE rate_limits (
            name VARCHAR(255) NOT NULL PRIMARY KEY,
            tat DOUBLE NOT NULL,
            expires_at DOUBLE NOT NULL
        ) {table_options}""",
        )
    )
    await db.execute("CREATE INDEX rate_limits_expiry ON rate_limits (expires_at)")


@migration
async def m036_answer_places(db: Executor, dialect: str) -> None:
    # One row per person who asks: locked while a question checks and takes a place.
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE places (
            owner VARCHAR(64) NOT NULL PRIMARY KEY,
            asks BIGINT NOT NULL DEFAULT 0
        ) {table_options}""",
        )
    )


@migration
async def m040_usage_ledger(db: Executor, dialect: str) -> None:
    # What was spent, one line per question, kept apart from the exchanges: deleting a chat,
    # or retention, leaves it, so usage and the day's quota count what was really spent.
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE usage_ledger (
            id {pk},
            exchange_id {fk},
            owner VARCHAR(64) NOT NULL,
            day CHAR(10) NOT NULL,
            model VARCHAR(100),
            server VARCHAR(100),
            status VARCHAR(16) NOT NULL,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            estimated INTEGER NOT NULL DEFAULT 0,
            latency_ms INTEGER
        ) {table_options}""",
        )
    )
    await db.execute("CREATE UNIQUE INDEX usage_ledger_exchange ON usage_ledger (exchange_id)")
    await db.execute("CREATE INDEX usage_ledger_owner_day ON usage_ledger (owner, day)")
    await db.execute("CREATE INDEX usage_ledger_day ON usage_ledger (day)")
    # The statement as it stood then (the ledger's source column came later, in m062).
    await db.execute(
        "INSERT INTO usage_ledger (exchange_id, owner, day, model, server, status, prompt_tokens,"
        " completion_tokens, latency_ms) SELECT id, owner, SUBSTR(created_at, 1, 10), model, server,"
        " status, prompt_tokens, completion_tokens, latency_ms FROM exchanges ORDER BY id"
    )


@migration
async def m041_deleted_by_owner_and_estimated_tokens(db: Executor, dialect: str) -> None:
    # A person's Delete hides a chat or an exchange from them; the operator keeps it, marked,
    # until retention takes it. A count of tokens made here, not reported by the server, says so.
    await db.execute(ddl(dialect, "ALTER TABLE conversations ADD COLUMN deleted_at {datetime}"))
    await db.execute(ddl(dialect, "ALTER TABLE exchanges ADD COLUMN deleted_at {datetime}"))
    await db.execute("ALTER TABLE exchanges ADD COLUMN tokens_estimated INTEGER NOT NULL DEFAULT 0")


@migration
async def m045_share_snapshots(db: Executor, dialect: str) -> None:
    # A link opens a copy of a branch of a chat; links to the same state of the chat share
    # one copy (found by its digest), and each link says who may open it. A copy's exchanges
    # are rows of their own, so that retention sweeps them as it sweeps the chat's.
    # On MySQL each table's indexes come with it: every DDL statement costs a round of locks.
    mysql = dialect == "mysql"
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE share_snapshots (
            id {pk},
            conversation_id {fk} NOT NULL,
            hash CHAR(64) UNIQUE,
            title VARCHAR(200) NOT NULL DEFAULT '',
            created_at {datetime} NOT NULL,
            FOREIGN KEY (conversation_id) REFERENCES conversations (id) ON DELETE CASCADE
        ) {table_options}""",
        )
    )
    indexes = (
        ", INDEX shared_exchanges_snapshot (snapshot_id, seq),"
        " INDEX shared_exchanges_created (created_at, id)"
        if mysql
        else ""
    )
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE shared_exchanges (
            id {pk},
            snapshot_id {fk} NOT NULL,
            seq INTEGER NOT NULL,
            question {text} NOT NULL,
            answer {text},
            status VARCHAR(16) NOT NULL,
            error VARCHAR(1000),
            model VARCHAR(200),
            server VARCHAR(100),
            created_at {datetime} NOT NULL,
            answered_at {datetime},
            FOREIGN KEY (snapshot_id) REFERENCES share_snapshots (id) ON DELETE CASCADE"""
            + indexes
            + """
        ) {table_options}""",
        )
    )
    audience = "ADD COLUMN audience VARCHAR(16) NOT NULL DEFAULT 'teammates'"
    if mysql:
        await db.execute(
            f"ALTER TABLE shares {audience}, ADD COLUMN snapshot_id BIGINT, ADD CONSTRAINT shares_snapshot"
            " FOREIGN KEY (snapshot_id) REFERENCES share_snapshots (id) ON DELETE CASCADE,"
            " ADD INDEX shares_owner (owner, conversation_id)"
        )
        return
    await db.execute("CREATE INDEX shared_exchanges_snapshot ON shared_exchanges (snapshot_id, seq)")
    await db.execute("CREATE INDEX shared_exchanges_created ON shared_exchanges (created_at, id)")
    await db.execute(f"ALTER TABLE shares {audience}")
    await db.execute(
        "ALTER TABLE shares ADD COLUMN snapshot_id INTEGER REFERENCES share_snapshots (id) ON DELETE CASCADE"
    )
    await db.execute("CREATE INDEX shares_owner ON shares (owner, conversation_id)")


@migration
async def m046_shares_into_snapshots(db: Executor, dialect: str) -> None:
    # Links made before m045 each held a JSON copy: it becomes a copy of its own (identical
    # ones become one), and revoked links, which only answered 404, go.
    await db.execute("DELETE FROM shares WHERE revoked_at IS NOT NULL")
    links = await db.fetch_all("SELECT id, conversation_id, title, snapshot, created_at FROM shares")
    made: dict[str, int] = {}
    for link in links:
        key = hashlib.sha256(
            f"{link['conversation_id']}\n{link['title']}\n{link['snapshot']}".encode()
        ).hexdigest()
        if key not in made:
            created = await db.execute(
                "INSERT INTO share_snapshots (conversation_id, hash, title, created_at)"
                " VALUES (:conversation_id, :hash, :title, :created_at)",
                {**link, "hash": key, "created_at": _time_text(link["created_at"])},
            )
            assert created.lastrowid is not None
            made[key] = created.lastrowid
            for seq, exchange in enumerate(orjson.loads(link["snapshot"])):
                await db.execute(
                    "INSERT INTO shared_exchanges (snapshot_id, seq, question, answer, status, model, server,"
                    " created_at, answered_at) VALUES (:snapshot_id, :seq, :question, :answer, :status,"
                    " :model, :server, :created_at, :answered_at)",
                    {
                        "snapshot_id": made[key],
                        "seq": seq,
                        "question": exchange.get("question") or "",
                        "answer": exchange.get("answer"),
                        "status": exchange.get("status") or "done",
                        "model": exchange.get("model"),
                        "server": exchange.get("server"),
                        "created_at": _time_text(exchange.get("created_at"))
                        or _time_text(link["created_at"]),
                        "answered_at": _time_text(exchange.get("answered_at")),
                    },
                )
        await db.execute(
            "UPDATE shares SET snapshot_id = :snapshot WHERE id = :id",
            {"snapshot": made[key], "id": link["id"]},
        )
    gone = ("snapshot", "title", "revoked_at")
    if dialect == "mysql":
        await db.execute("ALTER TABLE shares " + ", ".join(f"DROP COLUMN {column}" for column in gone))
        return
    for column in gone:
        await db.execute(f"ALTER TABLE shares DROP COLUMN {column}")


def _time_text(value: object) -> str | None:
    """A time read back from either engine (or from a copy's JSON) in the stored text form."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.strftime(TIME_FORMAT)
    text = str(value)
    for form in (TIME_FORMAT, "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, form).strftime(TIME_FORMAT)
        except ValueError:
            continue
    return None


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


@migration
async def m051_shared_files(db: Executor, dialect: str) -> None:
    # A shared copy names the files each question had (one name a line); the files are not shared.
    await db.execute(ddl(dialect, "ALTER TABLE shared_exchanges ADD COLUMN files {text}"))


@migration
async def m060_api_keys(db: Executor, dialect: str) -> None:
    # Personal keys for the OpenAI-compatible API: only a SHA-256 digest of each is kept, with
    # its first characters to tell keys apart, its name, when it was last used and how often.
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE api_keys (
            id {pk},
            user_id {fk} NOT NULL,
            name VARCHAR(64) NOT NULL,
            shown VARCHAR(16) NOT NULL,
            digest CHAR(64) NOT NULL,
            created_at {datetime} NOT NULL,
            last_used_at {datetime},
            uses BIGINT NOT NULL DEFAULT 0,
            revoked_at {datetime}
        ) {table_options}""",
        )
    )
    await db.execute("CREATE UNIQUE INDEX api_keys_digest ON api_keys (digest)")
    await db.execute("CREATE INDEX api_keys_user ON api_keys (user_id, id)")


@migration
async def m061_api_calls(db: Executor, dialect: str) -> None:
    # A question asked through the API names its key and keeps the request it came in (the
    # messages, tools and settings, as JSON); its answer may be tool calls. Each call is a
    # chat of its own, kept out of the sidebar: the history's source filter finds them.
    await db.execute("ALTER TABLE exchanges ADD COLUMN key_name VARCHAR(64)")
    await db.execute(ddl(dialect, "ALTER TABLE exchanges ADD COLUMN api_request {text}"))
    await db.execute(ddl(dialect, "ALTER TABLE exchanges ADD COLUMN tool_calls {text}"))
    await db.execute("CREATE INDEX exchanges_owner_key ON exchanges (owner, key_name, id)")
    await db.execute("CREATE INDEX exchanges_key ON exchanges (key_name, id)")
    await db.execute("ALTER TABLE conversations ADD COLUMN api INTEGER NOT NULL DEFAULT 0")
    await db.execute("CREATE INDEX conversations_owner_api ON conversations (owner, api, updated_at, id)")


@migration
async def m062_usage_by_source(db: Executor, dialect: str) -> None:
    # The usage ledger counts by source too: the chat, or the API key that asked.
    await db.execute("ALTER TABLE usage_ledger ADD COLUMN key_name VARCHAR(64)")
    await db.execute(
        "UPDATE usage_ledger SET key_name = (SELECT key_name FROM exchanges"
        " WHERE exchanges.id = usage_ledger.exchange_id)"
        " WHERE exchange_id IN (SELECT id FROM exchanges WHERE key_name IS NOT NULL)"
    )


@migration
async def m070_settings(db: Executor, dialect: str) -> None:
    # Settings changed in the browser, each as the text its environment variable would hold
    # (a server's key sealed). The `settings` lock's count is their version: every change
    # takes it (so one writer at a time) and bumps it, and each instance reads it to reload.
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE settings (
            name VARCHAR(64) NOT NULL PRIMARY KEY,
            value {text} NOT NULL,
            updated_at {datetime} NOT NULL,
            updated_by {fk}
        ) {table_options}""",
        )
    )
    await db.execute("INSERT INTO locks (name, taken) VALUES ('settings', 0)")


@migration
async def m075_groups(db: Executor, dialect: str) -> None:
    # Groups of people, each with its own optional quotas (NULL: the default), and their members.
    # A membership the provider's groups claim gave is marked `claimed`: the next sign-in replaces
    # those, and leaves the ones an admin gave alone. `name_key` is the name as compared (unique).
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE user_groups (
            id {pk},
            name VARCHAR(64) NOT NULL,
            name_key VARCHAR(64) NOT NULL,
            questions_per_minute INTEGER,
            answers_at_once INTEGER,
            tokens_per_day BIGINT,
            created_at {datetime} NOT NULL
        ) {table_options}""",
        )
    )
    await db.execute("CREATE UNIQUE INDEX user_groups_name ON user_groups (name_key)")
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE group_members (
            group_id {fk} NOT NULL,
            user_id {fk} NOT NULL,
            claimed INTEGER NOT NULL DEFAULT 0,
            added_at {datetime} NOT NULL,
            PRIMARY KEY (group_id, user_id),
            FOREIGN KEY (group_id) REFERENCES user_groups (id) ON DELETE CASCADE,
            FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
        ) {table_options}""",
        )
    )
    await db.execute("CREATE INDEX group_members_user ON group_members (user_id, group_id)")


@migration
async def m076_model_groups(db: Executor, dialect: str) -> None:
    # The groups a model is kept for, by its `model@server` key: a model with no row is everyone's.
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE model_groups (
            model VARCHAR(200) NOT NULL,
            group_id {fk} NOT NULL,
            PRIMARY KEY (model, group_id),
            FOREIGN KEY (group_id) REFERENCES user_groups (id) ON DELETE CASCADE
        ) {table_options}""",
        )
    )
    await db.execute("CREATE INDEX model_groups_group ON model_groups (group_id)")


@migration
async def m077_invitation_groups_and_seeds(db: Executor, dialect: str) -> None:
    # An invitation may name a group its new account joins; and keeps the seed its token is
    # derived from with the secret key, so that the list can show the link again (never a reset's).
    await db.execute("ALTER TABLE invitations ADD COLUMN group_id INTEGER")
    await db.execute("ALTER TABLE invitations ADD COLUMN seed VARCHAR(64)")


@migration
async def m080_feedback(db: Executor, dialect: str) -> None:
    # A thumbs up or down on an answer, with an optional comment: one row per exchange, given
    # by its owner (kept here too, so a person's feedback is read by index without the exchanges).
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE feedback (
            exchange_id {fk} NOT NULL PRIMARY KEY,
            owner VARCHAR(64) NOT NULL,
            rating VARCHAR(8) NOT NULL,
            comment {text},
            created_at {datetime} NOT NULL,
            updated_at {datetime} NOT NULL,
            FOREIGN KEY (exchange_id) REFERENCES exchanges (id) ON DELETE CASCADE
        ) {table_options}""",
        )
    )
    # The history's feedback filter walks these newest first: everyone's or one owner's, of a
    # rating or of any.
    await db.execute("CREATE INDEX feedback_rating ON feedback (rating, exchange_id)")
    await db.execute("CREATE INDEX feedback_owner_rating ON feedback (owner, rating, exchange_id)")
    await db.execute("CREATE INDEX feedback_owner ON feedback (owner, exchange_id)")


@migration
async def m084_folders(db: Executor, dialect: str) -> None:
    # A person's folders of chats, listed by name, each with instructions its chats inherit.
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE folders (
            id {pk},
            owner VARCHAR(64) NOT NULL,
            name VARCHAR(100) NOT NULL,
            instructions {text},
            created_at {datetime} NOT NULL
        ) {table_options}""",
        )
    )
    await db.execute("CREATE INDEX folders_owner ON folders (owner, name, id)")


@migration
async def m085_chat_folders_and_pins(db: Executor, dialect: str) -> None:
    # A chat may sit in one folder and be pinned to the top of the sidebar. The sidebar reads
    # each of its parts by an index range: the pinned by pin time, a folder's and the unfiled
    # chats by recency.
    await db.execute(ddl(dialect, "ALTER TABLE conversations ADD COLUMN folder_id {fk}"))
    await db.execute(ddl(dialect, "ALTER TABLE conversations ADD COLUMN pinned_at {datetime}"))
    await db.execute(
        "CREATE INDEX conversations_sidebar ON conversations (owner, api, folder_id, updated_at, id)"
    )
    await db.execute("CREATE INDEX conversations_pinned ON conversations (owner, pinned_at)")


@migration
async def m086_title_search(db: Executor, dialect: str) -> None:
    for statement in title_search_index(dialect):
        await db.execute(statement)


@migration
async def m087_webhook_outbox(db: Executor, dialect: str) -> None:
    # Events waiting to leave as webhooks: one row per event and endpoint (a digest of its URL;
    # the URL itself, which may hold a token, stays in the settings), added in the transaction
    # of what it reports. Each endpoint's rows go out in id order, one at a time.
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE webhook_outbox (
            id {pk},
            endpoint CHAR(16) NOT NULL,
            event_id VARCHAR(40) NOT NULL,
            type VARCHAR(40) NOT NULL,
            body {text} NOT NULL,
            state VARCHAR(8) NOT NULL DEFAULT 'pending',
            created_at {datetime} NOT NULL,
            retry_from {datetime} NOT NULL,
            next_at {datetime} NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error VARCHAR(255) NOT NULL DEFAULT '',
            sent_at {datetime}
        ) {table_options}""",
        )
    )
    await db.execute("CREATE UNIQUE INDEX webhook_outbox_event ON webhook_outbox (endpoint, event_id)")
    await db.execute("CREATE INDEX webhook_outbox_line ON webhook_outbox (endpoint, state, id)")
    await db.execute("CREATE INDEX webhook_outbox_sent ON webhook_outbox (state, sent_at)")


@migration
async def m088_webhook_endpoints(db: Executor, dialect: str) -> None:
    # The event types each endpoint takes (written by every instance as it starts), and the
    # lease of the one instance delivering to an endpoint at a time.
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE webhook_routes (
            type VARCHAR(40) NOT NULL,
            endpoint CHAR(16) NOT NULL,
            PRIMARY KEY (type, endpoint)
        ) {table_options}""",
        )
    )
    await db.execute(
        ddl(
            dialect,
            """
        CREATE TABLE webhook_endpoints (
            endpoint CHAR(16) NOT NULL PRIMARY KEY,
            lease_owner VARCHAR(32),
            lease_until {datetime}
        ) {table_options}""",
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
