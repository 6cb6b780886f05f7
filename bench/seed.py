"""Fill a database fast with realistic exchanges, their usage lines and a group of two of their owners:
`python -m bench.seed --rows N …`.

The schema comes from the app's own migrations; rows go in as big multi-row INSERTs in big
transactions through the plain drivers (SQLite's full-text index is built once at the end;
InnoDB's keeps up with the load faster than a rebuild would).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from app.storage import ledger, migrate, open_database
from app.storage.dialects import TIME_FORMAT
from bench.words import ADJECTIVES, FILLER, MODELS, NOUNS, QUESTIONS, STATUS_WEIGHTS, TOPICS, VERBS
from tests.mysql_server import connect

CHUNK = 10_000
SPAN = timedelta(days=730)
# Common words come up far more often than rare ones, as in real text.
_POOL = FILLER * 6 + NOUNS * 2 + VERBS * 2 + ADJECTIVES + TOPICS
_CODE_TOPICS = frozenset("python sqlite mysql bash rust golang java javascript typescript regex".split())
_EXCHANGE_COLUMNS = (
    "id, conversation_id, parent_id, owner, question, answer, status, model, prompt_tokens,"
    " completion_tokens, latency_ms, error, created_at, answered_at, key_name"
)
_FEEDBACK_COLUMNS = "exchange_id, owner, rating, comment, created_at, updated_at"
# A share of the chats asked through the API (with one of these keys), and of the answers given feedback.
API_SHARE = 0.05
API_KEYS = ("laptop", "build-server")
FEEDBACK_SHARE = 0.03
DOWN_SHARE = 0.4
COMMENTS = ("It made up a function.", "Too long.", "Wrong year.", "Not what I asked.", "")
# The group the plan's `group` owners are members of.
GROUP_NAME = "Seeded group"


@dataclass
class Plan:
    """How many exchanges to make, for whom, from which random seed, and who is in the seeded group.

    `group` names the owners who are members of one group, GROUP_NAME (each given an account
    named after their owner id if they have none).
    """

    rows: int
    owners: list[str] = field(default_factory=lambda: ["seed-1", "seed-2", "seed-3", "seed-4"])
    shares: list[float] = field(default_factory=lambda: [0.55, 0.25, 0.15, 0.05])
    seed: int = 1
    group: list[str] = field(default_factory=list)


class Generator:
    """Makes conversations and their exchanges, ids following on from what the tables hold."""

    def __init__(self, plan: Plan, first_conversation: int, first_exchange: int) -> None:
        self.plan = plan
        self.random = random.Random(plan.seed)
        self.conversation_id = first_conversation
        self.exchange_id = first_exchange
        self.start = datetime.now(UTC) - SPAN

    def chunks(self) -> Iterator[tuple[list[tuple], list[tuple], list[tuple]]]:
        """Yield (conversations, exchanges, feedback) rows, about CHUNK exchanges at a time."""
        made = 0
        while made < self.plan.rows:
            conversations: list[tuple] = []
            exchanges: list[tuple] = []
            while len(exchanges) < CHUNK and made < self.plan.rows:
                size = min(self.random.randint(1, 8), self.plan.rows - made)
                self._conversation(size, made, conversations, exchanges)
                made += size
            yield conversations, exchanges, self._feedback(exchanges)

    def _feedback(self, exchanges: list[tuple]) -> list[tuple]:
        """Thumbs on a few of the answered exchanges, down ones with a comment now and then."""
        pick = self.random
        rows = []
        for exchange in exchanges:
            if exchange[6] == "pending" or pick.random() >= FEEDBACK_SHARE:
                continue
            down = pick.random() < DOWN_SHARE
            comment = (pick.choice(COMMENTS) or None) if down else None
            rows.append(
                (exchange[0], exchange[3], "down" if down else "up", comment, exchange[13], exchange[13])
            )
        return rows

    def _conversation(self, size: int, made: int, conversations: list[tuple], exchanges: list[tuple]) -> None:
        pick = self.random
        owner = pick.choices(self.plan.owners, self.plan.shares)[0]
        model = pick.choice(MODELS)
        topic = pick.choice(TOPICS)
        key_name = pick.choice(API_KEYS) if pick.random() < API_SHARE else None
        conversation_id = self.conversation_id
        self.conversation_id += 1
        moment = self.start + SPAN * (made / self.plan.rows)
        first_question = ""
        parent_id = 0  # each exchange follows the one before it: one branch
        for _ in range(size):
            question = self._question(topic)
            first_question = first_question or question
            status = pick.choices(list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()))[0]
            moment += timedelta(seconds=pick.randint(5, 600))
            latency = pick.randint(300, 20_000)
            answer = None if status in ("pending", "error") else self._answer(topic)
            finished = status != "pending"
            exchanges.append(
                (
                    self.exchange_id,
                    conversation_id,
                    parent_id,
                    owner,
                    question,
                    answer,
                    status,
                    model if finished else None,
                    pick.randint(20, 900) if finished else None,
                    len(answer.split()) if answer else None,
                    latency if finished else None,
                    "The model server answered 503: it is overloaded." if status == "error" else None,
                    moment.strftime(TIME_FORMAT),
                    (moment + timedelta(milliseconds=latency)).strftime(TIME_FORMAT) if finished else None,
                    key_name,
                )
            )
            parent_id = self.exchange_id
            self.exchange_id += 1
        title = first_question[:80]
        conversations.append(
            (
                conversation_id,
                owner,
                title,
                exchanges[-size][12],
                exchanges[-1][12],
                int(key_name is not None),
            )
        )

    def _question(self, topic: str) -> str:
        pick = self.random
        return pick.choice(QUESTIONS).format(
            topic=topic,
            noun=pick.choice(NOUNS),
            noun2=pick.choice(NOUNS),
            verb=pick.choice(VERBS),
            adjective=pick.choice(ADJECTIVES),
        )

    def _answer(self, topic: str) -> str:
        pick = self.random
        sentences = [
            " ".join(pick.choices(_POOL, k=pick.randint(6, 14))).capitalize() + "."
            for _ in range(pick.randint(2, 5))
        ]
        parts = [f"Here is how it works for **{topic}**. " + " ".join(sentences)]
        shape = pick.random()
        if shape < 0.3:
            parts.append("\n".join(f"- **{pick.choice(VERBS)}** the {pick.choice(NOUNS)}" for _ in range(3)))
        elif shape < 0.45 and topic in _CODE_TOPICS:
            parts.append(f"```{topic}\n{pick.choice(VERBS)}_{pick.choice(NOUNS)}(value)\n```")
        return "\n\n".join(parts)


def seed(url: str, plan: Plan) -> tuple[int, float]:
    """Migrate the database at `url`, add the planned exchanges, and return (rows, seconds)."""
    asyncio.run(_migrate(url))
    began = time.perf_counter()
    load(url, plan)
    return plan.rows, time.perf_counter() - began


def load(url: str, plan: Plan) -> None:
    """Add the planned exchanges to an already migrated database."""
    if url.startswith("sqlite:///"):
        _load_sqlite(unquote(url.removeprefix("sqlite:///")), plan)
    else:
        _load_mysql(url, plan)


async def _migrate(url: str) -> None:
    db = open_database(url)
    await db.open()
    try:
        await migrate(db)
    finally:
        await db.close()


def _insert_sql(table: str, columns: str, placeholder: str) -> str:
    marks = ", ".join([placeholder] * (columns.count(",") + 1))
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})"


def _load_sqlite(path: str, plan: Plan) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("synchronous=OFF", "cache_size=-262144", "temp_store=MEMORY", "foreign_keys=OFF"):
            connection.execute(f"PRAGMA {pragma}")
        # Index the text once at the end instead of row by row through the triggers.
        triggers = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'exchanges'"
        ).fetchall()
        indexes = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master"
                " WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%fts5%'"
            )
        ]
        for name, _ in triggers:
            connection.execute(f"DROP TRIGGER {name}")
        first_conversation, first_exchange = (
            connection.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}").fetchone()[0]
            for table in ("conversations", "exchanges")
        )
        conversation_sql = _insert_sql("conversations", "id, owner, title, created_at, updated_at, api", "?")
        exchange_sql = _insert_sql("exchanges", _EXCHANGE_COLUMNS, "?")
        feedback_sql = _insert_sql("feedback", _FEEDBACK_COLUMNS, "?")
        connection.execute("BEGIN")
        for number, (conversations, exchanges, feedback) in enumerate(
            Generator(plan, first_conversation, first_exchange).chunks(), 1
        ):
            connection.executemany(conversation_sql, conversations)
            connection.executemany(exchange_sql, exchanges)
            connection.executemany(feedback_sql, feedback)
            if number % 10 == 0:
                connection.execute("COMMIT")
                connection.execute("BEGIN")
        connection.execute(ledger.from_exchanges(first_exchange))
        _add_group(connection.cursor(), "?", plan)
        connection.execute("COMMIT")
        for name in indexes:
            connection.execute(f"INSERT INTO {name} ({name}) VALUES ('rebuild')")
        for _, sql in triggers:
            connection.execute(sql)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("ANALYZE")
    finally:
        connection.close()


def _add_group(cursor: Any, mark: str, plan: Plan) -> None:
    """The seeded group with the plan's members in it, each given an account if they have none."""
    if not plan.group:
        return
    now = datetime.now(UTC).strftime(TIME_FORMAT)
    cursor.execute("SELECT owner, username FROM users")
    taken = {name for row in cursor.fetchall() for name in row}
    cursor.executemany(
        "INSERT INTO users (owner, username, kind, role, created_at)"
        f" VALUES ({mark}, {mark}, 'local', 'user', {mark})",
        [(owner, owner, now) for owner in plan.group if owner not in taken],
    )
    key = GROUP_NAME.casefold()
    cursor.execute(f"SELECT id FROM user_groups WHERE name_key = {mark}", (key,))
    found = cursor.fetchone()
    if found is None:
        cursor.execute(
            f"INSERT INTO user_groups (name, name_key, created_at) VALUES ({mark}, {mark}, {mark})",
            (GROUP_NAME, key, now),
        )
        group_id = cursor.lastrowid
    else:
        group_id = found[0]
    members = ", ".join([mark] * len(plan.group))
    cursor.execute(
        "INSERT INTO group_members (group_id, user_id, claimed, added_at)"
        f" SELECT {mark}, u.id, 0, {mark} FROM users u WHERE u.owner IN ({members}) AND NOT EXISTS"
        f" (SELECT 1 FROM group_members m WHERE m.group_id = {mark} AND m.user_id = u.id)",
        (group_id, now, *plan.group, group_id),
    )


def _load_mysql(url: str, plan: Plan) -> None:
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION foreign_key_checks = 0")
            cursor.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM conversations")
            first_conversation = cursor.fetchone()[0]
            cursor.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM exchanges")
            first_exchange = cursor.fetchone()[0]
            conversation_sql = _insert_sql(
                "conversations", "id, owner, title, created_at, updated_at, api", "%s"
            )
            exchange_sql = _insert_sql("exchanges", _EXCHANGE_COLUMNS, "%s")
            feedback_sql = _insert_sql("feedback", _FEEDBACK_COLUMNS, "%s")
            for conversations, exchanges, feedback in Generator(
                plan, first_conversation, first_exchange
            ).chunks():
                connection.begin()
                # PyMySQL turns executemany of an INSERT … VALUES into multi-row INSERTs.
                cursor.executemany(conversation_sql, conversations)
                cursor.executemany(exchange_sql, exchanges)
                if feedback:
                    cursor.executemany(feedback_sql, feedback)
                connection.commit()
            connection.begin()
            cursor.execute(ledger.from_exchanges(first_exchange))
            _add_group(cursor, "%s", plan)
            connection.commit()
            cursor.execute(
                "ANALYZE TABLE conversations, exchanges, usage_ledger, feedback,"
                " users, user_groups, group_members"
            )
            cursor.fetchall()
    finally:
        connection.close()


def main() -> None:
    """Parse the command line and seed."""
    parser = argparse.ArgumentParser(description="Fill a database with realistic exchanges.")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="sqlite:///instance/seed.db")
    parser.add_argument(
        "--owners",
        default="seed-1,seed-2,seed-3,seed-4",
        help="comma-separated owner ids (a browser's id is in its session)",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    owners = args.owners.split(",")
    shares = Plan(0).shares[: len(owners)] if len(owners) <= 4 else [1.0] * len(owners)
    plan = Plan(args.rows, owners, shares, args.seed, group=owners[1:3])
    rows, seconds = seed(args.database_url, plan)
    print(f"seeded {rows:,} exchanges in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")


if __name__ == "__main__":
    main()
