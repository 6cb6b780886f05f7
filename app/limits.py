"""Per-client limits: how often a client may ask or try the password, and how many answers it streams at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta

from quart import Quart, current_app, request
from quart_rate_limiter import RateLimiter, rate_limit
from quart_rate_limiter.store import MemoryStore as _MemoryStore
from quart_rate_limiter.store import RateLimiterStoreABC

from .config import Rate, current_config


async def client_address() -> str:
    """Who a limit counts against: the peer address (the real client's when a trusted proxy said so)."""
    return request.remote_addr or "unknown"


class ConfiguredRate:
    """A quart-rate-limiter limit whose count and period come from the running app's settings."""

    key_function = None
    skip_function = None

    def __init__(self, setting: str) -> None:
        self.setting = setting

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


def limited_by(setting: str):  # type: ignore[no-untyped-def]
    """Decorate a view with the rate limit a setting names (e.g. `ask_rate`)."""
    return rate_limit(limits=[ConfiguredRate(setting)])  # type: ignore[list-item]


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
    """Rate-limit state shared by every instance through Redis, each key expiring when it no longer matters."""

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


class StreamSlots:
    """Answers streaming right now in this process, per client (each instance counts its own)."""

    def __init__(self) -> None:
        self.open: Counter[str] = Counter()

    def full(self, client: str, limit: int) -> bool:
        """Whether this client already streams as many answers as it may."""
        return self.open[client] >= limit

    @contextmanager
    def hold(self, client: str) -> Iterator[None]:
        """Count one more stream for the client while the block runs."""
        self.open[client] += 1
        try:
            yield
        finally:
            self.open[client] -= 1
            if not self.open[client]:
                del self.open[client]


def streams() -> StreamSlots:
    """The stream counter of the app handling the current request."""
    return current_app.extensions["streams"]


async def streams_full() -> bool:
    """Whether the current client streams as many answers as it may."""
    return streams().full(await client_address(), current_config().max_streams_per_client)


@asynccontextmanager
async def stream_slot() -> AsyncIterator[None]:
    """Count the current client's stream while the block runs."""
    with streams().hold(await client_address()):
        yield


STREAMS_FULL = (
    "Too many answers are streaming to your address at once. "
    "Wait for one to finish, then send your question again."
)


def too_many_message(retry_after: int) -> str:
    """What a rate-limited person reads, depending on what they were doing."""
    wait = f"{retry_after} second{'s' if retry_after != 1 else ''}"
    if request.endpoint == "auth.login":
        return f"Too many sign-in attempts from your address. Wait {wait} and try again."
    if request.endpoint == "chat.ask":
        return f"You are asking faster than this app allows. Wait {wait}, then send your question again."
    return f"Too many requests from your address. Wait {wait} and try again."


def init_app(app: Quart) -> None:
    """Count requests per client (in memory, or in Redis when REDIS_URL is set) and streams per process."""
    config = app.config["ANSWERS"]
    store = RedisStore(config.redis_url) if config.redis_url else MemoryStore()
    app.extensions["rate_limiter"] = RateLimiter(app, key_function=client_address, store=store)
    app.extensions["streams"] = StreamSlots()
