"""Every byte compressed as the browser accepts, static files cached for a year, the sidebar with the page."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli

from app.storage import conversations, exchanges
from app.web import compression
from app.web.assets import served
from app.web.encoding import accepted_coding
from tests.conftest import Visitor

STATIC = Path(__file__).resolve().parents[1] / "static"
ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')
BOTH = {"Accept-Encoding": "gzip, deflate, br"}


def decoded(body: bytes, coding: str | None) -> bytes:
    if coding == "br":
        return brotli.decompress(body)
    if coding == "gzip":
        return gzip.decompress(body)
    return body


def test_the_best_coding_the_browser_accepts_is_chosen():
    def choose(value: str) -> str | None:
        return accepted_coding([(b"accept-encoding", value.encode())])

    assert choose("gzip, deflate, br, zstd") == "br"
    assert choose("gzip") == "gzip"
    assert choose("br;q=0, gzip;q=0.5") == "gzip"
    assert choose("identity") is None
    assert choose("*") == "br"
    assert choose("*, br;q=0") == "gzip"
    assert accepted_coding([]) is None


async def test_pages_are_compressed_as_the_browser_accepts(client):
    for accept, coding in (("gzip, deflate, br", "br"), ("gzip", "gzip"), ("identity", None)):
        response = await client.get("/", headers={"Accept-Encoding": accept})
        body = await response.get_data()
        assert response.headers.get("Content-Encoding") == coding
        assert "Accept-Encoding" in response.headers["Vary"]
        assert int(response.headers["Content-Length"]) == len(body)
        assert b'id="composer"' in decoded(body, coding)


async def test_a_page_holds_no_compressor_while_it_is_sent(client, monkeypatch):
    # Brotli's compressor holds 0.3 MB: a thousand visitors loading the page at once held 300 MB.
    made: list[str] = []
    real = compression.Compressor

    def counted(coding: str):
        made.append(coding)
        return real(coding)

    monkeypatch.setattr(compression, "Compressor", counted)
    response = await client.get("/", headers={"Accept-Encoding": "br"})
    assert response.headers["Content-Encoding"] == "br"
    assert b"</html>" in brotli.decompress(await response.get_data())
    assert made == []


async def test_fragments_and_error_pages_are_compressed_too(visitor):
    response = await visitor.client.get("/c/424242", headers=BOTH)
    assert response.status_code == 404 and response.headers["Content-Encoding"] == "br"
    assert b"<html" in decoded(await response.get_data(), "br")
    await visitor.ask("A question long enough?")
    fragment = await visitor.client.get("/list", headers={**BOTH, "HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.headers["Content-Encoding"] == "br"
    assert b"A question long enough?" in decoded(await fragment.get_data(), "br")


async def test_the_answer_stream_is_never_compressed(visitor):
    asked = await visitor.ask("Stream me?")
    exchange_id = re.search(r"/answers/(\d+)/stream", await asked.get_data(as_text=True)).group(1)
    response = await visitor.client.get(f"/answers/{exchange_id}/stream", headers=BOTH)
    assert response.mimetype == "text/event-stream"
    assert "Content-Encoding" not in response.headers
    assert b"event: done" in await response.get_data()


async def test_streamed_exports_are_compressed_and_arrive_whole(visitor, db):
    async with visitor.client.session_transaction() as session:
        owner = session["owner"]
    chat = await conversations.create(db, owner, "exported")
    for n in range(300):
        await exchanges.create(db, chat, owner, f"Question number {n} for the export?")
    response = await visitor.client.get("/list/export.csv", headers=BOTH)
    assert response.headers["Content-Encoding"] == "br"
    text = decoded(await response.get_data(), "br").decode()
    assert all(f"Question number {n} for the export?" in text for n in range(300))


async def test_static_files_have_hashed_names_and_are_cached_for_a_year(client):
    page = await (await client.get("/")).get_data(as_text=True)
    addresses = ASSET.findall(page)
    assert len(addresses) == 4
    for address in addresses:
        plain = re.sub(r"\.[0-9a-f]{10}(\.\w+)$", r"\1", address.removeprefix("/static/"))
        assert plain != address.removeprefix("/static/")
        response = await client.get(address, headers=BOTH)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "Cookie" not in response.headers.get("Vary", "") and "Set-Cookie" not in response.headers
        coding = response.headers.get("Content-Encoding")
        assert coding in ("br", "gzip")
        assert decoded(await response.get_data(), coding) == served(plain, (STATIC / plain).read_bytes())
        again = await client.get(address, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and not await again.get_data()


def test_stylesheets_are_sent_without_comments_or_indentation_and_keep_their_strings():
    written = b'a::after {\n  content: "/* kept */";\n}\n\n/* Why b is red. */\n  b { color: red; }\n'
    assert served("app.css", written) == b'a::after {\ncontent: "/* kept */";\n}\nb { color: red; }\n'
    sheet = (STATIC / "app.css").read_bytes()
    lean = served("app.css", sheet)
    assert b"/*" in sheet and b"/*" not in lean and len(lean) < len(sheet)
    assert served("app.js", b"// kept\n") == b"// kept\n"


async def test_a_file_under_its_plain_name_is_revalidated_and_the_unknown_is_missing(client):
    response = await client.get("/static/app.css")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-cache"
    assert "Content-Encoding" not in response.headers
    assert await response.get_data() == served("app.css", (STATIC / "app.css").read_bytes())
    assert (await client.get("/static/app.0123456789.css")).status_code == 404
    assert (await client.get("/static/.copied")).status_code == 404


async def test_the_first_page_of_chats_comes_with_the_page(visitor: Visitor, db):
    async with visitor.client.session_transaction() as session:
        owner = session["owner"]
    chat = await conversations.create(db, owner, "Already in the sidebar")
    for path in ("/", f"/c/{chat}"):
        page = await visitor.open(path)
        assert ">Already in the sidebar</a>" in page
        assert 'hx-get="/conversations' not in page
    assert "No chats yet." in await Visitor(visitor.client.app.test_client()).open("/")
