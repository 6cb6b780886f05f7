"""The API's CORS is closed unless origins are listed, and its throttling per key holds across instances."""

from __future__ import annotations

import random
from dataclasses import replace

import httpx2
import openai
import pytest

from app.config import Rate
from tests.api_server import ACCOUNTS, Served, serving
from tests.test_quotas import require_redis

NOTEBOOK = "https://notebook.example.org"
PREFLIGHT = {
    "Origin": NOTEBOOK,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, x-stainless-os",
}


async def cors_of(served: Served, key: str, origin: str) -> tuple[httpx2.Response, httpx2.Response]:
    async with httpx2.AsyncClient() as http:
        preflight = await http.request(
            "OPTIONS", f"{served.api}/chat/completions", headers=PREFLIGHT | {"Origin": origin}
        )
        answer = await http.get(
            f"{served.api}/models", headers={"Origin": origin, "Authorization": f"Bearer {key}"}
        )
    return preflight, answer


async def test_cors_is_closed_by_default(served: Served):
    preflight, answer = await cors_of(served, await served.key(), NOTEBOOK)
    assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers


@pytest.mark.settings(api_cors_origins=(NOTEBOOK,))
async def test_listed_origins_may_call_the_api_from_a_page(served: Served):
    key = await served.key()
    preflight, answer = await cors_of(served, key, NOTEBOOK)
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == NOTEBOOK
    assert preflight.headers["access-control-allow-methods"] == "GET, POST"
    assert "x-stainless-os" in preflight.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in preflight.headers
    assert answer.headers["access-control-allow-origin"] == NOTEBOOK and "Origin" in answer.headers["vary"]
    assert "Retry-After" in answer.headers["access-control-expose-headers"]
    preflight, answer = await cors_of(served, key, "https://elsewhere.example.org")
    assert preflight.status_code == 403 and "access-control-allow-origin" not in answer.headers
    # The pages themselves never answer another site.
    async with httpx2.AsyncClient() as http:
        page = await http.get(f"{served.url}/login", headers={"Origin": NOTEBOOK})
    assert "access-control-allow-origin" not in page.headers


def test_the_origins_setting_takes_origins_only():
    from app.config import Config, ConfigError

    assert Config.from_env({"API_CORS_ORIGINS": f"{NOTEBOOK}/, *"}).api_cors_origins == (NOTEBOOK, "*")
    for wrong in ("notebook.example.org", "https://notebook.example.org/path"):
        with pytest.raises(ConfigError, match="API_CORS_ORIGINS: must be a comma-separated list of origins"):
            Config.from_env({"API_CORS_ORIGINS": wrong})


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_keys_rate_holds_across_instances_through_redis(config):
    require_redis()
    # A period of its own, so that no other run's counts in the shared Redis are read.
    rate = Rate(2, 3600 + random.randrange(10**6))
    settings = replace(config, **ACCOUNTS, redis_url="redis://127.0.0.1:6379/0", api_key_rate=rate)
    ask = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}
    async for first in serving(settings):
        async for second in serving(settings):
            key = await first.key()
            async with first.client(key) as one, second.client(key) as two:
                await one.chat.completions.create(**ask)
                await two.chat.completions.create(**ask)
                for client in (one, two):
                    with pytest.raises(openai.RateLimitError):
                        await client.chat.completions.create(**ask)
                # Another key of the same person is counted apart (the person's own rate is higher).
                async with second.client(await first.key(label="another")) as three:
                    await three.chat.completions.create(**ask)
