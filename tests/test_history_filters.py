"""The history's filters on both engines: feedback, dates (in the person's time zone), source, person,
each with the others, the search and keyset paging; a value that cannot be read is left out, said why."""

from __future__ import annotations

import pytest

from app.storage import feedback, history
from tests.conftest import Visitor
from tests.test_accounts import person, sign_up
from tests.test_groups import join, make_group
from tests.test_history import HTMX, SEARCH, add, get, ids, owner_of, walk
from tests.test_quotas import people


async def rate(db, exchange_id: int, owner: str, rating: str, comment: str | None = None) -> None:
    async def give(tx):
        return await feedback.give(tx, exchange_id, owner, rating, comment)

    assert await db.transact(give) is not None


async def asked_at(db, exchange_id: int, moment: str) -> None:
    await db.execute(
        "UPDATE exchanges SET created_at = :moment WHERE id = :id", {"moment": moment, "id": exchange_id}
    )


async def from_api(db, exchange_id: int, key: str = "laptop") -> None:
    await db.execute("UPDATE exchanges SET key_name = :key WHERE id = :id", {"key": key, "id": exchange_id})


async def test_the_feedback_filter_finds_thumbs_down_up_any_or_none_with_the_comment_beside_the_row(
    visitor, db
):
    owner = await owner_of(visitor)
    down, up, plain = [await add(db, owner, question) for question in ("Down", "Up", "Plain")]
    await rate(db, down, owner, "down", "Wrong <b>year</b>")
    await rate(db, up, owner, "up")
    page = await get(visitor, "/list?feedback=down")
    assert ids(page) == [down]
    assert "Wrong &lt;b&gt;year&lt;/b&gt;" in page and "👎 thumbs down" in page
    assert ids(await get(visitor, "/list?feedback=up", SEARCH)) == [up]
    assert ids(await get(visitor, "/list?feedback=any", SEARCH)) == [up, down]
    assert ids(await get(visitor, "/list?feedback=none", SEARCH)) == [plain]
    assert '<option value="down" selected>' in await get(visitor, "/list?feedback=down")


async def test_every_filter_combines_with_the_search_and_pages_by_keyset(visitor, db):
    owner = await owner_of(visitor)
    wanted = []
    for n in range(130):
        word = "espresso" if n % 2 else "tea"
        exchange_id = await add(db, owner, f"Question {n} about {word}", status="error" if n % 3 else "done")
        # Stored in order, as the app stores them: ids grow with time.
        day = 1 + n * 20 // 130
        await asked_at(db, exchange_id, f"2025-03-{day:02d} 12:{n % 60:02d}:00.000000")
        if n % 5:
            await from_api(db, exchange_id)
        if n % 4:
            await rate(db, exchange_id, owner, "down" if n % 4 == 1 else "up", f"note {n}")
        if n % 2 and n % 3 and n % 5 and n % 4 == 1 and 5 <= day <= 16:
            wanted.append(exchange_id)
    url = "/list?q=espresso&status=error&source=api&feedback=down&from=2025-03-05&to=2025-03-16"
    seen, pages = await walk(visitor, url, SEARCH)
    assert seen == sorted(wanted, reverse=True) and len(seen) == len(set(seen))
    # Each filter alone pages through every one of its rows, once.
    for query, count in (
        ("feedback=none", 33),
        ("feedback=any", 97),
        ("source=chat", 26),
        ("status=done", 44),
    ):
        seen, pages = await walk(visitor, f"/list?{query}", SEARCH)
        assert len(seen) == len(set(seen)) == count and pages == (count + 49) // 50, query
    # The next page's link keeps every filter.
    first = await get(visitor, "/list?feedback=up&from=2025-03-01&to=2025-03-20")
    assert "feedback=up" in first and "from=2025-03-01" in first and "to=2025-03-20" in first


async def test_dates_are_read_in_the_persons_time_zone_or_utc(visitor, db):
    owner = await owner_of(visitor)
    late = await add(db, owner, "Late on the 9th in UTC")
    await asked_at(db, late, "2025-06-09 23:30:00.000000")
    early = await add(db, owner, "Early on the 10th in UTC")
    await asked_at(db, early, "2025-06-10 00:30:00.000000")
    page = await get(visitor, "/list?from=2025-06-10&to=2025-06-10")
    assert ids(page) == [early] and "(UTC)" in page
    assert ids(await get(visitor, "/list?to=2025-06-09", SEARCH)) == [late]
    async with visitor.client.session_transaction() as session:
        session["time_zone"] = "Europe/Paris"  # UTC+2 in June: both are on the 10th there
    page = await get(visitor, "/list?from=2025-06-10&to=2025-06-10")
    assert ids(page) == [early, late] and "(Europe/Paris)" in page
    async with visitor.client.session_transaction() as session:
        session["time_zone"] = "America/New_York"  # UTC-4: both are on the 9th there
    assert ids(await get(visitor, "/list?from=2025-06-09&to=2025-06-09", SEARCH)) == [early, late]
    assert ids(await get(visitor, "/list?from=2025-06-10", SEARCH)) == []


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("feedback=sideways", "There is no feedback “sideways”"),
        ("from=2025-13-01", "“2025-13-01” is not a date"),
        ("to=yesterday", "“yesterday” is not a date"),
        ("from=2025-02-30", "“2025-02-30” is not a date"),
        ("from=2025-03-02&to=2025-03-01", "ends before it starts"),
        ("status=finished", "There is no status “finished”"),
        ("source=fax", "Questions come from the chat"),
        ("from=%00%ff&feedback=%3Cb%3E", "is not a date"),
    ],
)
async def test_a_filter_that_cannot_be_read_is_left_out_and_said_why(visitor, db, query, said):
    shown = await add(db, await owner_of(visitor), "Still here")
    for headers in ({}, SEARCH, HTMX):
        response = await visitor.client.get(f"/list?{query}", headers=headers)
        assert response.status_code == 200
        body = await response.get_data(as_text=True)
        if headers is not HTMX:
            assert said in body and ids(body) == [shown]
    assert "<b>" not in await get(visitor, "/list?feedback=%3Cb%3E")
    refused = await visitor.client.get(f"/list/export.csv?{query}")
    assert refused.status_code == 400 and said in await refused.get_data(as_text=True)


@pytest.mark.settings(**people)
async def test_an_admin_filters_everyones_rows_by_person_and_feedback(app, db):
    admin = Visitor(app.test_client())
    await sign_up(admin.client, "ada")
    await admin.open("/")
    bob = Visitor(await person(app, admin.client, "bob"))
    await bob.open("/")
    bob_owner, ada_owner = await owner_of(bob), await owner_of(admin)
    bobs = [await add(db, bob_owner, f"Bob asks {n}") for n in range(60)]
    adas = await add(db, ada_owner, "Ada asks")
    for exchange_id in bobs[::2]:
        await rate(db, exchange_id, bob_owner, "down", "Not what I meant")
    await rate(db, adas, ada_owner, "down")
    seen, pages = await walk(admin, "/list?feedback=down", SEARCH)
    assert seen == [adas, *reversed(bobs[::2])] and pages == 1
    page = await get(admin, "/list?feedback=down")
    assert page.count("Not what I meant") == 30
    seen, _ = await walk(admin, "/list?feedback=none&name=bob", SEARCH)
    assert seen == list(reversed(bobs[1::2]))
    seen, _ = await walk(admin, "/list?feedback=down&name=ada", SEARCH)
    assert seen == [adas]
    # Bob sees only his own, whatever the address names.
    assert ids(await get(bob, "/list?feedback=down&name=ada", SEARCH)) == list(reversed(bobs[::2]))[:50]


@pytest.mark.settings(**people)
async def test_an_admin_filters_everyones_rows_by_group_and_a_group_that_cannot_be_read_is_said(app, db):
    admin = Visitor(app.test_client())
    await sign_up(admin.client, "ada")
    await admin.open("/")
    bob = Visitor(await person(app, admin.client, "bob"))
    cleo = Visitor(await person(app, admin.client, "cleo"))
    for visitor in (bob, cleo):
        await visitor.open("/")
    bobs = [await add(db, await owner_of(bob), f"Bob asks {n}") for n in range(3)]
    cleos = [await add(db, await owner_of(cleo), f"Cleo asks {n}") for n in range(2)]
    await add(db, await owner_of(admin), "Ada asks")
    engineering = await make_group(admin.client, "Engineering")
    sales = await make_group(admin.client, "Sales")
    await join(admin.client, db, engineering, "bob")
    await join(admin.client, db, sales, "cleo")
    await join(admin.client, db, sales, "bob")

    seen, _ = await walk(admin, f"/list?group={engineering}", SEARCH)
    assert seen == list(reversed(bobs))
    seen, _ = await walk(admin, f"/list?group={sales}", SEARCH)
    assert seen == sorted(bobs + cleos, reverse=True)
    page = await get(admin, f"/list?group={sales}")
    assert f'<option value="{sales}" selected>Sales</option>' in page
    # A number that names no group shows nothing; anything else is said and left out.
    assert ids(await get(admin, "/list?group=999999", SEARCH)) == []
    refused = await get(admin, "/list?group=sales")
    assert "There is no group “sales”" in refused and len(ids(refused)) == 6
    # Only admins filter by group: a person's own history ignores it.
    assert ids(await get(cleo, f"/list?group={engineering}", SEARCH)) == list(reversed(cleos))


async def plans(db, statements: list[tuple[str, dict]]) -> str:
    """The query plans of the statements, one text (SQLite's details, or MySQL's rows)."""
    found = []
    for sql, params in statements:
        if db.dialect == "sqlite":
            found += [row["detail"] for row in await db.fetch_all(f"EXPLAIN QUERY PLAN {sql}", params)]
        else:
            found += [repr(row) for row in await db.fetch_all(f"EXPLAIN {sql}", params)]
    return " | ".join(found)


@pytest.mark.settings(**people)
async def test_a_groups_rows_are_each_members_own_read_by_index_merged_and_paged(app, db, monkeypatch):
    admin = Visitor(app.test_client())
    await sign_up(admin.client, "ada")
    await admin.open("/")
    names = ("bob", "cleo", "dan")
    owners = []
    for name in names:
        visitor = Visitor(await person(app, admin.client, name))
        await visitor.open("/")
        owners.append(await owner_of(visitor))
    asked = [await add(db, owners[n % 3], f"Asked {n}") for n in range(75)]
    await add(db, await owner_of(admin), "Ada asks")
    for n in range(0, 75, 4):
        await rate(db, asked[n], owners[n % 3], "down")
    group = await make_group(admin.client, "Everyone but Ada")
    for name in names:
        await join(admin.client, db, group, name)
    newest = list(reversed(asked))
    cleos = [exchange_id for n, exchange_id in enumerate(asked) if n % 3 == 1][::-1]
    downs = [exchange_id for n, exchange_id in enumerate(asked) if n % 4 == 0][::-1]

    statements: list[tuple[str, dict]] = []
    fetch_all = db.fetch_all

    async def noted(sql: str, params: dict | None = None):
        statements.append((sql, params or {}))
        return await fetch_all(sql, params)

    # Three members are read apart, merged; with room for two only, everyone's rows are walked by id.
    for merged in (history.MERGED_PARTS, 2):
        monkeypatch.setattr(history, "MERGED_PARTS", merged)
        seen, pages = await walk(admin, f"/list?group={group}", SEARCH)
        assert seen == newest and pages == 2, merged
        assert (await walk(admin, f"/list?group={group}&feedback=down", SEARCH))[0] == downs
        assert (await walk(admin, f"/list?group={group}&name=cleo", SEARCH))[0] == cleos
        assert ids(await get(admin, f"/list?group={group}&name=ada", SEARCH)) == []
        assert ids(await get(admin, f"/list?group={group}&name=cleo&status=error", SEARCH)) == []
    monkeypatch.setattr(history, "MERGED_PARTS", 20)
    monkeypatch.setattr(db, "fetch_all", noted)
    await get(admin, f"/list?group={group}&before={newest[10]}", SEARCH)
    page = [(sql, params) for sql, params in statements if "UNION ALL" in sql]
    assert len(page) == 1 and page[0][0].count("SELECT id FROM") == 3
    monkeypatch.undo()
    plan = await plans(db, page)
    if db.dialect == "sqlite":
        assert plan.count("SEARCH e USING COVERING INDEX exchanges_owner (owner=? AND id<?)") == 3, plan
        assert "SCAN e" not in plan, plan
    else:
        assert plan.count("'key': 'exchanges_owner'") == 3, plan


@pytest.mark.settings(**people)
@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("status=error", "exchanges_status"),
        ("source=api:laptop", "exchanges_key"),
        ("model=fake-model", "exchanges_model"),
        ("name=ada&status=error", "exchanges_owner_status"),
        ("name=ada&model=fake-model", "exchanges_owner_model"),
    ],
)
async def test_an_admins_filter_walks_its_own_index_newest_first_on_both_engines(
    app, db, monkeypatch, query, index
):
    admin = Visitor(app.test_client())
    await sign_up(admin.client, "ada")
    await admin.open("/")
    for n in range(3):
        await add(db, await owner_of(admin), f"Asked {n}", status="error")
    statements: list[tuple[str, dict]] = []
    fetch_all = db.fetch_all

    async def noted(sql: str, params: dict | None = None):
        statements.append((sql, params or {}))
        return await fetch_all(sql, params)

    monkeypatch.setattr(db, "fetch_all", noted)
    await get(admin, f"/list?{query}", SEARCH)
    monkeypatch.undo()
    [(sql, params)] = [(sql, params) for sql, params in statements if "FROM exchanges e" in sql]
    if db.dialect == "sqlite":
        plan = await plans(db, [(sql, params)])
        assert f"USING INDEX {index} " in plan and "TEMP B-TREE" not in plan, plan
    else:
        # A table of three rows is read whole whatever the hint; the hint leaves no other index.
        [walk] = [row for row in await db.fetch_all(f"EXPLAIN {sql}", params) if row["table"] == "e"]
        assert index in walk["possible_keys"].split(",") and "PRIMARY" not in walk["possible_keys"], walk


@pytest.mark.settings(**people)
async def test_the_apis_rows_are_each_keys_own_merged_and_paged_alone_or_with_a_group(app, db, monkeypatch):
    admin = Visitor(app.test_client())
    await sign_up(admin.client, "ada")
    await admin.open("/")
    bob = Visitor(await person(app, admin.client, "bob"))
    await bob.open("/")
    owners = [await owner_of(admin), await owner_of(bob)]
    keys = (None, "laptop", "build-server", None, "ci")
    asked = []
    for n in range(90):
        exchange_id = await add(db, owners[n % 2], f"Asked {n}")
        if keys[n % 5]:
            await from_api(db, exchange_id, keys[n % 5])
        if n % 3 == 0:
            await rate(db, exchange_id, owners[n % 2], "down")
        asked.append(exchange_id)
    group = await make_group(admin.client, "Bob alone")
    await join(admin.client, db, group, "bob")
    api = [exchange_id for n, exchange_id in enumerate(asked) if keys[n % 5]][::-1]
    bobs_api = [exchange_id for n, exchange_id in enumerate(asked) if keys[n % 5] and n % 2][::-1]
    downs = [exchange_id for n, exchange_id in enumerate(asked) if keys[n % 5] and n % 3 == 0][::-1]

    statements: list[str] = []
    fetch_all = db.fetch_all

    async def noted(sql: str, params: dict | None = None):
        statements.append(sql)
        return await fetch_all(sql, params)

    monkeypatch.setattr(db, "fetch_all", noted)
    # Three keys are read apart and merged; with room for two parts only, the API's rows are walked by id.
    for merged in (history.MERGED_PARTS, 2):
        monkeypatch.setattr(history, "MERGED_PARTS", merged)
        seen, pages = await walk(admin, "/list?source=api", SEARCH)
        assert seen == api and pages == 2, merged
        assert (await walk(admin, f"/list?source=api&group={group}", SEARCH))[0] == bobs_api
        assert (await walk(admin, "/list?source=api&feedback=down", SEARCH))[0] == downs
        assert (await walk(admin, "/list?source=api&status=error", SEARCH))[0] == []
    merged_pages = [sql for sql in statements if "UNION ALL" in sql]
    assert merged_pages and all(sql.count("SELECT id FROM") == 3 for sql in merged_pages)
