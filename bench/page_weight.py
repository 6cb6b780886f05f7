"""Weigh the chat page's first load as Chromium fetches it: requests, bytes on the wire, decoded bytes.

Run with `make bench-weight`. Bytes on the wire are what Chromium received (headers and
bodies, compressed as negotiated), read from the DevTools protocol; decoded bytes are
the bodies after decompression. A repeat visit, in the same browser, counts the requests
that still reach the server (cached files should not). The budget: 5 requests and 35 KB
on the wire for the first load, 108 KB decoded, 2 requests for a repeat visit.
"""

from __future__ import annotations

import gzip
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, AppServer
from tests.fake_llm import FakeLLM

BUDGET_BYTES = 108_000
BUDGET_WIRE_BYTES = 35_000
BUDGET_REQUESTS = 5
BUDGET_REPEAT_REQUESTS = 2


@dataclass
class Weight:
    """What one page load fetched."""

    urls: list[str] = field(default_factory=list)
    raw: int = 0
    gzipped: int = 0
    wire: int = 0
    htmx_raw: int = 0
    htmx_wire: int = 0
    repeat_urls: list[str] = field(default_factory=list)
    repeat_wire: int = 0

    @property
    def requests(self) -> int:
        return len(self.urls)

    @property
    def repeat_requests(self) -> int:
        return len(self.repeat_urls)

    def foreign(self, origin: str) -> list[str]:
        """The requests that went to another origin than the app's."""
        own = urlsplit(origin).netloc
        return [url for url in self.urls if urlsplit(url).netloc != own]


class _Wire:
    """The requests of a page that reached the network, and the bytes each took, from DevTools."""

    def __init__(self, context: BrowserContext, page: Any) -> None:
        self.urls: dict[str, str] = {}
        self.bytes: dict[str, int] = {}
        self.cached: set[str] = set()
        session = context.new_cdp_session(page)
        session.on("Network.responseReceived", self._received)
        session.on("Network.requestServedFromCache", lambda event: self.cached.add(event["requestId"]))
        session.on("Network.loadingFinished", self._finished)
        session.send("Network.enable")

    def _received(self, event: dict[str, Any]) -> None:
        response = event["response"]
        if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            self.cached.add(event["requestId"])
        self.urls[event["requestId"]] = response["url"]

    def _finished(self, event: dict[str, Any]) -> None:
        self.bytes[event["requestId"]] = int(event["encodedDataLength"])

    def take(self) -> tuple[dict[str, int], list[str]]:
        """The bytes by URL of the requests that went over the network since the last take, in order."""
        sent = {
            self.urls[key]: size
            for key, size in self.bytes.items()
            if key not in self.cached and key in self.urls
        }
        self.urls, self.bytes, self.cached = {}, {}, set()
        return sent, list(sent)


def weigh(browser: Browser, url: str) -> Weight:
    """Load a page in a fresh context until the network is idle, then again; add up what each load took."""
    weight = Weight()
    context = browser.new_context()
    page = context.new_page()
    wire = _Wire(context, page)
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.on("requestfailed", lambda request: weight.urls.append(request.url))
    page.goto(url, wait_until="networkidle")
    for response in responses:
        body = response.body()
        weight.urls.append(response.url)
        weight.raw += len(body)
        weight.gzipped += len(gzip.compress(body, compresslevel=9))
        if "/htmx.min." in response.url:
            weight.htmx_raw = len(body)
    sizes, _ = wire.take()
    weight.wire = sum(sizes.values())
    weight.htmx_wire = sum(size for address, size in sizes.items() if "/htmx.min." in address)
    page.goto(url, wait_until="networkidle")
    sizes, weight.repeat_urls = wire.take()
    weight.repeat_wire = sum(sizes.values())
    context.close()
    return weight


def report(name: str, weight: Weight, origin: str) -> str:
    """The figures for a page: first load (on the wire and decoded) and repeat visit."""
    return (
        f"{name}: {weight.requests} requests (budget {BUDGET_REQUESTS}), "
        f"{weight.wire / 1000:.1f} KB on the wire ({weight.wire / BUDGET_WIRE_BYTES:.0%} of budget, "
        f"htmx {weight.htmx_wire / 1000:.1f} KB of it), "
        f"{weight.raw / 1000:.1f} KB decoded ({weight.raw / BUDGET_BYTES:.0%} of budget, "
        f"{weight.raw / weight.htmx_raw:.2f}x htmx alone), "
        f"{len(weight.foreign(origin))} requests to other origins; "
        f"repeat visit: {weight.repeat_requests} requests (budget {BUDGET_REPEAT_REQUESTS}), "
        f"{weight.repeat_wire / 1000:.1f} KB on the wire"
    )


def main() -> None:
    model = FakeLLM().start_in_thread()
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        server = AppServer(Path(folder), model.url)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            weight = weigh(browser, server.url + "/")
            print(report("first load of /", weight, server.url))
            for url in weight.urls:
                print(f"  {url.removeprefix(server.url)}")
            print(report("first load of /list", weigh(browser, server.url + "/list"), server.url))
        finally:
            browser.close()
            server.stop()
            model.stop_thread()


if __name__ == "__main__":
    main()
