"""The storage interface behaves the same on SQLite and on MySQL/MariaDB."""

from __future__ import annotations

import pytest

from app.storage import DatabaseUnavailable, conversations, exchanges, migrate
from app.storage.dialects import as_datetime, utc_in, utcnow
from app.storage.exchanges import Outcome
from app.storage.migrations import MIGRATIONS
from app.storage.mysql import MySQLDatabase, translate


async def a_conversation(db, owner="owner-1", title="a title") -> int:
    return await conversations.create(db, owner, title)


async def test_parameters_quotes_colons_and_percent_signs_stay_what_they_are(db):
    title = "50% of 'it''s' :not_a_parameter \\ done"
    await a_conversation(db, title=title)
    row = await db.fetch_one(
        "SELECT title, '100%' AS literal, ':x' AS colon FROM conversations"
        " WHERE title LIKE '%:not_a%' AND owner = :owner",
        {"owner": "owner-1"},
    )
    assert row == {"title": title, "literal": "100%", "colon": ":x"}


async def test_four_byte_characters_round_trip(db):
    question = "Qu'est-ce que 🦊 et 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ? 中文"
    exchange_id = (await exchanges.create(db, await a_conversation(db), "owner-1", question))["id"]
    assert (await exchanges.get(db, exchange_id, "owner-1"))["question"] == question


async def test_rowcount_counts_matched_rows_so_a_repeated_update_still_reports_one(db):
    exchange_id = (await exchanges.create(db, await a_conversation(db), "owner-1", "q"))["id"]
    assert await exchanges.claim(db, exchange_id, "a-run", utc_in(60))
    assert not await exchanges.claim(db, exchange_id, "another-run", utc_in(60))
    sql = "UPDATE exchanges SET answer = :answer WHERE id = :id"
    for _ in range(2):
        assert (await db.execute(sql, {"answer": "same", "id": exchange_id})).rowcount == 1


async def test_a_failed_transaction_leaves_nothing_behind(db):
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await a_conversation(tx)
            raise RuntimeError("changed my mind")
    assert await db.fetch_all("SELECT id FROM conversations") == []
    async with db.transaction() as tx:
        await a_conversation(tx)
    assert len(await db.fetch_all("SELECT id FROM conversations")) == 1


async def test_stream_yields_every_row_and_stopping_early_leaves_the_database_usable(db):
    conversation_id = await a_conversation(db)
    async with db.transaction() as tx:
        for n in range(1200):
            await exchanges.create(tx, conversation_id, "owner-1", f"question {n}")
    ids = [row["id"] async for row in db.stream("SELECT id FROM exchanges ORDER BY id", batch=500)]
    assert ids == list(range(1, 1201))
    async for row in db.stream("SELECT id FROM exchanges ORDER BY id", batch=100):
        if row["id"] == 3:
            break
    assert (await db.fetch_one("SELECT COUNT(*) AS n FROM exchanges"))["n"] == 1200


async def test_migrations_run_once(db):
    assert await migrate(db) == []
    names = [row["name"] for row in await db.fetch_all("SELECT name FROM migrations ORDER BY name")]
    assert names == sorted(name for name, _ in MIGRATIONS)


async def test_full_text_index_follows_inserts_answers_and_deletes(db):
    search = {
        "sqlite": (
            "SELECT rowid AS id FROM exchanges_search WHERE exchanges_search MATCH :words ORDER BY rowid"
        ),
        "mysql": (
            "SELECT id FROM exchanges WHERE MATCH (question, answer) AGAINST (:words IN BOOLEAN MODE)"
            " ORDER BY id"
        ),
    }[db.dialect]
    conversation_id = await a_conversation(db)
    first = (await exchanges.create(db, conversation_id, "owner-1", "How does photosynthesis work?"))["id"]
    second = (await exchanges.create(db, conversation_id, "owner-1", "What is a kangaroo?"))["id"]
    await exchanges.finish(
        db, second, Outcome(answer="A marsupial, not photosynthesis.", status="done", model="m")
    )
    assert [row["id"] for row in await db.fetch_all(search, {"words": "photosynthesis"})] == [first, second]
    assert [row["id"] for row in await db.fetch_all(search, {"words": "marsupial"})] == [second]
    await db.execute("DELETE FROM conversations WHERE id = :id", {"id": conversation_id})
    assert await db.fetch_all(search, {"words": "photosynthesis"}) == []


async def test_ping_says_up(db):
    assert await db.ping()


@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
async def test_mysql_schema_is_innodb_utf8mb4_with_the_paging_and_search_indexes(db):
    tables = await db.fetch_all(
        "SELECT table_name AS name, engine, table_collation AS collation FROM information_schema.tables"
        " WHERE table_schema = DATABASE() ORDER BY table_name"
    )
    assert {"conversations", "exchanges", "migrations"} <= {row["name"] for row in tables}
    assert all(row["engine"] == "InnoDB" and row["collation"].startswith("utf8mb4") for row in tables)
    indexes = await db.fetch_all(
        "SELECT index_name AS name, index_type AS type,"
        " GROUP_CONCAT(column_name ORDER BY seq_in_index) AS columns"
        " FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'exchanges'"
        " GROUP BY index_name, index_type"
    )
    found = {row["name"]: (row["type"], row["columns"]) for row in indexes}
    assert found["exchanges_owner"] == ("BTREE", "owner,id")
    assert found["exchanges_search"] == ("FULLTEXT", "question,answer")


async def test_an_unreachable_mysql_server_is_reported_as_unavailable():
    db = MySQLDatabase("127.0.0.1", 9, "nobody", "", "nothing", connect_timeout=1)
    with pytest.raises(DatabaseUnavailable, match="cannot reach MySQL at 127.0.0.1:9"):
        await db.open()
    assert not await db.ping()


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("SELECT * FROM t WHERE a = :a AND b = :b_2", "SELECT * FROM t WHERE a = %(a)s AND b = %(b_2)s"),
        ("SELECT '50%' , x LIKE :pattern", "SELECT '50%%' , x LIKE %(pattern)s"),
        ("SELECT 5 % 2, ':no', \":no\", `:no`", "SELECT 5 %% 2, ':no', \":no\", `:no`"),
        ("SELECT 'it''s :no', 'a\\' :no' , :yes", "SELECT 'it''s :no', 'a\\' :no' , %(yes)s"),
        ("SELECT a::text -- :no\n, /* :no */ :yes", "SELECT a::text -- :no\n, /* :no */ %(yes)s"),
    ],
)
def test_named_parameters_become_driver_parameters_outside_quotes_and_comments(written, sent):
    assert translate(written) == sent


async def test_the_rows_create_hands_back_are_the_rows_stored(db):
    now = utcnow()
    conversation_id = await conversations.create(db, "owner-1", "a title", now)
    exchange = await exchanges.create(db, conversation_id, "owner-1", "  🦊 spaced  ", now=now, touched=True)
    for built, read in (
        (
            conversations.stored(conversation_id, "owner-1", "a title", now),
            await conversations.get(db, conversation_id, "owner-1"),
        ),
        (exchange, await exchanges.get(db, exchange["id"], "owner-1")),
    ):
        assert read is not None and built.keys() == read.keys()
        for column, value in read.items():
            if column.endswith("_at") and value is not None:
                assert as_datetime(value) == as_datetime(built[column]), column
            else:
                assert value == built[column] and type(value) is type(built[column]), column


async def test_a_first_question_leaves_its_new_conversation_active_since_it_was_asked(db):
    async def times(exchange_id: int) -> tuple:
        conversation = await db.fetch_one("SELECT created_at, updated_at FROM conversations")
        asked = (await exchanges.get(db, exchange_id, "owner-1"))["created_at"]
        return tuple(
            as_datetime(value) for value in (conversation["created_at"], conversation["updated_at"], asked)
        )

    now = utcnow()
    conversation_id = await conversations.create(db, "owner-1", "new", now)
    first = (await exchanges.create(db, conversation_id, "owner-1", "first", now=now, touched=True))["id"]
    assert await times(first) == (as_datetime(now),) * 3
    second = await exchanges.create(db, conversation_id, "owner-1", "second")
    created, updated, asked = await times(second["id"])
    assert created == as_datetime(now) < updated == asked
