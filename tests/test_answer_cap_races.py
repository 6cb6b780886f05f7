"""The answers-at-once cap under simultaneous asks: exactly the cap is accepted, on one instance or two."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app import create_app
from app.config import Rate
from app.storage.status import Status
from tests import figures
from tests.conftest import Visitor
from tests.redis_server import RedisServer, running_redis
from tests.test_quotas import signed_in

CAP = 4
ASKS = 20
ROUNDS = 3
people = {"sign_in": "accounts", "sign_up": "open", "login_rate": Rate(1000, 60), "ask_rate": Rate(1000, 60)}


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    yield from running_redis(tmp_path)


async def rounds(browsers: list[Visitor], db) -> list[int]:
    """ROUNDS batches of ASKS questions sent at once, spread over the browsers; how many each accepted."""
    accepted = []
    for number in range(ROUNDS):
        asks = [browsers[n % len(browsers)].ask(f"round {number}, question {n}") for n in range(ASKS)]
        statuses = [response.status_code for response in await asyncio.gather(*asks)]
        assert set(statuses) <= {200, 429}, statuses
        accepted.append(statuses.count(200))
        figures.add("races", runs=1, over=max(0, statuses.count(200) - CAP))
        live = await db.fetch_one(
            "SELECT COUNT(*) AS n FROM exchanges WHERE status = :pending", {"pending": Status.PENDING}
        )
        assert live["n"] == statuses.count(200)
        # The answers end before the next round (as if streamed and finished).
        await db.execute("UPDATE exchanges SET status = :done", {"done": Status.DONE})
    return accepted


@pytest.mark.settings(**people, max_streams_per_client=CAP)
async def test_simultaneous_asks_of_one_person_take_exactly_the_cap(app, db):
    laptop = await signed_in(app, "ada")
    phone = await signed_in(app, "ada", new=False)
    assert await rounds([laptop, phone], db) == [CAP] * ROUNDS


async def test_two_instances_sharing_redis_and_the_database_accept_exactly_the_cap(config, redis_server):
    settings = replace(config, **people, max_streams_per_client=CAP, redis_url=redis_server.url)
    first, second = create_app(settings), create_app(settings)
    async with first.test_app(), second.test_app():
        one = await signed_in(first, "ada")
        two = await signed_in(second, "ada", new=False)
        assert await rounds([one, two], first.extensions["db"]) == [CAP] * ROUNDS
