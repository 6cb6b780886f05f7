"""Redis away: signing in, signing up and asking go on, counted in the database, and Redis is taken back."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from app import create_app
from app.config import Rate
from app.web.limits import REDIS_RETRY_SECONDS
from tests.conftest import Visitor
from tests.redis_server import RedisServer, running_redis
from tests.test_accounts import sign_in
from tests.test_quotas import signed_in

people = {"sign_in": "accounts", "sign_up": "open", "login_rate": Rate(100, 60)}
people |= {"max_streams_per_client": 100}
GONE = "Redis is not answering"
BACK = "Redis answers again"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    yield from running_redis(tmp_path)


class Clock:
    """A clock the test moves: when the store may try Redis again."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def outages() -> float:
    return REGISTRY.get_sample_value("answers_redis_outages_total") or 0.0


def logged(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in record.getMessage() for record in caplog.records)


async def test_with_redis_away_people_sign_in_and_ask_counted_in_the_database(
    config, redis_server, caplog, model
):
    caplog.set_level(logging.INFO)
    settings = replace(config, **people, redis_url=redis_server.url, ask_rate=Rate(3, 3600))
    app = create_app(settings)
    async with app.test_app():
        clock = Clock()
        app.extensions["rate_limiter"].store.clock = clock
        ada = await signed_in(app, "ada")  # the first account: an admin
        assert (await ada.ask("asked while Redis answers")).status_code == 200
        assert redis_server.keys() > 0
        before = outages()
        redis_server.kill()

        bob = await signed_in(app, "bob")
        laptop = Visitor(app.test_client())
        assert (await sign_in(laptop.client, "ada")).status_code == 303
        statuses = [(await bob.ask(f"question {n}")).status_code for n in range(4)]
        # Bob's three questions an hour still hold, counted in the database.
        assert statuses == [200, 200, 200, 429]
        assert logged(caplog, GONE) == 1 and outages() == before + 1
        anyone = await app.test_client().get("/readyz")
        assert anyone.status_code == 200 and await anyone.get_json() == {"status": "ready"}
        details = await ada.client.get("/readyz")
        assert details.status_code == 200
        assert (await details.get_json())["redis"] == "down"

        redis_server.start()
        clock.now += REDIS_RETRY_SECONDS
        assert (await laptop.client.get("/")).status_code == 200
        assert (await (await ada.client.get("/readyz")).get_json())["redis"] == "up"
        assert logged(caplog, BACK) == 1
        carol = await signed_in(app, "carol")
        assert (await carol.ask("asked once Redis is back")).status_code == 200
        assert redis_server.keys() > 0
        assert logged(caplog, GONE) == 1 and outages() == before + 1
