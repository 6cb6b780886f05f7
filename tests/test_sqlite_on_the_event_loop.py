"""The SQLite engine keeps the event loop free: what would block or run long goes to its thread."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.storage import sqlite as engine
from app.storage.migrations import migrate
from app.storage.sqlite import SQLiteDatabase

# Counting to three million takes SQLite a good fraction of a second: far past the loop's budget.
LONG_QUERY = (
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000000)"
    " SELECT count(*) AS c FROM n"
)
INSERT = "INSERT INTO conversations (owner, title, created_at, updated_at) VALUES ('o', 't', 'now', 'now')"
COUNT = "SELECT count(*) AS c FROM conversations"


class Moved:
    """How many statements could not finish on the loop's thread and went to the engine's thread."""

    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def moved(monkeypatch: pytest.MonkeyPatch) -> Moved:
    """Count the statements sent to the thread, by watching the engine's own signal for it."""
    counter = Moved()
    at_once = SQLiteDatabase._at_once

    def counting(self: SQLiteDatabase, work):
        try:
            return at_once(self, work)
        except engine._MustWait:
            counter.count += 1
            raise

    monkeypatch.setattr(SQLiteDatabase, "_at_once", counting)
    return counter


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SQLiteDatabase]:
    database = SQLiteDatabase(str(tmp_path / "answers.db"))
    await database.open()
    await migrate(database)
    yield database
    await database.close()


async def test_short_statements_run_without_the_thread(db, moved):
    await db.execute(INSERT)
    assert (await db.fetch_one(COUNT))["c"] == 1
    assert moved.count == 0


async def other_task_ran() -> asyncio.Event:
    """An event set by a task queued now: set once the loop has run anything else."""
    ran = asyncio.Event()
    asyncio.get_running_loop().call_soon(ran.set)
    return ran


async def test_a_long_query_moves_to_the_thread_and_the_loop_keeps_running(db, moved):
    ran = await other_task_ran()
    row = await db.fetch_one(LONG_QUERY)
    assert row == {"c": 3000000}
    assert moved.count == 1
    # The loop ran other work while the query ran in the thread.
    assert ran.is_set()


async def test_a_long_statement_inside_a_transaction_runs_to_its_end(db, moved):
    async with db.transaction() as tx:
        assert await tx.fetch_one(LONG_QUERY) == {"c": 3000000}
    assert moved.count == 0


async def test_a_write_waits_in_the_thread_while_another_process_holds_the_lock(db, moved, tmp_path):
    other = sqlite3.connect(tmp_path / "answers.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    write = asyncio.create_task(db.execute(INSERT))
    transaction = asyncio.create_task(_insert_in_transaction(db))
    ran = await other_task_ran()
    await asyncio.sleep(0.3)
    assert not write.done() and not transaction.done() and ran.is_set()
    other.execute("COMMIT")
    await asyncio.wait_for(asyncio.gather(write, transaction), 30)
    assert (await db.fetch_one(COUNT))["c"] == 2
    # The transaction queued behind the write, so it found the lock free again.
    assert moved.count >= 1
    other.close()


async def _insert_in_transaction(db: SQLiteDatabase) -> None:
    async with db.transaction() as tx:
        await tx.execute(INSERT)


async def test_a_failed_transaction_leaves_nothing_behind(db):
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute(INSERT)
            raise RuntimeError("halfway")
    assert (await db.fetch_one(COUNT))["c"] == 0
    await db.execute(INSERT)


async def test_the_thread_copies_the_log_into_the_database_file(db, tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "_COMMITS_PER_CHECKPOINT", 20)
    for _ in range(25):
        await db.execute(INSERT)

    def in_the_file() -> int:
        # Opened as immutable, SQLite reads the database file alone, not the write-ahead log.
        main_file = sqlite3.connect(f"file:{tmp_path / 'answers.db'}?immutable=1", uri=True)
        try:
            return main_file.execute("SELECT count(*) FROM conversations").fetchone()[0]
        except sqlite3.OperationalError:  # not even the tables copied yet
            return 0
        finally:
            main_file.close()

    # The thread copies beside the loop: wait for it, however busy the machine (a minute at most).
    for _ in range(1200):
        if in_the_file() >= 20:
            break
        await asyncio.sleep(0.05)
    assert in_the_file() >= 20
