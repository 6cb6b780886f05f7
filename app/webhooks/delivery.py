"""Webhook delivery: each endpoint's line sent in order, one at a time, by the instance holding its lease.

Nothing here is on an answer's path: events wait in the outbox, and each instance's
deliverer sends what is due to the endpoints whose lease it takes. A failed event is
tried again after a backoff that doubles (with jitter) for 24 hours, then dead; the
events behind it wait meanwhile. An instance that dies mid-send leaves its lease to
lapse, and the next holder sends that event again under the same webhook-id.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import secrets
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

from .. import metrics
from ..config import Config, address_refusal
from ..storage import Database, DatabaseUnavailable, Row, outbox
from ..storage.dialects import as_datetime
from . import signing

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# How long events are retried before they are dead.
GIVE_UP_AFTER = timedelta(hours=24)
# How often each endpoint's line is looked at, and how long sent events are kept to be seen.
POLL_SECONDS = 1.0
KEEP_SENT = timedelta(days=7)
# An endpoint's lease outlives one request comfortably.
LEASE_MARGIN_SECONDS = 30.0
USER_AGENT = "GPT-Answers-Webhooks/1"


def utc_now() -> datetime:
    """The time now, in UTC."""
    return datetime.now(UTC)


def _time(stored: object) -> datetime:
    moment = as_datetime(stored)
    assert moment is not None
    return moment


class GuardedResolver(ThreadedResolver):
    """Names resolved as usual, keeping only the addresses a webhook may reach (WEBHOOK_ALLOW_PRIVATE)."""

    def __init__(self, allow_private: bool) -> None:
        super().__init__()
        self.allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await super().resolve(host, port, family)
        allowed = [
            result
            for result in found
            if address_refusal(ipaddress.ip_address(result["host"]), self.allow_private) is None
        ]
        if not allowed:
            raise OSError(f"{host} resolves only to addresses webhooks may not reach")
        return allowed


class Deliverer:
    """One instance's deliveries: a loop per endpoint, each sending its line while it holds the lease."""

    def __init__(
        self,
        db: Database,
        config: Config,
        clock: Clock = utc_now,
        jitter: Callable[[], float] = random.random,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.jitter = jitter
        self.poll_seconds = poll_seconds
        routes = config.webhook_routes
        self.routes = {event: [outbox.endpoint_key(url) for url in urls] for event, urls in routes.items()}
        self.endpoints = {outbox.endpoint_key(url): url for urls in routes.values() for url in urls}
        # This instance, as the lease holder it is to the others.
        self.owner = secrets.token_hex(8)
        self.lease = timedelta(seconds=config.webhook_timeout + LEASE_MARGIN_SECONDS)
        self.session: aiohttp.ClientSession | None = None
        self.task: asyncio.Task[Any] | None = None

    async def start(self, keep_delivering: bool = True) -> None:
        """Say which endpoints take which events, and (unless told not to) deliver until closed."""
        await outbox.route(self.db, self.routes)
        if not self.endpoints:
            return
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(resolver=GuardedResolver(self.config.webhook_allow_private)),
            timeout=aiohttp.ClientTimeout(total=self.config.webhook_timeout),
        )
        if keep_delivering:
            self.task = asyncio.create_task(self._keep_delivering(), name="webhooks")

    async def close(self) -> None:
        """Stop delivering (an event being sent is sent again by the next holder) and give the leases back."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
        for endpoint in self.endpoints:
            await self._release(endpoint)
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def deliver(self) -> int:
        """One pass over every endpoint: send what is due; return how many events were sent."""
        sent = await asyncio.gather(*(self.deliver_to(endpoint) for endpoint in self.endpoints))
        return sum(sent)

    async def deliver_to(self, endpoint: str) -> int:
        """Send an endpoint's due events in order while this instance holds its lease; return how many."""
        sent = 0
        now = self.clock()
        if not await outbox.claim(self.db, endpoint, self.owner, now, now + self.lease):
            return 0
        try:
            while (event := await outbox.head(self.db, endpoint)) is not None:
                now = self.clock()
                if _time(event["next_at"]) > now:
                    break
                # Renewed before each request: the lease outlasts the request's timeout.
                if not await outbox.claim(self.db, endpoint, self.owner, now, now + self.lease):
                    break
                error = await self._post(self.endpoints[endpoint], event)
                if error is None:
                    await outbox.mark_sent(self.db, event["id"], self.owner, self.clock())
                    metrics.webhook_attempts.labels("sent").inc()
                    sent += 1
                    continue
                now = self.clock()
                retry_from = self.retry_from(event, now)
                retry_at = self.retry_at(event, retry_from, now)
                await outbox.mark_failed(self.db, event["id"], self.owner, error, retry_from, retry_at)
                metrics.webhook_attempts.labels("failed" if retry_at else "dead").inc()
                if retry_at is None:
                    log.warning("webhook event %s is dead after 24 hours: %s", event["event_id"], error)
                    continue
                break  # the line waits behind its first event
        finally:
            await self._release(endpoint)
        return sent

    @staticmethod
    def retry_from(event: Row, now: datetime) -> datetime:
        """When an event's 24 hours of retries began: at its first failed attempt (or since sent again)."""
        return now if event["attempts"] == 0 else _time(event["retry_from"])

    def retry_at(self, event: Row, retry_from: datetime, now: datetime) -> datetime | None:
        """When a failed event is tried again: later each time, with jitter; None once 24 hours are spent."""
        ends = retry_from + GIVE_UP_AFTER
        if now >= ends:
            return None
        wait = min(
            self.config.webhook_retry_seconds * 2 ** event["attempts"], self.config.webhook_retry_max_seconds
        )
        return min(now + timedelta(seconds=wait * (0.5 + self.jitter() / 2)), ends)

    async def _post(self, url: str, event: Row) -> str | None:
        """Send one event, signed; None when the endpoint took it (2xx), else why not."""
        assert self.session is not None
        body = event["body"].encode()
        headers = signing.headers(
            self.config.webhook_secret, event["event_id"], int(self.clock().timestamp()), body
        )
        headers |= {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        try:
            async with self.session.post(url, data=body, headers=headers, allow_redirects=False) as response:
                if 200 <= response.status < 300:
                    return None
                if 300 <= response.status < 400:
                    return f"HTTP {response.status}: redirects are not followed"
                return f"HTTP {response.status}"
        except TimeoutError:
            return f"no reply within {self.config.webhook_timeout:g} s"
        except (aiohttp.ClientError, OSError) as error:
            return f"could not connect: {error}"

    async def _keep_delivering(self) -> None:
        await asyncio.gather(
            *(self._keep_delivering_to(endpoint) for endpoint in self.endpoints), self._keep_sweeping()
        )

    async def _keep_delivering_to(self, endpoint: str) -> None:
        while True:
            try:
                await self.deliver_to(endpoint)
            except DatabaseUnavailable as error:
                log.info("webhooks wait for the database: %s", error)
            except Exception:
                log.exception("delivering webhooks failed")
            # Jittered, so that instances started together do not poll in step.
            await asyncio.sleep(self.poll_seconds * random.uniform(0.8, 1.2))

    async def _keep_sweeping(self) -> None:
        while True:
            try:
                while await outbox.sweep_sent(self.db, self.clock() - KEEP_SENT):
                    pass
            except Exception:
                log.warning("sweeping sent webhook events failed", exc_info=True)
            await asyncio.sleep(3600)

    async def _release(self, endpoint: str) -> None:
        try:
            await outbox.release(self.db, endpoint, self.owner)
        except Exception:
            # Its lease lapses on its own.
            log.info("could not give back the lease of a webhook endpoint", exc_info=True)
