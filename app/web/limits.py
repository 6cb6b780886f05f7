"""Per-client limits: how often a client may ask or try the password."""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask.sansio.blueprints import Blueprint
from quart import Quart, current_app, request
from quart_rate_limiter import KeyCallable, RateLimit, RateLimitExceeded
from quart_rate_limiter import RateLimiter as _RateLimiter
from quart_rate_limiter.store import MemoryStore as _MemoryStore
from quart_rate_limiter.store import RateLimiterStoreABC

from .. import metrics
from ..config import Rate, current_config
from ..people import quotas
from ..people.access import asks
from ..people.api_keys import current_key
from ..people.identity import current_user
from ..storage import Database, limits

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)
T = TypeVar("T")

# While Redis is away, it is tried again this often; each try waits at most REDIS_TIMEOUT_SECONDS.
REDIS_RETRY_SECONDS = 5.0
REDIS_TIMEOUT_SECONDS = 1.0
# The database's expired counts are deleted once every this many writes.
PRUNE_EVERY = 256
# An IPv6 client is usually handed a whole /64: counting single addresses would let it rotate.
IPV6_PREFIX = 64
MAX_KEY_CHARS = 64
# The attribute of a view listing the settings that limit it, with what each refuses.
LIMITED_BY = "_answers_limited_by"
KEYED_BY = "_answers_limited_per_key"


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


@dataclass
class ConfiguredRate(RateLimit):
    """A quart-rate-limiter limit read from the running app's settings, counted under the setting's name."""

    setting: str = ""
    doing: str = ""

    @classmethod
    def now(cls, setting: str, doing: str = "", by: KeyCallable | None = None) -> ConfiguredRate:
        """The limit a setting (e.g. `login_rate`) names, as the app is configured, counted `by` whom.

        The asking rate is the person's own when their groups give them one.
        """
        rate: Rate = getattr(current_config(), setting)
        if setting == "ask_rate" and (mine := quotas.loaded()) is not None:
            rate = mine.ask_rate
        return cls(rate.count, timedelta(seconds=rate.seconds), by, setting=setting, doing=doing)

    @property
    def key(self) -> str:
        return f"{self.setting}-{self.count}/{self.period.total_seconds():g}s"


async def api_key_id() -> str:
    """Whom a per-key limit counts: the API key the request came with (by its id, never the key)."""
    key = current_key()
    return f"api-key-{key['id']}" if key is not None else current_client()


def limited_per_key[F: Callable[..., Any]](setting: str, doing: str = "") -> Callable[[F], F]:
    """Limit an API view to the rate a setting names, counted per API key (besides the person's own)."""

    def declare(view: F) -> F:
        setattr(view, KEYED_BY, [*getattr(view, KEYED_BY, []), (setting, doing)])
        return view

    return declare


def limited_by[F: Callable[..., Any]](setting: str, doing: str = "") -> Callable[[F], F]:
    """Limit a view to the rate a setting names (e.g. `login_rate`); views sharing a setting share its count.

    `doing` names what is refused ("sign in"), for the sentence a refused person reads.
    """

    def declare(view: F) -> F:
        setattr(view, LIMITED_BY, [*getattr(view, LIMITED_BY, []), (setting, doing)])
        return view

    return declare


# Every view that sends a question to the model (declared with `asks_model`) shares this limit.
ASKING = ("ask_rate", "ask")


class RateLimiter(_RateLimiter):
    """quart-rate-limiter, counting a configured limit once per client across every view it decorates."""

    def _get_limits_for_view_function(
        self, view_func: Callable[..., Any] | None, blueprint: Blueprint | None
    ) -> list[RateLimit]:
        declared = [*([ASKING] if asks(view_func) else []), *getattr(view_func, LIMITED_BY, [])]
        configured: list[RateLimit] = [ConfiguredRate.now(setting, doing) for setting, doing in declared]
        configured += [
            ConfiguredRate.now(setting, doing, api_key_id)
            for setting, doing in getattr(view_func, KEYED_BY, [])
        ]
        if view_func is None:
            return configured
        return configured + super()._get_limits_for_view_function(view_func, blueprint)

    async def _raise_on_rejection(self, endpoint: str, rate_limits: list[RateLimit]) -> None:
        # One limit at a time, so that the refusal can say which one it was.
        for limit in rate_limits:
            try:
                await super()._raise_on_rejection(endpoint, [limit])
            except RateLimitExceeded as refused:
                doing = limit.doing if isinstance(limit, ConfiguredRate) else ""
                # quart-rate-limiter always raises with whole seconds; werkzeug types the field more widely.
                raise TooMany(cast(int, refused.retry_after), doing) from None

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
        self.redis: Redis | None = None

    async def before_serving(self) -> None:
        from redis import asyncio as aioredis

        self.redis = aioredis.from_url(
            self.url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
        )

    async def ping(self) -> bool:
        """Whether Redis answers now (errors as when a count is read)."""
        return bool(await self.redis.ping())  # type: ignore[union-attr]

    @property
    def client(self) -> Redis:
        """The connection, open while the app serves."""
        if self.redis is None:
            raise RuntimeError("the rate limits' Redis store is used before the app serves")
        return self.redis

    async def get(self, key: str, default: datetime) -> datetime:
        raw = await self.client.get(key)
        return default if raw is None else datetime.fromtimestamp(float(raw), default.tzinfo)

    async def set(self, key: str, tat: datetime) -> None:
        # Past its theoretical arrival time a key means nothing: let Redis forget it then.
        ttl = max(1, int((tat - datetime.now(tat.tzinfo)).total_seconds()) + 1)
        await self.client.set(key, tat.timestamp(), ex=ttl)

    async def after_serving(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
            self.redis = None


class DatabaseStore(RateLimiterStoreABC):
    """Rate-limit state in the database, which every instance shares: where counts go while Redis is away."""

    def __init__(self, database: Callable[[], Database]) -> None:
        self.database = database
        self.writes = 0

    async def before_serving(self) -> None:
        pass

    async def get(self, key: str, default: datetime) -> datetime:
        found = await limits.tat(self.database(), key)
        return default if found is None else datetime.fromtimestamp(found, default.tzinfo)

    async def set(self, key: str, tat: datetime) -> None:
        db = self.database()
        await limits.set_tat(db, key, tat.timestamp(), tat.timestamp() + 1)
        self.writes += 1
        if self.writes % PRUNE_EVERY == 0:
            await limits.forget_expired(db, time.time())

    async def after_serving(self) -> None:
        pass


class SharedStore(RateLimiterStoreABC):
    """Counts in Redis; while Redis does not answer, in the database, until Redis answers again.

    An outage is logged once as it starts and once as it ends, and counted in
    `answers_redis_outages_total`; each count it makes the database keep is counted in
    `answers_limits_counted_in_database_total`. Counts kept in the database stay there:
    once Redis is back, a client's count starts from what Redis last knew.
    """

    def __init__(
        self, redis: RedisStore, fallback: RateLimiterStoreABC, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.redis = redis
        self.fallback = fallback
        self.clock = clock
        self.down = False
        self.retry_at = 0.0
        # Imported here: the redis package costs start-up time and memory to every app without it.
        from redis.exceptions import RedisError

        self.errors: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)

    async def before_serving(self) -> None:
        await self.redis.before_serving()

    async def get(self, key: str, default: datetime) -> datetime:
        return await self._counted(lambda store: store.get(key, default))

    async def set(self, key: str, tat: datetime) -> None:
        await self._counted(lambda store: store.set(key, tat))

    async def answers(self) -> bool:
        """Whether Redis answers now; asking also ends or starts an outage."""
        try:
            await self.redis.ping()
        except self.errors as error:
            self._went_down(error)
            return False
        self._came_back()
        return True

    async def after_serving(self) -> None:
        await self.redis.after_serving()

    async def _counted(self, work: Callable[[RateLimiterStoreABC], Awaitable[T]]) -> T:
        if not self.down or self.clock() >= self.retry_at:
            try:
                result = await work(self.redis)
            except self.errors as error:
                self._went_down(error)
            else:
                self._came_back()
                return result
        metrics.limits_in_database.inc()
        return await work(self.fallback)

    def _went_down(self, error: BaseException) -> None:
        self.retry_at = self.clock() + REDIS_RETRY_SECONDS
        if not self.down:
            self.down = True
            metrics.redis_outages.inc()
            # The URL may hold a password: the error's kind, never the address.
            log.warning(
                "Redis is not answering (%s); rate limits are counted in the database until it is back",
                type(error).__name__,
            )

    def _came_back(self) -> None:
        if self.down:
            self.down = False
            log.warning("Redis answers again; rate limits are counted there again")


async def check_redis() -> bool | None:
    """Ask Redis now whether it answers; None without REDIS_URL."""
    store: Any = current_app.extensions["rate_limiter"].store
    return await store.answers() if isinstance(store, SharedStore) else None


def init_app(app: Quart) -> None:
    """Count requests per client: in memory, or with REDIS_URL in Redis (in the database while it is away)."""
    config = app.config["ANSWERS"]
    store: RateLimiterStoreABC = MemoryStore()
    if config.redis_url:
        store = SharedStore(RedisStore(config.redis_url), DatabaseStore(lambda: app.extensions["db"]))
    app.extensions["rate_limiter"] = RateLimiter(app, key_function=client_address, store=store)
