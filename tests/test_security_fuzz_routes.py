"""Every route, fuzzed: security headers on every response, no 5xx or traceback for a client's mistake."""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import create_app
from app.config import Rate
from app.web.security import SECURITY_HEADERS
from tests import figures
from tests.conftest import Visitor
from tests.test_security_fuzz_forms import FUZZ

# Every hostile input it holds: `make test` runs it, `make test-quick` leaves it out.
pytestmark = pytest.mark.exhaustive

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
PLACEHOLDER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
PASSWORD = "route fuzzing password"
# Stands for an id of the visitor's own conversation or exchange, made just before the request.
MINE = "mine"
ROUTED: set[str] = set()

VALUES = {
    "int": [
        MINE,
        "1",
        "0",
        "-1",
        "١",
        "１",
        "1" * 5000,
        "99999999999999999999",
        "9223372036854775807",
        "1.5",
        "x",
    ],
    "path": [
        "app.css",
        "vendor/htmx.min.js",
        "nope.css",
        "../../etc/passwd",
        "..%2F..%2Fsecret_key",
        "%00",
        "a" * 3000,
        "app.css/",
        "é.css",
    ],
    "default": ["csv", "ndjson", "xlsx", "CSV", "é", "a" * 3000, "..", "%00", "csv%0D%0AX-Injected: 1"],
}
METHODS = [
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "OPTIONS",
    "CONNECT",
    "TRACE",
    "PROPFIND",
    "get",
    "post",
    "M-SEARCH",
    "BREW",
    "X" * 12_000,
]
TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ODD_URLS = [
    "http://localhost/c/١",
    "http://localhost/c/" + "1" * 5000,
    "http://[",
    "/c/%00",
    "é" * 300,
    "javascript:alert(1)",
    "http://localhost/list?q=x",
    "http://localhost/c/1",
    "//evil.example/c/1",
]
SHAPES: dict[str, Callable[[str], str]] = {
    "as is": lambda path: path,
    "leading double slash": lambda path: "/" + path,
    "trailing slash": lambda path: path + "/",
    "doubled slashes": lambda path: path.replace("/", "//"),
}

header_text = st.text(alphabet=st.characters(exclude_categories=("Cc", "Cs")), max_size=200)


def odd(*values: str) -> st.SearchStrategy[str]:
    """One of the given values, or any header text."""
    return st.one_of(st.sampled_from(values), header_text)


HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "HX-Request": st.sampled_from(["true", "false", "", "TRUE", "1"]),
        "HX-Current-URL": odd(*ODD_URLS),
        "HX-Target": odd("history-results", "flash", ""),
        "HX-History-Restore-Request": st.just("true"),
        "HX-Trigger": header_text,
        "Last-Event-ID": odd("١", "1" * 5000, "-1", "0", "9" * 30),
        "Accept": odd("text/event-stream", "*/*", "text/html", "application/json", ""),
        "Range": st.sampled_from(
            [
                "bytes=0-0",
                "bytes=99999999-",
                "bytes=-1",
                "bytes=a-b",
                "bytes=0-0," * 300,
                "items=1-2",
                "bytes=5-1",
            ]
        ),
        "If-Modified-Since": odd(
            "garbage", "Thu, 01 Jan 1970 00:00:00 GMT", "Sat, 99 Foo 9999 99:99:99 GMT", "9" * 400
        ),
        "If-None-Match": odd('"x"', "*", "W/", '"' * 100),
        "If-Range": odd('"x"', "Thu, 01 Jan 1970 00:00:00 GMT"),
        "Cookie": odd(
            "answers_session=junk",
            "answers_session=" + "a" * 5000,
            "answers_session=é",
            "=;;=;",
            "a=b; " * 200,
        ),
        "X-Forwarded-For": odd("203.0.113.9", "not-an-ip", ", , ,", "1.1.1.1, " * 300, "[::1]"),
        "X-Forwarded-Proto": odd("https", "http", "gopher", "", "HTTPS, http"),
        "X-Forwarded-Host": odd("evil.example", "é"),
        # (A Host the test client cannot parse, such as "[::1", is sent to a real server in test_edges.py.)
        "Host": st.sampled_from(
            ["evil.example", "localhost:99999", "é.example", "a" * 1000, "a..b", "", "localhost"]
        ),
        "Origin": odd("http://localhost", "http://[", "null", "https://evil.example"),
        "Referer": odd(*ODD_URLS),
        "Sec-Fetch-Site": odd("same-origin", "cross-site", "none"),
        "X-Request-ID": header_text,
        "X-Filler": st.just("a" * 20_000),
        "X-Latin": st.sampled_from(["é", "\xff\xfe", "日本語", "\u0663"]),
    },
)
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded; charset=utf-16",
    "application/octet-stream",
    "é/é",
]
form_text = st.one_of(
    st.sampled_from(["", "yes", "/list\r\nX: 1", "//evil.example", "١", "1" * 5000]), st.text(max_size=100)
)
FORMS = st.fixed_dictionaries(
    {},
    optional={
        name: form_text
        for name in (
            "question",
            "title",
            "back",
            "confirmed",
            "conversation_id",
            "password",
            "next",
            "ask_key",
        )
    },
)


@dataclass
class Fuzzed:
    """One request: where, how, and with what."""

    rule: str
    values: dict[str, str]
    method: str = "GET"
    shape: str = "as is"
    headers: dict[str, str] = field(default_factory=dict)
    token: str = "valid"
    form: dict[str, str] | None = None
    body: bytes | None = None
    content_type: str | None = None
    gated: bool = False
    stranger: bool = False


@pytest.fixture
async def app(config):
    """The app with limits high enough that fuzzing reaches the views, behind a trusted local proxy."""
    app = create_app(
        replace(
            config,
            ask_rate=Rate(10**6, 1),
            login_rate=Rate(10**6, 1),
            max_streams_per_client=10**6,
            trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),),
        )
    )
    async with app.test_app():
        yield app


def rules(app) -> list[str]:
    return sorted({rule.rule for rule in app.url_map.iter_rules()})


def placeholders(rule: str) -> list[tuple[str, str]]:
    """The (converter, name) of each variable part of a rule."""
    return [(converter or "default", name) for converter, name in PLACEHOLDER.findall(rule)]


class Prober:
    """Sends fuzzed requests as one visitor and checks each response."""

    def __init__(self, app, visitor: Visitor, caplog) -> None:
        self.app = app
        self.settings = app.config["ANSWERS"]
        self.visitor = visitor
        self.caplog = caplog
        self.opened_with: list[tuple[str, str, str]] | None = None

    async def own_ids(self) -> dict[str, str]:
        response = await self.visitor.ask("a row of my own to fuzz")
        exchange_id = EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1)
        row = await self.app.extensions["db"].fetch_one(
            "SELECT conversation_id FROM exchanges WHERE id = :id", {"id": int(exchange_id)}
        )
        return {"exchange": exchange_id, "conversation": str(row["conversation_id"])}

    async def path(self, case: Fuzzed) -> str:
        mine = await self.own_ids() if MINE in case.values.values() else {}
        values = {
            name: mine["conversation" if "conversation" in name else "exchange"] if value == MINE else value
            for name, value in case.values.items()
        }
        path = PLACEHOLDER.sub(lambda match: quote(values[match.group(2)], safe="/%"), case.rule)
        return SHAPES[case.shape](path)

    def cookies(self) -> list[tuple[str, str, str]]:
        jar = self.visitor.client.cookie_jar or []
        return sorted((cookie.domain, cookie.name, cookie.value or "") for cookie in jar)

    async def send(self, case: Fuzzed) -> None:
        self.app.config["ANSWERS"] = self.settings
        # An earlier request may have changed the session (signed out, sent a junk cookie):
        # take its token again. (The token is the session's: while the cookies stay, so does it.)
        if self.opened_with != self.cookies():
            await self.visitor.open()
            self.opened_with = self.cookies()
        path = await self.path(case)
        if case.gated:
            self.app.config["ANSWERS"] = replace(self.settings, app_password=PASSWORD)
        headers = dict(case.headers)
        if case.token == "valid":
            headers["X-CSRF-Token"] = self.visitor.csrf
        elif case.token == "junk":
            headers["X-CSRF-Token"] = "junk"
        if case.content_type is not None:
            headers["Content-Type"] = case.content_type
        form = case.form
        if form is not None and case.token == "valid":
            form = {**form, "csrf_token": self.visitor.csrf}
        self.caplog.clear()
        client = self.app.test_client() if case.stranger else self.visitor.client
        response = await client.open(
            path, method=case.method, headers=headers, form=form, data=case.body if form is None else None
        )
        await response.get_data()
        self.check(case, response)

    def check(self, case: Fuzzed, response) -> None:
        missing = [name for name in SECURITY_HEADERS if name not in response.headers]
        failures = [record.getMessage() for record in self.caplog.records if record.exc_info]
        lines = [record for record in self.caplog.records if record.name == "app.requests"]
        ROUTED.add(case.rule)
        figures.add("routes", requests=1, unguarded=bool(missing), tracebacks=len(failures))
        figures.at_least("routes", "routes", len(ROUTED))
        where = (case.method[:20], case.rule, response.status_code)
        assert not missing, (where, missing)
        assert not failures, (where, failures)
        assert response.status_code < 500, where
        location = response.headers.get("Location", "/")
        assert location.startswith("/") and not location.startswith(("//", "/\\")), (where, location)
        assert len(lines) == 1, (where, [line.getMessage() for line in lines])


@pytest.fixture
async def prober(app, visitor, caplog) -> Prober:
    caplog.set_level(logging.INFO)
    return Prober(app, visitor, caplog)


def plain_values(rule: str) -> dict[str, str]:
    return {
        name: {"int": MINE, "path": "app.css", "default": "csv"}[converter]
        for converter, name in placeholders(rule)
    }


async def test_every_route_answers_every_method(app, prober):
    for rule in rules(app):
        for method in METHODS:
            await prober.send(Fuzzed(rule, plain_values(rule), method=method))
    assert ROUTED >= set(rules(app))


REPRODUCED = [
    Fuzzed("/", {}, method="M" + "X" * 12_000),
    Fuzzed("/", {}, method="get"),
    Fuzzed("/static/<path:filename>", {"filename": "nope.css"}, stranger=True),
    Fuzzed("/static/<path:filename>", {"filename": "app.css"}, headers={"Range": "bytes=99999999-"}),
    Fuzzed(
        "/c/<int:conversation_id>",
        {"conversation_id": "1"},
        shape="doubled slashes",
        headers={"Host": "evil.example"},
    ),
    Fuzzed("/c/<int:conversation_id>", {"conversation_id": "١"}),
    Fuzzed("/c/<int:conversation_id>", {"conversation_id": "1" * 5000}),
    Fuzzed(
        "/c/<int:conversation_id>/rename",
        {"conversation_id": MINE},
        method="POST",
        form={"title": "t"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/c/١"},
    ),
    Fuzzed(
        "/c/<int:conversation_id>/delete",
        {"conversation_id": MINE},
        method="POST",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/c/" + "1" * 5000},
    ),
    Fuzzed(
        "/c/<int:conversation_id>/delete",
        {"conversation_id": MINE},
        method="POST",
        form={},
        headers={"Referer": "http://["},
    ),
    Fuzzed(
        "/list/exchanges/<int:exchange_id>/delete",
        {"exchange_id": MINE},
        method="POST",
        form={"back": "/list\r\nSet-Cookie: stolen=1", "confirmed": "yes"},
    ),
    Fuzzed(
        "/c/<int:conversation_id>/delete",
        {"conversation_id": MINE},
        method="POST",
        form={"back": "/list\r\nSet-Cookie: stolen=1", "confirmed": "yes"},
    ),
    Fuzzed("/ask", {}, method="POST", form={"question": "q"}, headers={"Origin": "http://["}),
    Fuzzed("/list", {}, headers={"HX-Request": "true", "HX-Target": "history-results"}, gated=True),
    Fuzzed("/login", {}, method="POST", form={"password": "x", "next": "/list\r\nX: 1"}, gated=True),
]


@pytest.mark.parametrize("case", REPRODUCED, ids=lambda case: f"{case.method[:10]} {case.rule}")
async def test_reproduced_client_mistakes(prober, case):
    await prober.send(case)


@st.composite
def fuzzed(draw, all_rules: list[str]) -> Fuzzed:
    rule = draw(st.sampled_from(all_rules))
    values = {
        name: draw(st.one_of(st.sampled_from(VALUES[converter]), st.text(max_size=30)))
        for converter, name in placeholders(rule)
    }
    body_kind = draw(st.sampled_from(["none", "form", "bytes", "oversized"]))
    form = draw(FORMS) if body_kind == "form" else None
    body = {"bytes": draw(st.binary(max_size=300)), "oversized": b"x" * (128 * 1024 + 1)}.get(body_kind)
    return Fuzzed(
        rule,
        values,
        method=draw(
            st.one_of(st.sampled_from(METHODS), st.text(alphabet=TOKEN_CHARS, min_size=1, max_size=64))
        ),
        shape=draw(st.sampled_from(list(SHAPES))),
        headers=draw(HEADERS),
        token=draw(st.sampled_from(["valid", "valid", "none", "junk"])),
        form=form,
        body=body,
        content_type=draw(st.one_of(st.none(), st.sampled_from(CONTENT_TYPES)))
        if body_kind == "bytes"
        else None,
        gated=draw(st.booleans()),
        stranger=draw(st.booleans()),
    )


@FUZZ
@given(data=st.data())
async def test_fuzzed_requests_to_every_route(app, prober, data):
    await prober.send(data.draw(fuzzed(rules(app))))
