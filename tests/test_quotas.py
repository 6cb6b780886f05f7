"""Quotas per person: questions per minute, answers at once, tokens per day, counted per account."""

from __future__ import annotations

import os
import random
import re
import socket
from dataclasses import replace

import pytest

from app import create_app
from app.config import Rate
from tests.conftest import Visitor
from tests.test_accounts import sign_in, sign_up

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
people = {"sign_in": "accounts", "sign_up": "open", "login_rate": Rate(100, 60)}


async def signed_in(app, name: str, new: bool = True) -> Visitor:
    """A browser signed in as `name` (making the account first when `new`), on the chat page."""
    visitor = Visitor(app.test_client())
    response = await (sign_up(visitor.client, name) if new else sign_in(visitor.client, name))
    assert response.status_code == 303
    await visitor.open("/")
    return visitor


async def asked(visitor: Visitor, question: str) -> int:
    response = await visitor.ask(question)
    assert response.status_code == 200, await response.get_data(as_text=True)
    return int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))


@pytest.mark.settings(**people, tokens_per_day=50)
async def test_a_person_who_used_the_days_tokens_is_told_when_the_count_starts_again(app, model):
    ada = await signed_in(app, "ada")
    await ada.stream(await asked(ada, "first"))  # the fake model spends 42 tokens on it
    await ada.stream(await asked(ada, "second"))
    calls = len(model.requests)
    refused = await ada.ask("third")
    assert refused.status_code == 429
    text = await refused.get_data(as_text=True)
    assert "used today&#39;s 50 tokens" in text and "starts again at 00:00 UTC, in" in text
    assert len(model.requests) == calls
    # Someone else behind the same address still has their own day.
    bob = await signed_in(app, "bob")
    assert (await bob.ask("bob's first")).status_code == 200


@pytest.mark.settings(**people, max_streams_per_client=1)
async def test_answers_at_once_are_counted_per_person_across_browsers(app):
    laptop = await signed_in(app, "ada")
    phone = await signed_in(app, "ada", new=False)
    exchange_id = await asked(laptop, "a long answer")
    refused = await phone.ask("and another at once")
    assert refused.status_code == 429
    assert "answers being written already" in await refused.get_data(as_text=True)
    assert (await (await signed_in(app, "bob")).ask("bob asks too")).status_code == 200
    await laptop.stream(exchange_id)
    assert (await phone.ask("now it may")).status_code == 200


@pytest.mark.settings(**people)
async def test_questions_per_minute_are_counted_per_person_not_per_address(app, config):
    # An office behind one address: the third of Ada's questions is refused, Bob's first is not.
    app.config["ANSWERS"] = replace(config, ask_rate=Rate(2, 60))
    laptop = await signed_in(app, "ada")
    phone = await signed_in(app, "ada", new=False)
    assert (await laptop.ask("one")).status_code == 200
    assert (await phone.ask("two")).status_code == 200
    refused = await laptop.ask("three")
    assert refused.status_code == 429 and "asking faster than this app allows" in await refused.get_data(
        as_text=True
    )
    assert (await (await signed_in(app, "bob")).ask("bob's one")).status_code == 200


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def require_redis() -> None:
    """Skip the test without Redis on 127.0.0.1:6379 (fail it under CI, which starts one)."""
    if not redis_answers():
        if os.environ.get("CI"):
            pytest.fail("CI needs Redis on 127.0.0.1:6379 (.ci/run starts it)")
        pytest.skip("no Redis on 127.0.0.1:6379")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_questions_per_minute_are_shared_by_instances_through_redis(config):
    require_redis()
    # A period of its own, so that no other run's counts in the shared Redis are read.
    rate = Rate(2, 3600 + random.randrange(10**6))
    settings = replace(config, **people, redis_url="redis://127.0.0.1:6379/0", ask_rate=rate)
    first, second = create_app(settings), create_app(settings)
    async with first.test_app(), second.test_app():
        one = await signed_in(first, "ada")
        two = await signed_in(second, "ada", new=False)
        assert (await one.ask("one")).status_code == 200
        assert (await two.ask("two")).status_code == 200
        assert (await one.ask("three")).status_code == 429
        assert (await two.ask("four")).status_code == 429
