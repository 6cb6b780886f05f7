"""The hostile-file corpus, both engines: each is refused clearly or read within limits, never half-stored.

Every file of tests/samples.py's corpus (bombs, locked, broken and looping PDFs, a zip-bomb
Word document, empty and fake files) is attached to a question while a task on the same
loop ticks every 5 ms. A refusal names the file and stores nothing; a file read is stored
whole (only those a reader may safely take are allowed to be: a page loop, an HTML page).
The figures line counts them and gives the slowest. Then, against a served app, a body
past the limit (its Content-Length lying, or absent) and an upload cut halfway.
"""

from __future__ import annotations

import html
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from app.files import images
from tests import figures, samples
from tests.browser.conftest import AppServer
from tests.conftest import CSRF
from tests.test_files import ask_with, count

# Every hostile input it holds: `make test` runs it, `make test-quick` leaves it out.
pytestmark = pytest.mark.exhaustive


@pytest.mark.settings(vision_models=("fake-model",))
async def test_every_hostile_file_is_refused_clearly_or_read_within_limits(visitor, model, db, monkeypatch):
    corpus = samples.hostile_corpus()
    slowest, stored = 0.0, 0
    # Where each image was decoded: never on the event loop's thread (documents go to a child process).
    loop_thread, threads = threading.get_ident(), []
    prepare = images.prepare

    def noted(source):
        threads.append(threading.get_ident())
        return prepare(source)

    monkeypatch.setattr(images, "prepare", noted)
    for hostile in corpus:
        before = await count(db, "attachments"), await count(db, "attachment_chunks")
        started = time.perf_counter()
        response = await ask_with(visitor, f"What is {hostile.name}?", [(hostile.name, hostile.data)])
        slowest = max(slowest, time.perf_counter() - started)
        page = html.unescape(await response.get_data(as_text=True))
        after = await count(db, "attachments"), await count(db, "attachment_chunks")
        if response.status_code == 422:
            assert f"“{hostile.name}”:" in page and "Nothing was sent." in page, hostile.name
            figures.add("files", refused=1, half_stored=int(after != before))
        else:
            assert response.status_code == 200, (hostile.name, page)
            assert hostile.storable, f"{hostile.name} should have been refused"
            figures.add("files", stored=1)
            stored += 1
            # Stored whole: as many bytes in its chunks as it was said to hold.
            kept = await db.fetch_one(
                "SELECT a.size, SUM(LENGTH(c.data)) AS n FROM attachments a JOIN attachment_chunks c"
                " ON c.attachment_id = a.id GROUP BY a.id, a.size ORDER BY a.id DESC"
            )
            assert kept["size"] == kept["n"]
        assert after == before or response.status_code == 200
        figures.add("files", tried=1)
    figures.at_least("files", "slowest_ms", round(slowest * 1000))
    on_loop = threads.count(loop_thread)
    figures.add("files", off_loop=len(threads) - on_loop, on_loop=on_loop)
    assert threads and on_loop == 0
    assert await count(db, "exchanges") == stored


@pytest.fixture
def served(tmp_path: Path, model) -> AppServer:
    server = AppServer(tmp_path, model.url, MAX_UPLOAD_MB="1", MAX_UPLOAD_MB_PER_QUESTION="1")
    yield server
    server.stop()


def raw_post(server: AppServer, head: str, body_parts: list[bytes]) -> bytes:
    """Send a POST by hand (its headers as given), then read what the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as connection:
        connection.sendall(head.encode())
        try:
            for part in body_parts:
                connection.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking it all
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
        return answer


def session(server: AppServer) -> tuple[str, str]:
    """A visitor's cookie and CSRF token, from the chat page."""
    import urllib.request

    with urllib.request.urlopen(f"{server.url}/") as page:
        cookie = page.headers["Set-Cookie"].split(";")[0]
        token = CSRF.search(page.read().decode()).group(1)
    return cookie, token


def test_a_body_past_the_limit_is_refused_whatever_its_content_length_says(served):
    cookie, token = session(served)
    form = {"question": "Big", "conversation_id": "", "csrf_token": token}
    body, kind = samples.multipart(form, [("big.txt", b"x" * (3 * 1024 * 1024))])
    common = f"Host: 127.0.0.1\r\nCookie: {cookie}\r\nContent-Type: {kind}\r\nX-CSRF-Token: {token}\r\n"
    # No Content-Length at all: chunked, past the limit.
    chunks = [
        b"%x\r\n%b\r\n" % (len(part), part)
        for part in (body[i : i + 65536] for i in range(0, len(body), 65536))
    ]
    answer = raw_post(
        served, f"POST /ask HTTP/1.1\r\n{common}Transfer-Encoding: chunked\r\n\r\n", [*chunks, b"0\r\n\r\n"]
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"larger than the" in answer and b"nothing was stored" in answer
    # A Content-Length that lies (far smaller than the body): the form is cut short, and refused as such.
    lying = f"POST /ask HTTP/1.1\r\n{common}Content-Length: 2000\r\nConnection: close\r\n\r\n"
    answer = raw_post(served, lying, [body[:2000]])
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"cut off before it ended" in answer
    # A Content-Length that says too much: refused before a byte is read.
    answer = raw_post(
        served, f"POST /ask HTTP/1.1\r\n{common}Content-Length: {50 * 1024 * 1024}\r\n\r\n", [body[:1000]]
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_an_upload_cut_halfway_by_the_client_stores_nothing(served, tmp_path):
    cookie, token = session(served)

    def head(kind: str, length: int) -> str:
        return (
            f"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nContent-Type: {kind}\r\n"
            f"X-CSRF-Token: {token}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
        )

    form = {"question": "Cut", "conversation_id": "", "csrf_token": token}
    body, kind = samples.multipart(form, [("half.txt", b"y" * 500_000)])
    with socket.create_connection(("127.0.0.1", served.port), timeout=15) as connection:
        connection.sendall(head(kind, len(body)).encode() + body[: len(body) // 2])
    # Then a whole one (answered in full, as without JavaScript): the only question and file stored.
    body, kind = samples.multipart({**form, "question": "Whole"}, [("whole.txt", b"z" * 1000)])
    assert raw_post(served, head(kind, len(body)), [body]).startswith(b"HTTP/1.1 303")
    database = sqlite3.connect(tmp_path / "answers.db")
    assert [row[0] for row in database.execute("SELECT name FROM attachments")] == ["whole.txt"]
    assert [row[0] for row in database.execute("SELECT question FROM exchanges")] == ["Whole"]
