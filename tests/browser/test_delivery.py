"""Compression and caching headers on each kind of response: page, file, fragment, stream, error, redirect."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Response, expect

pytestmark = pytest.mark.browser

IMMUTABLE = "public, max-age=31536000, immutable"
PRIVATE = "private, no-cache"


def headers(response: Response) -> dict[str, str]:
    return response.all_headers()


def test_every_kind_of_response_is_compressed_and_cached_as_it_should(page, server, model, problems):
    problems.allow("status of 404")
    model.configure(answer="A cached and compressed answer. " * 20)
    seen: list[Response] = []
    page.on("response", lambda response: seen.append(response))
    page.goto(server.url)

    document = headers(seen[0])
    assert document["content-encoding"] == "br" and "Accept-Encoding" in document["vary"]
    assert document["cache-control"] == PRIVATE
    files = [response for response in seen if "/static/" in response.url]
    assert len(files) == 4
    for file in files:
        sent = headers(file)
        assert re.search(r"\.[0-9a-f]{10}\.(css|js)$", file.url), file.url
        # Brotli at its best is made in a thread after start-up; gzip is sent until it is ready.
        assert sent["cache-control"] == IMMUTABLE and sent["content-encoding"] in ("br", "gzip"), file.url
        assert "Cookie" not in sent.get("vary", "") and "set-cookie" not in sent, file.url

    seen.clear()
    question = page.get_by_label("Your question")
    question.fill("Is this fragment compressed, and is its stream left alone?")
    question.press("Enter")
    expect(page.locator("article.answer")).to_contain_text("A cached and compressed answer.")
    expect(page.locator("article.answer.live")).to_have_count(0)
    fragment = next(response for response in seen if response.url.endswith("/ask"))
    assert headers(fragment)["content-encoding"] == "br" and headers(fragment)["cache-control"] == PRIVATE
    stream = next(response for response in seen if "/stream" in response.url)
    assert "content-encoding" not in headers(stream)
    assert headers(stream)["cache-control"] == "no-cache"
    assert headers(stream)["content-type"].startswith("text/event-stream")

    token = page.locator("#composer input[name=csrf_token]").get_attribute("value")
    missing = page.goto(server.url + "/c/424242")
    assert missing.status == 404 and headers(missing)["content-encoding"] == "br"
    assert headers(missing)["cache-control"] == PRIVATE

    redirect = page.request.post(
        server.url + "/ask",
        form={"question": "Redirect me?", "conversation_id": "", "csrf_token": token},
        max_redirects=0,
    )
    assert redirect.status == 303 and re.match(r"^/c/\d+#exchange-\d+$", redirect.headers["location"])
    assert redirect.headers["cache-control"] == PRIVATE
