"""Weigh the chat page's first load as Chromium fetches it: requests, bytes, gzip bytes, origins.

Run with `make bench-weight`. The figures are compared with htmx.min.js alone, measured in
the same run, and with the budget: 100 KB uncompressed and 35 KB gzip in total.
"""

from __future__ import annotations

import gzip
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, AppServer
from tests.fake_llm import FakeLLM

BUDGET_BYTES = 100_000
BUDGET_GZIP_BYTES = 35_000


@dataclass
class Weight:
    """What one page load fetched."""

    urls: list[str] = field(default_factory=list)
    raw: int = 0
    gzipped: int = 0
    htmx_raw: int = 0
    htmx_gzipped: int = 0

    @property
    def requests(self) -> int:
        return len(self.urls)

    def foreign(self, origin: str) -> list[str]:
        """The requests that went to another origin than the app's."""
        own = urlsplit(origin).netloc
        return [url for url in self.urls if urlsplit(url).netloc != own]


def weigh(browser: Browser, url: str) -> Weight:
    """Load a page in a fresh context and add up every response it needed, until the network is idle."""
    weight = Weight()
    context = browser.new_context()
    page = context.new_page()
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.on("requestfailed", lambda request: weight.urls.append(request.url))
    page.goto(url, wait_until="networkidle")
    for response in responses:
        body = response.body()
        weight.urls.append(response.url)
        weight.raw += len(body)
        weight.gzipped += len(gzip.compress(body, compresslevel=9))
        if response.url.endswith("/htmx.min.js"):
            weight.htmx_raw, weight.htmx_gzipped = len(body), len(gzip.compress(body, compresslevel=9))
    context.close()
    return weight


def report(name: str, weight: Weight, origin: str) -> str:
    """One line of figures for a page."""
    return (
        f"{name}: {weight.requests} requests, {weight.raw / 1000:.1f} KB uncompressed "
        f"({weight.raw / BUDGET_BYTES:.0%} of budget, {weight.raw / weight.htmx_raw:.2f}x htmx alone), "
        f"{weight.gzipped / 1000:.1f} KB gzip ({weight.gzipped / BUDGET_GZIP_BYTES:.0%} of budget, "
        f"{weight.gzipped / weight.htmx_gzipped:.2f}x htmx alone), "
        f"{len(weight.foreign(origin))} requests to other origins"
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
