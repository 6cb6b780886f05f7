"""Every form field, query parameter and relevant header, fuzzed: no 5xx; refused input stores nothing."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app
from app.config import Rate
from tests import figures
from tests.conftest import Visitor

# Every hostile input it holds: `make test` runs it, `make test-quick` leaves it out.
pytestmark = pytest.mark.exhaustive

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PASSWORD = "fuzzing password"

texts = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "1",
            "99999999999999999999",
            "1e3",
            "null",
            "../../etc",
            "%00",
            "\x00",
            "<script>",
            "' OR 1=1 --",
            "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
        ]
    ),
)
ids = st.one_of(st.integers(-(2**70), 2**70).map(str), texts)
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
maybe = lambda strategy: st.one_of(st.none(), strategy)  # noqa: E731


def headers_from(**values: str | None) -> dict[str, str]:
    return {name.replace("_", "-"): value for name, value in values.items() if value is not None}


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


class Ledger:
    """Counts stored rows around one fuzzed request and checks the outcome."""

    def __init__(self, db) -> None:
        self.db = db

    async def rows(self) -> tuple[int, int]:
        exchanges = await self.db.fetch_one("SELECT COUNT(*) AS n FROM exchanges")
        conversations = await self.db.fetch_one("SELECT COUNT(*) AS n FROM conversations")
        return exchanges["n"], conversations["n"]

    async def check(self, request) -> int:
        before = await self.rows()
        response = await request
        await response.get_data()
        after = await self.rows()
        figures.add("fuzz", cases=1, server_errors=response.status_code >= 500)
        assert response.status_code < 500, response.status_code
        if response.status_code >= 400:
            figures.add("fuzz", rejected=1, leaked=after != before)
            assert after == before, (response.status_code, before, after)
        return response.status_code


@pytest.fixture
def ledger(db) -> Ledger:
    return Ledger(db)


@FUZZ
@given(
    question=maybe(texts),
    conversation_id=maybe(ids),
    token=st.sampled_from(["valid", "missing", "wrong", "header"]),
    htmx=maybe(st.sampled_from(["true", "false", "1", ""])),
    origin=maybe(st.one_of(header_values, st.just("http://localhost"))),
    fetch_site=maybe(st.sampled_from(["same-origin", "same-site", "cross-site", "none", "garbage"])),
    forwarded_for=maybe(header_values),
    forwarded_proto=maybe(st.sampled_from(["https", "http", "gopher", ""])),
)
async def test_asking(
    visitor,
    ledger,
    question,
    conversation_id,
    token,
    htmx,
    origin,
    fetch_site,
    forwarded_for,
    forwarded_proto,
):
    form = {
        key: value
        for key, value in (("question", question), ("conversation_id", conversation_id))
        if value is not None
    }
    if token == "valid":
        form["csrf_token"] = visitor.csrf
    elif token == "wrong":
        form["csrf_token"] = (question or "x")[:40]
    headers = headers_from(
        HX_Request=htmx,
        Origin=origin,
        Sec_Fetch_Site=fetch_site,
        X_Forwarded_For=forwarded_for,
        X_Forwarded_Proto=forwarded_proto,
        X_CSRF_Token=visitor.csrf if token == "header" else None,
    )
    status = await ledger.check(visitor.client.post("/ask", form=form, headers=headers))
    if token == "missing" or token == "wrong" and form.get("csrf_token") != visitor.csrf:
        assert status == 403


@FUZZ
@given(
    body=st.binary(max_size=400),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "multipart/form-data; boundary=x",
            "application/json",
            "text/plain",
            "application/x-www-form-urlencoded; charset=utf-16",
            "",
        ]
    ),
    with_token=st.booleans(),
)
async def test_raw_bodies(visitor, ledger, body, content_type, with_token):
    headers = headers_from(
        Content_Type=content_type or None,
        X_CSRF_Token=visitor.csrf if with_token else None,
        HX_Request="true",
    )
    for path in ("/ask", "/logout", "/login"):
        await ledger.check(visitor.client.post(path, data=body, headers=headers))


@FUZZ
@given(
    before=maybe(ids),
    conversation=ids,
    exchange=st.integers(-5, 2**63 - 1),
    htmx=maybe(st.just("true")),
    restore=maybe(st.just("true")),
    accept=maybe(header_values),
    cookie=maybe(header_values),
)
async def test_pages_and_streams(
    visitor, ledger, before, conversation, exchange, htmx, restore, accept, cookie
):
    await visitor.ask("a question to have a row")
    headers = headers_from(HX_Request=htmx, HX_History_Restore_Request=restore, Accept=accept)
    query = "" if before is None else f"?before={quote(before, safe='')}"
    client = visitor.client
    await ledger.check(client.get(f"/list{query}", headers=headers))
    await ledger.check(client.get(f"/c/{quote(conversation, safe='')}", headers=headers))
    await ledger.check(client.get(f"/answers/{exchange}/stream", headers=headers))
    await ledger.check(client.get(f"/?q={quote(conversation, safe='')}", headers=headers))
    if cookie is not None:
        await ledger.check(client.get("/", headers={"Cookie": f"answers_session={cookie}"}))


@FUZZ
@given(password=maybe(texts), next_=maybe(texts), token=st.booleans(), htmx=maybe(st.just("true")))
async def test_signing_in_and_out(app, config, ledger, password, next_, token, htmx):
    app.config["ANSWERS"] = replace(app.config["ANSWERS"], app_password=PASSWORD)
    visitor = Visitor(app.test_client())
    await visitor.open("/login")
    form = {k: v for k, v in (("password", password), ("next", next_)) if v is not None}
    if token:
        form["csrf_token"] = visitor.csrf
    headers = headers_from(HX_Request=htmx)
    status = await ledger.check(visitor.client.post("/login", form=form, headers=headers))
    if status == 303:
        location = (await visitor.client.post("/login", form=form)).headers.get("Location", "/")
        assert location.startswith("/") and not location.startswith("//")
    await ledger.check(visitor.client.get(f"/login?next={quote(next_ or '', safe='')}", headers=headers))
    await ledger.check(visitor.client.post("/logout", form={"csrf_token": visitor.csrf} if token else {}))
