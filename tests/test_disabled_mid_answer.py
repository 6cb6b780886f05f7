"""A person disabled while an answer streams: the answer stops, stored as stopped, the stream says why."""

from __future__ import annotations

import asyncio

import pytest

from app import create_app, messages
from tests.conftest import Visitor
from tests.test_accounts import accounts, csrf_of, person, sign_in, sign_up


@pytest.fixture
async def admin(app):
    client = app.test_client()
    assert (await sign_up(client, "ada")).status_code == 303
    return client


async def user_id(admin, name: str) -> int:
    page = await (await admin.get("/admin/users")).get_data(as_text=True)
    return int(page.split(f">{name}<", 1)[0].rsplit('id="user-', 1)[1].split('"', 1)[0])


@accounts
async def test_a_person_disabled_mid_answer_loses_the_stream_and_every_session(app, admin, model, db):
    model.configure(tokens=400, delay=0.02)
    bob = Visitor(await person(app, admin, "bob"))
    await bob.open("/")
    phone = app.test_client()
    assert (await sign_in(phone, "bob")).status_code == 303
    response = await bob.ask("A long answer, please.")
    exchange_id = int((await response.get_data(as_text=True)).split('id="answer-', 1)[1].split('"', 1)[0])
    stream = asyncio.create_task(bob.stream(exchange_id))
    answers = app.extensions["answers"]
    while not ((run := answers.runs.get(exchange_id)) and run.text()):
        await asyncio.sleep(0.01)
    token = await csrf_of(admin, "/admin/users")
    disabled = await admin.post(
        f"/admin/users/{await user_id(admin, 'bob')}/disable", form={"csrf_token": token}
    )
    assert disabled.status_code == 303
    events = await stream
    row = await db.fetch_one("SELECT status, answer FROM exchanges WHERE id = :id", {"id": exchange_id})
    assert row["status"] == "stopped" and 0 < len(row["answer"].split()) < 400
    assert [name for name, _ in events][-2:] == ["final", "done"]
    assert messages.STOPPED_DISABLED in dict(events)["final"]
    # Every other session of Bob's has ended too.
    assert (await phone.get("/")).status_code == 302
    assert (await bob.client.get("/")).status_code == 302


@accounts
async def test_an_answer_written_by_another_instance_stops_there_too(app, admin, config, model, db):
    model.configure(tokens=400, delay=0.02)
    await person(app, admin, "bob")
    other = create_app(config)
    async with other.test_app():
        bob = Visitor(other.test_client())
        assert (await sign_in(bob.client, "bob")).status_code == 303
        await bob.open("/")
        response = await bob.ask("A long answer from the other instance.")
        exchange_id = int((await response.get_data(as_text=True)).split('id="answer-', 1)[1].split('"', 1)[0])
        stream = asyncio.create_task(bob.stream(exchange_id))
        while not ((run := other.extensions["answers"].runs.get(exchange_id)) and run.text()):
            await asyncio.sleep(0.01)
        token = await csrf_of(admin, "/admin/users")
        await admin.post(f"/admin/users/{await user_id(admin, 'bob')}/disable", form={"csrf_token": token})
        events = await stream
    row = await db.fetch_one("SELECT status, answer FROM exchanges WHERE id = :id", {"id": exchange_id})
    assert row["status"] == "stopped" and 0 < len(row["answer"].split()) < 400
    assert messages.STOPPED_DISABLED in dict(events)["final"]
