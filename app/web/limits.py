"""Per-client limits: how often a client may ask or try the password."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta
from typing import cast

from quart import Quart, request
from quart_rate_limiter import RateLimit, RateLimitExceeded, rate_limit
from quart_rate_limiter import RateLimiter as _RateLimiter
from quart_rate_limiter.store import MemoryStore as _MemoryStore
from quart_rate_limiter.store import RateLimiterStoreABC

from ..config import Rate, current_config
from ..people.access import asks
from ..people.api_keys import current_key
from ..people.identity import current_user

# An IPv6 client is usually handed a whole /64: counting single addresses would let it rotate.
IPV6_PREFIX = 64
MAX_KEY_CHARS = 64


def client_key(address: str | None) -> str:
    """The key a limit counts an address under: IPv4 as is, IPv6 by its /64, brackets and zones dropped."""
    text = (address or "").strip().removeprefix("[").partition("]")[0].partition("%")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return (address or "unknown")[:MAX_KEY_CHARS]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX}", strict=False))
    return str(ip)


def current_client() -> str:
    """Who the current request counts against (the real client's address when a trusted proxy said so)."""
    return client_key(request.remote_addr)


async def client_address() -> str:
    """Whom the rate limiter counts: the signed-in account, or else the client's address."""
    user = current_user()
    return f"user-{user['id']}" if user else current_client()


class TooMany(RateLimitExceeded):
    """A limit refused the request; `doing` says what the person was doing, for the sentence they read."""

    def __init__(self, retry_after: int, doing: str) -> None:
        super().__init__(retry_after)
        self.seconds = retry_after
        self.doing = doing


class ConfiguredRate:
    """A quart-rate-limiter limit whose count and period come from the running app's settings."""

    key_function = None
    skip_function = None

    def __init__(self, setting: str, doing: str = "") -> None:
        self.setting = setting
        self.doing = doing

    @property
    def rate(self) -> Rate:
        return getattr(current_config(), self.setting)

    @property
    def count(self) -> int:
        return self.rate.count

    @property
    def period(self) -> timedelta:
        return timedelta(seconds=self.rate.seconds)

    @property
    def inverse(self) -> float:
        return self.rate.seconds / self.rate.count

    @property
    def key(self) -> str:
        return f"{self.setting}-{self.rate}"


async def api_key_id() -> str:
    """Whom a per-key limit counts: the API key the request came with (by its id, never the key)."""
    key = current_key()
    return f"api-key-{key['id']}" if key is not None else current_client()


class KeyedRate(ConfiguredRate):
    """A configured limit counted per API key, on top of the person's own."""

    def __init__(self, setting: str, doing: str = "") -> None:
        super().__init__(setting, doing)
        self.key_function = api_key_id  # type: ignore[assignment]


def limited_per_key(setting: str, doing: str = ""):  # type: ignore[no-untyped-def]
    """Limit an API view to the rate a setting names, counted for each API key."""
    return rate_limit(limits=[KeyedRate(setting, doing)])  # type: ignore[list-item]


def limited_by(setting: str, doing: str = ""):  # type: ignore[no-untyped-def]
    """Limit a view to the rate a setting names (e.g. `login_rate`); views sharing a setting share its count.

    `doing` names what is refused ("sign in"), for the sentence a refused person reads.
    """
    return rate_limit(limits=[ConfiguredRate(setting, doing)])  # type: ignore[list-item]


# Every view that sends a question to the model (declared with `asks_model`) shares this limit.
ASKING = ConfiguredRate("ask_rate", "ask")


class RateLimiter(_RateLimiter):
    """quart-rate-limiter, counting a configured limit once per client across every view it decorates."""

    def _get_limits_for_view_function(self, view_func, blueprint):  # type: ignore[no-untyped-def]
        limits = super()._get_limits_for_view_function(view_func, blueprint)
        return [ASKING, *limits] if asks(view_func) else limits

    async def _raise_on_rejection(self, endpoint: str, rate_limits: list[RateLimit]) -> None:
        # One limit at a time, so that the refusal can say which one it was.
        for limit in rate_limits:
            try:
                await super()._raise_on_rejection(endpoint, [limit])
            except RateLimitExceeded as refused:
                raise TooMany(cast(int, refused.retry_after), getattr(limit, "doing", "")) from None

    async def _create_key(self, endpoint: str, rate_limit: RateLimit) -> str:
        # Asking, regenerating and editing all call the model: one budget, not one per route.
        if isinstance(rate_limit, ConfiguredRate):
            endpoint = rate_limit.setting
        return await super()._create_key(endpoint, rate_limit)


class MemoryStore(_MemoryStore):
    """Rate-limit state in this process, pruned of stale clients so that it cannot grow without end."""

    def __init__(self) -> None:
        super().__init__()
        self.prune_at = 1024

    async def set(self, key: str, tat: datetime) -> None:
        await super().set(key, tat)
        if len(self._tats) >= self.prune_at:
            now = datetime.now(tat.tzinfo)
            self._tats = {k: v for k, v in self._tats.items() if v > now}
            self.prune_at = max(1024, 2 * len(self._tats))


class RedisStore(RateLimiterStoreABC):
    """Rate-limit state shared by every instance via Redis, each key expiring when it no longer matters."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.redis = None

    async def before_serving(self) -> None:
        from redis import asyncio as aioredis

        self.redis = aioredis.from_url(self.url)

    async def get(self, key: str, default: datetime) -> datetime:
        raw = await self.redis.get(key)  # type: ignore[union-attr]
        return default if raw is None else datetime.fromtimestamp(float(raw), default.tzinfo)

    async def set(self, key: str, tat: datetime) -> None:
        # Past its theoretical arrival time a key means nothing: let Redis forget it then.
        ttl = max(1, int((tat - datetime.now(tat.tzinfo)).total_seconds()) + 1)
        await self.redis.set(key, tat.timestamp(), ex=ttl)  # type: ignore[union-attr]

    async def after_serving(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
            self.redis = None


def init_app(app: Quart) -> None:
    """Count requests per client (in memory, or in Redis when REDIS_URL is set)."""
    config = app.config["ANSWERS"]
    store = RedisStore(config.redis_url) if config.redis_url else MemoryStore()
    app.extensions["rate_limiter"] = RateLimiter(app, key_function=client_address, store=store)
