"""Ask a running GPT Answers a question over HTTP, as a browser with htmx would, printing each step.

Usage: python3 .ci/smoke.py BASE_URL [--health-only]. Standard library only, so it runs
outside the virtual environment against any instance (a container, a deployment).
"""

from __future__ import annotations

import http.cookiejar
import re
import sys
import time
import urllib.parse
import urllib.request

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')


def main(base: str, health_only: bool) -> int:
    """Run the steps; the first that fails ends the run with its reason."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def fetch(path: str, data: dict[str, str] | None = None, **headers: str) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(base + path, data=body, headers=headers)
        with opener.open(request, timeout=30) as response:
            return response.status, response.read().decode()

    deadline = time.monotonic() + 60
    while True:
        try:
            status, body = fetch("/healthz")
            break
        except OSError as error:
            if time.monotonic() > deadline:
                print(f"FAIL GET /healthz: {error}")
                return 1
            time.sleep(0.5)
    print(f"GET /healthz -> {status} {' '.join(body.split())}")
    if health_only:
        return 0
    status, body = fetch("/readyz")
    print(f"GET /readyz -> {status} {body.strip()}")

    status, page = fetch("/")
    token = CSRF.search(page)
    print(f"GET / -> {status}, CSRF token {'found' if token else 'MISSING'}")
    if not token:
        return 1
    status, fragment = fetch(
        "/ask",
        {"question": "What is 2 + 2?", "conversation_id": "", "csrf_token": token.group(1)},
        **{"HX-Request": "true"},
    )
    exchange = EXCHANGE_ID.search(fragment)
    print(f"POST /ask -> {status}, exchange {exchange.group(1) if exchange else 'MISSING'}")
    if not exchange:
        return 1
    status, stream = fetch(f"/answers/{exchange.group(1)}/stream")
    events = [block for block in stream.split("\n\n") if block.strip()]
    names = [re.search(r"^event: (\S+)", block, re.M).group(1) for block in events]
    final = next((block for block in events if block.startswith("event: final")), "")
    print(f"GET /answers/{exchange.group(1)}/stream -> {status}, events: {' '.join(names)}")
    answered = names[-2:] == ["final", "done"] and "<strong>four</strong>" in final
    print(f"answer: {' '.join(re.sub(r'<[^>]+>|data: |event: final', ' ', final).split())!r}")
    if not answered:
        print("FAIL the stream did not end with the rendered answer and a done event")
        return 1
    status, metrics = fetch("/metrics")
    moved = [
        line
        for line in metrics.splitlines()
        if line.startswith(("answers_answers_total", "answers_tokens_total"))
    ]
    print(f"GET /metrics -> {status}: " + "; ".join(moved))
    if not any(line.startswith('answers_answers_total{status="done"}') for line in moved):
        print("FAIL /metrics does not count the answer")
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1].rstrip("/"), "--health-only" in sys.argv[2:]))
