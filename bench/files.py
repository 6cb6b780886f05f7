"""Files: a 100-page PDF asked about, the memory of a 50 MB upload, and `/list` at a million rows with files.

`python -m bench.files [--engines sqlite,mysql] [--rows 1000000] [--small 1000] [--parts pdf,upload,list]`
prints:

- **pdf**: the seconds to post a question with a 100-page PDF to a served app (upload, type,
  text read in a child process, stored) and to read its text alone, median of a few runs;
- **upload**: the served app's peak RSS growth while it takes a 50 MB file (goal: under
  twice the file, as it is never whole in memory more than once), and how long it took;
- **list**: the history's first page at `--small` and `--rows` rows when one exchange in
  ten carries a file (and one in a hundred an image with a thumbnail): goal big/small ≤ 1.5.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx2

from app.files import documents
from app.files.kinds import Kind
from bench.history import client_for, median_ms, seeded, timed
from bench.pdf_readers import book
from bench.processes import App, FakeModel, memory_mb
from tests import samples
from tests.conftest import CSRF

RUNS = 5
UPLOAD_MB = 50


def post_files(app: App, files: list[tuple[str, bytes]], question: str = "What is in it?") -> float:
    """Ask a question with files through HTTP, as htmx would; the seconds until the reply."""
    with httpx2.Client(timeout=300) as browser:
        token = CSRF.search(browser.get(f"{app.url}/").text).group(1)
        body, kind = samples.multipart(
            {"question": question, "conversation_id": "", "csrf_token": token}, files
        )
        began = time.perf_counter()
        reply = browser.post(
            f"{app.url}/ask",
            content=body,
            headers={"Content-Type": kind, "HX-Request": "true", "X-CSRF-Token": token},
        )
        seconds = time.perf_counter() - began
        assert reply.status_code == 200, reply.text[:300]
        return seconds


def bench_pdf(folder: Path, model: FakeModel) -> None:
    pdf = book(100)
    read = []
    for _ in range(RUNS):
        began = time.perf_counter()
        text = asyncio.run(
            documents.read(Kind.PDF, _reader(io.BytesIO(pdf)), documents.Limits(chars=1_000_000))
        )
        read.append(time.perf_counter() - began)
    with App(model.url, folder / "pdf", FILE_TEXT_CHARS="1000000") as app:
        posted = [post_files(app, [("book.pdf", pdf)]) for _ in range(RUNS)]
    print(f"100-page PDF ({len(pdf) / 1024:.0f} KB, {len(text.text):,} characters read):")
    print(f"  text read in a child process   {statistics.median(read) * 1000:8.0f} ms (median of {RUNS})")
    print(f"  posted with a question (whole) {statistics.median(posted) * 1000:8.0f} ms (median of {RUNS})")


def bench_upload(folder: Path, model: FakeModel) -> None:
    data = (b"a line of a large log file, as people attach them\n" * (UPLOAD_MB * 1024 * 1024 // 51))[
        : UPLOAD_MB * 1024 * 1024
    ]
    with App(model.url, folder / "upload", MAX_UPLOAD_MB=str(UPLOAD_MB + 1)) as app:
        post_files(app, [("warm.txt", b"warm up")])
        before = memory_mb(app.pid)
        Path(f"/proc/{app.pid}/clear_refs").write_text("5")  # the peak (VmHWM) starts again from here
        seconds = post_files(app, [("big.log", data)])
        peak = memory_mb(app.pid, "VmHWM")
    growth = peak - before
    print(f"{UPLOAD_MB} MB upload: peak RSS {peak:.0f} MB, growth {growth:.0f} MB", end="")
    print(f" ({growth / UPLOAD_MB:.2f}× the file; goal < 2×), posted in {seconds:.1f} s")


def bench_list(engine: str, small: int, big: int, repeats: int) -> None:
    print(f"\n== /list with files, {engine} (load average {os.getloadavg()[0]:.2f})")
    with seeded(engine, small, big) as urls:
        for url in urls:
            print(f"and {asyncio.run(_attach(url)):,} files")
        timings = asyncio.run(_first_pages(urls, repeats))
    low, high = (median_ms(found) for found in timings)
    print(f"first page (ms, median)   {low:10.1f} {high:10.1f}   ratio {high / low:.2f}  goal ≤ 1.5")


async def _attach(url: str) -> int:
    """Give one exchange in ten a document, and one in a hundred an image with its thumbnail."""
    from app.storage import open_database

    thumbnail = samples.image("JPEG", (160, 120), "teal")
    db = open_database(url)
    await db.open()
    try:
        await db.execute(
            "INSERT INTO attachments (owner, exchange_id, name, kind, media_type, size, chunks, text,"
            " chars, pages, read_pages, created_at) SELECT owner, id, 'report.pdf', 'pdf',"
            " 'application/pdf', 2048, 1, 'the text of the report', 22, 3, 3, created_at FROM exchanges"
            " WHERE id % 10 = 3"
        )
        await db.execute(
            "INSERT INTO attachments (owner, exchange_id, name, kind, media_type, size, chunks, width,"
            " height, thumbnail, created_at) SELECT owner, id, 'screenshot.png', 'image', 'image/png',"
            " 40960, 1, 1280, 960, :thumbnail, created_at FROM exchanges WHERE id % 100 = 7",
            {"thumbnail": thumbnail},
        )
        await db.execute(
            "INSERT INTO attachment_chunks (attachment_id, seq, data) SELECT id, 0, :data FROM attachments",
            {"data": b"%PDF-1.4 a small stand-in"},
        )
        found = await db.fetch_one("SELECT COUNT(*) AS n FROM attachments")
        return int(found["n"]) if found else 0
    finally:
        await db.close()


async def _first_pages(urls: list[str], repeats: int) -> list[list[float]]:
    async with client_for(urls[0]) as (small, _), client_for(urls[1]) as (big, _):
        timings: list[list[float]] = [[], []]
        for attempt in range(repeats + 1):
            for number, client in enumerate((small, big)):
                seconds, rows = await timed(client, "/list", {})
                if attempt:
                    timings[number].append(seconds)
        return timings


def _reader(stream: io.BytesIO):
    async def read(size: int) -> bytes:
        return stream.read(size)

    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="sqlite,mysql")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--parts", default="pdf,upload,list")
    args = parser.parse_args()
    parts = args.parts.split(",")
    with tempfile.TemporaryDirectory() as folder:
        with FakeModel(Path(folder) / "model.log") as model:
            if "pdf" in parts:
                bench_pdf(Path(folder), model)
            if "upload" in parts:
                bench_upload(Path(folder), model)
    if "list" in parts:
        for engine in args.engines.split(","):
            bench_list(engine, args.small, args.rows, args.repeats)


if __name__ == "__main__":
    main()
