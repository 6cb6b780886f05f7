"""Client mistakes at the edges: bounded metrics, headers everywhere, path-only redirects, private files."""

from __future__ import annotations

import logging
import os
import re
import socket
import stat
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from quart.testing.connections import WebsocketResponseError

from app import create_app, metrics
from app.config import Config
from app.storage import DatabaseUnavailable, Spool, conversations
from app.web import errors
from app.web.guard import path_only
from app.web.security import SECURITY_HEADERS
from tests.browser.conftest import AppServer

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
# Addresses a page could never have, sent where a view reads the address of the page that sent the request.
JUNK_PAGE_URLS = [
    "http://localhost/c/١",
    "http://localhost/c/" + "1" * 5000,
    "http://localhost/c/99999999999999999999",
    "http://[",
    "/c/%00",
    "\x00",
    "é" * 3000,
    "javascript:alert(1)",
]


def assert_guarded(response) -> None:
    """Every security header is there."""
    missing = [name for name in SECURITY_HEADERS if name not in response.headers]
    assert not missing, (response.status_code, missing)


def tracebacks(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.exc_info]


async def scrape(client) -> str:
    response = await client.get("/metrics")
    return await response.get_data(as_text=True)


def request_labels(text: str) -> list[dict[str, str]]:
    return [
        sample.labels
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "answers_http_requests_total"
    ]


async def test_made_up_methods_and_paths_share_a_few_metric_labels_and_are_cut_in_the_log(
    app, client, caplog
):
    caplog.set_level(logging.INFO, logger="app.requests")
    await client.open("/", method="MADE-UP")
    await client.open("/nowhere", method="get")
    await scrape(client)
    before = await scrape(client)
    for n in range(100):
        assert (await client.open("/", method=f"M{n:03d}" + "X" * 2000)).status_code == 405
        assert (await client.open("/nowhere/" + "y" * 2000 + str(n), method="get")).status_code == 404
    after = await scrape(client)
    assert len(after) - len(before) < 200
    assert {labels["method"] for labels in request_labels(after)} <= KNOWN_METHODS | {"other"}
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    assert {labels["route"] for labels in request_labels(after)} <= routes | {"<unmatched>"}
    lines = [record for record in caplog.records if record.getMessage() == "request"]
    assert len(lines) == 205
    assert max(len(record.method) for record in lines) <= 17
    assert max(len(record.path) for record in lines) <= 257


@pytest.mark.parametrize(
    ("status", "label"), [(200, "200"), (404, "404"), (418, "418"), (599, "5xx"), (299, "2xx")]
)
def test_a_status_label_is_a_known_code_or_its_class(status, label):
    assert metrics.status_label(status) == label


@pytest.mark.parametrize(
    "path", ["/static/nope.css", "/static/../../etc/passwd", "/static/%00", "/static/" + "a" * 3000]
)
async def test_a_missing_static_file_is_a_plain_404_with_the_headers(client, caplog, path):
    response = await client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/plain"
    assert_guarded(response)
    assert "Set-Cookie" not in response.headers
    assert not tracebacks(caplog)


async def test_an_unsatisfiable_range_on_a_static_file_is_a_plain_416_with_the_headers(client, caplog):
    response = await client.get("/static/app.css", headers={"Range": "bytes=99999999-"})
    assert response.status_code == 416
    assert_guarded(response)
    assert not tracebacks(caplog)


async def test_a_websocket_is_refused_with_a_404_and_the_headers(client, caplog):
    async with client.websocket("/") as connection:
        with pytest.raises(WebsocketResponseError) as refused:
            await connection.receive()
    assert refused.value.response.status_code == 404
    assert_guarded(refused.value.response)
    assert not tracebacks(caplog)


async def test_a_websocket_is_closed_when_the_server_cannot_answer_it_in_http(app, caplog):
    sent = []

    async def receive():
        return {"type": "websocket.connect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
        "subprotocols": [],
        "extensions": {},
    }
    await app(scope, receive, send)
    assert [message["type"] for message in sent] == ["websocket.close"]
    assert not tracebacks(caplog)


@pytest.mark.parametrize("url", JUNK_PAGE_URLS)
async def test_renaming_and_deleting_from_an_odd_page_address_still_answers(visitor, db, caplog, url):
    response = await visitor.ask("a conversation to rename and delete")
    exchange_id = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    row = await db.fetch_one(
        "SELECT conversation_id, owner FROM exchanges WHERE id = :id", {"id": exchange_id}
    )
    headers = {"HX-Request": "true", "X-CSRF-Token": visitor.csrf, "HX-Current-URL": url}
    path = f"/c/{row['conversation_id']}"
    renamed = await visitor.client.post(f"{path}/rename", form={"title": "renamed"}, headers=headers)
    assert renamed.status_code == 200
    deleted = await visitor.client.post(f"{path}/delete", headers=headers)
    assert deleted.status_code == 200 and "HX-Redirect" not in deleted.headers
    assert await conversations.get(db, row["conversation_id"], row["owner"]) is None
    assert not tracebacks(caplog)


@pytest.mark.parametrize("back", JUNK_PAGE_URLS)
async def test_deleting_without_javascript_from_an_odd_page_goes_to_the_chat(visitor, db, caplog, back):
    response = await visitor.ask("a conversation to delete without JavaScript")
    exchange_id = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    row = await db.fetch_one("SELECT conversation_id FROM exchanges WHERE id = :id", {"id": exchange_id})
    deleted = await visitor.client.post(
        f"/c/{row['conversation_id']}/delete",
        form={"csrf_token": visitor.csrf, "back": back, "confirmed": "yes"},
    )
    location = deleted.headers["Location"]
    assert deleted.status_code == 303 and location.startswith("/") and not location.startswith("//")
    assert location.isascii() and location.isprintable()
    assert not tracebacks(caplog)


@pytest.mark.parametrize(
    ("back", "location"),
    [
        ("/list\r\nSet-Cookie: stolen=1", "/list"),
        ("/list\n", "/list"),
        ("/list\x00", "/list"),
        ("//evil.example/list", "/list"),
        ("/list\\..\\..", "/list"),
        ("/listing", "/list"),
        ("/c/1", "/list"),
        ("/list?q=١", "/list?q=%D9%A1"),
        ("/list?q=tea&status=done", "/list?q=tea&status=done"),
    ],
)
async def test_deleting_without_javascript_goes_back_only_to_the_history(visitor, db, caplog, back, location):
    response = await visitor.ask("an exchange to delete without JavaScript")
    exchange_id = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    form = {"csrf_token": visitor.csrf, "back": back}
    asked = await visitor.client.post(f"/list/exchanges/{exchange_id}/delete", form=form)
    assert asked.status_code == 200
    assert f'href="{location.replace("&", "&amp;")}"' in await asked.get_data(as_text=True)
    done = await visitor.client.post(
        f"/list/exchanges/{exchange_id}/delete", form={**form, "confirmed": "yes"}
    )
    assert done.status_code == 303 and done.headers["Location"] == location
    assert not tracebacks(caplog)


@pytest.mark.parametrize("origin", ["http://[", "http://[::1", "http://localhost:99999", "\x7f"])
async def test_an_unreadable_origin_is_refused_as_foreign(visitor, caplog, origin):
    response = await visitor.client.post(
        "/ask", form={"question": "q", "csrf_token": visitor.csrf}, headers={"Origin": origin}
    )
    assert response.status_code == 403
    assert not tracebacks(caplog)


async def test_ids_in_addresses_are_ascii_digits(visitor, caplog):
    await visitor.ask("conversation one")
    assert (await visitor.client.get("/c/1")).status_code == 200
    for odd in ("١", "１", "1" * 5000, "99999999999999999999", "0"):
        response = await visitor.client.get(f"/c/{odd}")
        assert response.status_code == 404, odd
        assert_guarded(response)
    assert not tracebacks(caplog)


@pytest.mark.parametrize("host", ["evil.example", "localhost", "evil.example:8443"])
async def test_a_redirect_never_names_the_host_the_request_gave(client, host):
    response = await client.get("//c//1", headers={"Host": host})
    assert response.status_code == 308
    assert response.headers["Location"] == "/c/1"
    assert_guarded(response)


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (b"/c/1", b"/c/1"),
        (b"http://evil.example/c/1", b"/c/1"),
        (b"https://evil.example//evil.example/x?y=1#z", b"/evil.example/x?y=1#z"),
        (b"//evil.example/", b"/"),
        (b"http://evil.example", b"/"),
        (b"/\\evil.example", b"/evil.example"),
        (b"\\\\evil.example", b"/evil.example"),
        (b" //evil.example/x", b"/x"),
        (b"/\t/evil.example", b"/"),
        (b"http://[", b"/"),
        (b"/list?q=a b#c", b"/list?q=a b#c"),
    ],
)
def test_a_location_is_cut_to_its_path(location, expected):
    assert path_only(location) == expected


async def test_an_error_page_that_cannot_be_rendered_becomes_plain_text_with_the_headers(
    visitor, monkeypatch
):
    async def broken(*args, **kwargs):
        raise RuntimeError("the template is broken")

    monkeypatch.setattr(errors, "render", broken)
    response = await visitor.client.get("/nowhere")
    assert response.status_code == 404 and response.mimetype == "text/plain"
    assert "There is nothing at this address." in await response.get_data(as_text=True)
    assert_guarded(response)


async def test_a_failure_outside_every_handler_is_a_plain_500_with_the_headers(
    app, client, monkeypatch, caplog
):
    async def broken(request):
        raise RuntimeError("nothing handles this")

    monkeypatch.setattr(app, "handle_request", broken)
    response = await client.get("/")
    assert response.status_code == 500 and response.mimetype == "text/plain"
    assert_guarded(response)
    assert "X-Request-ID" in response.headers
    assert tracebacks(caplog)


async def test_a_view_keeps_a_security_header_it_sets_itself(app, client):
    @app.get("/framed-on-purpose")
    async def framed():
        return "", 200, {"X-Frame-Options": "SAMEORIGIN"}

    response = await client.get("/framed-on-purpose")
    assert response.headers.get_all("X-Frame-Options") == ["SAMEORIGIN"]
    assert_guarded(response)


async def test_csv_and_ndjson_exports_name_their_charset_once(visitor):
    csv_export = await visitor.client.get("/list/export.csv")
    assert csv_export.headers["Content-Type"] == "text/csv; charset=utf-8"
    ndjson_export = await visitor.client.get("/list/export.ndjson")
    assert ndjson_export.headers["Content-Type"] == "application/x-ndjson"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class Unreachable:
    """A database that is never there, so that every write goes to the spool."""

    async def execute(self, sql, params=None):
        raise DatabaseUnavailable("not there")


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


async def test_the_instance_folder_database_secret_and_spool_are_private(tmp_path, model, umask_022):
    instance = tmp_path / "instance"
    config = Config.from_env(
        {"INSTANCE_PATH": str(instance), "LLM_BASE_URL": model.url, "OPENAI_API_KEY": "k"}
    )
    app = create_app(config)
    async with app.test_app():
        client = app.test_client()
        page = await (await client.get("/")).get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        asked = await client.post(
            "/ask", form={"question": "q", "csrf_token": token}, headers={"HX-Request": "true"}
        )
        assert asked.status_code == 200
        database = instance / "answers.db"
        assert mode(instance) == 0o700
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm"), instance / "secret_key"):
            assert mode(path) == 0o600, path
    spool = Spool(instance / "spool", Unreachable(), retry_for=0)  # type: ignore[arg-type]
    assert not await spool.write(
        "finish",
        {"id": 1, "answer": "a", "status": "done", "model": "m", "answered_at": "2026-01-02 03:04:05"},
    )
    assert mode(instance / "spool") == 0o700
    spooled = {path.name: mode(path) for path in (instance / "spool").iterdir()}
    assert {"pending.jsonl", "append.lock"} <= set(spooled) and set(spooled.values()) == {0o600}


async def test_existing_folders_and_files_keep_the_modes_they_have(tmp_path, model, umask_022):
    folder = tmp_path / "data"
    folder.mkdir(mode=0o750)
    os.chmod(folder, 0o750)
    database = folder / "answers.db"
    database.touch()
    os.chmod(database, 0o640)
    config = Config(
        database_url=f"sqlite:///{database}",
        instance_path=folder,
        secret_key="s" * 40,
        llm_base_url=model.url,
        openai_api_key="k",
    )
    async with create_app(config).test_app():
        pass
    assert (mode(folder), mode(database)) == (0o750, 0o640)


def raw_request(server: AppServer, head: bytes) -> bytes:
    """Send raw bytes to the server and read the head of its answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n\r\n", 1)[0].lower()


def metrics_size(server: AppServer) -> int:
    return len(raw_body(server, b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))


def raw_body(server: AppServer, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.split(b"\r\n\r\n", 1)[1]


def test_a_real_server_answers_odd_requests_with_the_headers_and_no_traceback(tmp_path, model):
    server = AppServer(tmp_path, model.url)
    try:
        upgrade = raw_request(
            server,
            (
                b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ),
        )
        assert upgrade.startswith(b"http/1.1 404") and b"content-security-policy:" in upgrade
        missing = raw_request(
            server, b"GET /static/nope.css HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        assert missing.startswith(b"http/1.1 404") and b"content-security-policy:" in missing
        moved = raw_request(server, b"GET //c//1 HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        assert moved.startswith(b"http/1.1 308") and b"\r\nlocation: /c/1" in moved
        odd_bytes = raw_request(
            server,
            (
                b"GET /list HTTP/1.1\r\nHost: localhost\r\nHX-Request: true\r\n"
                b"HX-Current-URL: /c/\xd9\xa1\xff\r\n"
                b"Cookie: answers_session=\xff\xfe\r\nConnection: close\r\n\r\n"
            ),
        )
        assert odd_bytes.startswith(b"http/1.1 200") and b"content-security-policy:" in odd_bytes
        for host, status in ((b"a" * 1000, b"400"), (b"[::1", b"200"), (b"\xe9.example", b"200")):
            answer = raw_request(
                server, b"GET / HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"
            )
            assert answer.startswith(b"http/1.1 " + status) and b"content-security-policy:" in answer, host
        before = metrics_size(server)
        for n in range(50):
            method = b"M%03d" % n + b"X" * 12_000
            answer = raw_request(
                server, method + b" / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            )
            assert answer.startswith(b"http/1.1 405") and b"content-security-policy:" in answer
        assert metrics_size(server) - before < 2000
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Traceback" not in log and '"level":"error"' not in log
