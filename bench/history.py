"""How the history page holds up at a million rows, through the app, on SQLite and MySQL.

`python -m bench.history [--engines sqlite,mysql] [--rows 1000000] [--small 1000] [--parts …]`
seeds a small and a big database per engine once (kept under instance/bench-cache/ and reused
by later runs), then prints: each filter of the operator's /list (a page and the next, as an
admin) and its query alone at both sizes, their ratio and per row shown (goal: ≤ 1.5, for the
whole page and query where the small table fills a page, per row shown where it holds fewer
matches; each row says which); the first page and a page deep in the
table at both sizes (goal: big/small ≤ 1.5), search latency at the big size (goal: p50 ≤
100 ms) and the memory an export of every row takes (goal: peak RSS growth ≤ 50 MB). Then the
same pages as an admin sees them (SIGN_IN=accounts): everyone's rows with who asked, and one
person's through the user filter. The machine may be shared: the load average is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pymysql
from quart.testing import QuartClient

from app import create_app
from app.config import ROOT, Config
from app.storage import Database, Row, history, open_database, sessions
from app.storage.dialects import as_datetime, utcnow
from bench.seed import GROUP_NAME, Plan, seed
from tests.mysql_server import ScratchDatabase, connect

OWNER = "bench-owner"
OTHERS = ["bench-other-1", "bench-other-2", "bench-other-3"]
# The measured owner has (a little more than) the named number of rows; three others share 8 % more.
SHARES = [0.925, 0.04, 0.025, 0.01]
EXTRA = 1 / SHARES[0]
SEARCHES = (
    "sourdough",
    "telescopes",
    "kubernetes",
    "gardening",
    "espresso",
    "vikings",
    "budgeting",
    "chess",
    "volcanoes",
    "portugal",
    "robust",
    "elegant",
    "cheap",
    "portable",
    "invoice",
    "melody",
    "comet",
    "mortgages interest",
    "python cursor",
    "sqlite index",
    "bake dough",
    '"sourdough bread"',
    '"how it works"',
    "garden*",
    "telesc*",
    "compost*",
    "rust function",
    "piano scale",
    "yoga routine",
    "tomatoes soil",
    "redis cache",
    "docker volume",
    "glaciers",
    "napoleon battle",
    "inflation wage",
    "quantum theory",
    "solar battery",
    "knitting",
    "sailing map",
    "latin grammar",
)
HTMX = {"HX-Request": "true"}
SENTINEL = re.compile(r'<tr class="more" hx-get="([^"]+)"')
# Seeded databases are kept here between runs, named after what seeded them: bump SEED_VERSION
# when the seeder makes different rows.
CACHE = ROOT / "instance" / "bench-cache"
SEED_VERSION = 3
STARTUP_SECONDS = 600
SEARCH = {"HX-Request": "true", "HX-Target": "history-results"}
# The most a page or a query may cost at the big size, as a multiple of its cost at the small.
GOAL = 1.5


# The seeded group's members: two of the others, 6.5 % of the rows.
GROUP = OTHERS[:2]
# Each filter of the operator's /list, as its address asks for it (the dates: a span a tenth of the
# way into the seeded two years, a few weeks long; the group: the seeded one).
FILTERS = (
    ("person", f"owner={OTHERS[0]}"),
    ("group", "group={group}"),
    ("model", "model=gpt-4o"),
    ("status error", "status=error"),
    ("status stopped", "status=stopped"),
    ("status interrupted", "status=interrupted"),
    ("feedback down", "feedback=down"),
    ("feedback up", "feedback=up"),
    ("feedback any", "feedback=any"),
    ("feedback none", "feedback=none"),
    ("source chat", "source=chat"),
    ("source api", "source=api"),
    ("source one key", "source=api:laptop"),
    ("dates", "from={first}&to={last}"),
    ("down + model + chat", "feedback=down&model=gpt-4o&source=chat"),
)


@dataclass
class Sample:
    """What one database size measured."""

    owner_rows: int
    first_page: list[float] = field(default_factory=list)
    deep_page: list[float] = field(default_factory=list)
    search: list[float] = field(default_factory=list)
    found: int = 0
    exports: dict[str, tuple[int, int, float, float]] = field(default_factory=dict)
    admin_first: list[float] = field(default_factory=list)
    admin_deep: list[float] = field(default_factory=list)
    admin_user: list[float] = field(default_factory=list)
    admin_search: list[float] = field(default_factory=list)


def median_ms(timings: list[float]) -> float:
    """The median of timings in seconds, in milliseconds."""
    return statistics.median(timings) * 1000


def percentile_ms(timings: list[float], share: float) -> float:
    """A percentile of timings in seconds, in milliseconds."""
    ordered = sorted(timings)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000


async def timed(client: QuartClient, url: str, headers: dict[str, str]) -> tuple[float, int]:
    """Time one request for a page; return its seconds and how many rows it showed."""
    began = time.perf_counter()
    response = await client.get(url, headers=headers)
    body = await response.get_data()
    seconds = time.perf_counter() - began
    assert response.status_code == 200, url
    return seconds, body.count(b'id="exchange-row-')


def rss_kb(name: str) -> int:
    """A memory figure of this process from /proc, in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise RuntimeError(name)


async def export(client: QuartClient, fmt: str) -> tuple[int, int, float, float]:
    """Stream a whole export, dropping each chunk; return (lines, bytes, seconds, peak RSS growth in MB)."""
    before = rss_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # restart the peak (VmHWM) from here
    began = time.perf_counter()
    lines = size = 0
    async with client.request(f"/list/export.{fmt}") as connection:
        await connection.send_complete()
        while True:
            chunk = await connection.receive()
            if not isinstance(chunk, bytes) or not chunk:
                break
            lines += chunk.count(b"\n")
            size += len(chunk)
    seconds = time.perf_counter() - began
    return lines, size, seconds, (rss_kb("VmHWM") - before) / 1024


@asynccontextmanager
async def client_for(url: str, admin: bool = False) -> AsyncIterator[tuple[QuartClient, Row]]:
    """A client of the app on one database, as the measured owner (or an admin), and the id range it reads."""
    app = create_app(
        Config(
            database_url=url,
            secret_key="bench-secret-key-of-enough-length",
            instance_path=Path(tempfile.gettempdir()),
            sign_in="accounts" if admin else "",
        )
    )
    # A shared machine may be slow to start the app (to migrate a cached database, say).
    async with app.test_app_class(app, startup_timeout=STARTUP_SECONDS):
        db = app.extensions["db"]
        mine = "" if admin else "WHERE owner = :owner"
        bounds = await db.fetch_one(
            f"SELECT MIN(id) AS low, MAX(id) AS high, COUNT(*) AS n FROM exchanges {mine}", {"owner": OWNER}
        )
        client = app.test_client()
        async with client.session_transaction() as session:
            session["owner"], session["csrf"] = OWNER, "bench"
            if admin:
                session["sid"] = await _admin_session(db)
        yield client, bounds


async def _admin_session(db: Database) -> str:
    """Make the measured owner an admin account with a live session; return its token."""
    await db.execute("DELETE FROM users WHERE owner = :owner", {"owner": OWNER})
    await db.execute(
        "INSERT INTO users (owner, username, kind, role, created_at)"
        " VALUES (:owner, 'bench-admin', 'local', 'admin', :now)",
        {"owner": OWNER, "now": utcnow()},
    )
    user = await db.fetch_one("SELECT id FROM users WHERE owner = :owner", {"owner": OWNER})
    assert user is not None
    token = secrets.token_urlsafe(32)
    await sessions.create(db, token, OWNER, user["id"])
    return token


async def measure(urls: list[str], repeats: int) -> list[Sample]:
    """Measure the small and the big database through the app, alternating so noise hits both alike."""
    async with client_for(urls[0]) as (small, small_bounds), client_for(urls[1]) as (big, big_bounds):
        samples = [Sample(bounds["n"]) for bounds in (small_bounds, big_bounds)]
        pairs = list(zip((small, big), (small_bounds, big_bounds), samples, strict=True))
        for attempt in range(repeats + 1):
            for client, bounds, sample in pairs:
                deep = bounds["low"] + (bounds["high"] - bounds["low"]) // 10
                first, _ = await timed(client, "/list", {})
                page, _ = await timed(client, f"/list?before={deep}", HTMX)
                if attempt:  # the first round warms caches
                    sample.first_page.append(first)
                    sample.deep_page.append(page)
        for query in SEARCHES:
            for client, _, sample in pairs:
                for _ in range(2):
                    seconds, found = await timed(client, f"/list?q={query}&status=&model=", SEARCH)
                    sample.search.append(seconds)
                    sample.found += found > 0
        for client, _, sample in pairs:
            for fmt in ("csv", "ndjson"):
                sample.exports[fmt] = await export(client, fmt)
    await measure_admin(urls, repeats, samples)
    return samples


async def measure_admin(urls: list[str], repeats: int, samples: list[Sample]) -> None:
    """The admin's history: everyone's first page, a deep page, one person's page, searches over everyone."""
    async with (
        client_for(urls[0], True) as (small, small_bounds),
        client_for(urls[1], True) as (big, big_bounds),
    ):
        pairs = list(zip((small, big), (small_bounds, big_bounds), samples, strict=True))
        for attempt in range(repeats + 1):
            for client, bounds, sample in pairs:
                deep = bounds["low"] + (bounds["high"] - bounds["low"]) // 10
                first, shown = await timed(client, "/list", {})
                assert shown == 50 and b"Everyone" in (await (await client.get("/list")).get_data())
                page, _ = await timed(client, f"/list?before={deep}", HTMX)
                person, _ = await timed(client, f"/list?user={OTHERS[0]}", SEARCH)
                if attempt:
                    sample.admin_first.append(first)
                    sample.admin_deep.append(page)
                    sample.admin_user.append(person)
        for query in SEARCHES:
            for client, _, sample in pairs:
                seconds, _ = await timed(client, f"/list?q={query}&status=&model=", SEARCH)
                sample.admin_search.append(seconds)


@dataclass
class Filtered:
    """What one filter measured at one size: whole pages through the app, its queries alone, rows shown."""

    page: list[float] = field(default_factory=list)
    query: list[float] = field(default_factory=list)
    shown: int = 0


async def measure_filters(urls: list[str], repeats: int) -> list[dict[str, Filtered]]:
    """Each filter's first page and the page after it, as the admin sees everyone's, at both sizes.

    Besides the whole page (whose rendering grows with the rows it shows, fewer than a page when
    a rare filter meets 1,000 rows), the history's query is timed alone, inside the request.
    """
    queries: list[float] = []
    unpatched = history.page

    async def timed_page(*args: Any, **kwargs: Any) -> list[Row]:
        began = time.perf_counter()
        try:
            return await unpatched(*args, **kwargs)
        finally:
            queries.append(time.perf_counter() - began)

    history.page = timed_page  # type: ignore[assignment]
    try:
        async with client_for(urls[0], True) as (small, _), client_for(urls[1], True) as (big, _):
            pairs = list(zip((small, big), (await _values(urls[0]), await _values(urls[1])), strict=True))
            found: list[dict[str, Filtered]] = [{}, {}]
            for attempt in range(repeats + 1):
                for number, (client, values) in enumerate(pairs):
                    for name, query in FILTERS:
                        url = "/list?" + query.format(**values)
                        body = ""
                        for label, address, headers in (
                            (name, url, SEARCH),
                            (name + ", next page", None, HTMX),
                        ):
                            if address is None:
                                older = SENTINEL.search(body)
                                if not older:
                                    break
                                address = older.group(1).replace("&amp;", "&")
                            queries.clear()
                            began = time.perf_counter()
                            response = await client.get(address, headers=headers)
                            body = await response.get_data(as_text=True)
                            seconds = time.perf_counter() - began
                            assert response.status_code == 200 and "history-problem" not in body, address
                            if attempt:  # the first round warms caches
                                sample = found[number].setdefault(label, Filtered())
                                sample.page.append(seconds)
                                sample.query.append(sum(queries))
                                sample.shown = body.count('id="exchange-row-')
            return found
    finally:
        history.page = unpatched  # type: ignore[assignment]


async def _values(url: str) -> dict[str, str]:
    """The filters' values in a seeded database: a few weeks a tenth of the way into its rows, as days
    (YYYY-MM-DD, `first` and `last`), and the seeded group's id (`group`)."""
    db = open_database(url)
    await db.open()
    try:
        bounds = await db.fetch_one("SELECT MIN(created_at) AS low, MAX(created_at) AS high FROM exchanges")
        group = await db.fetch_one(
            "SELECT id FROM user_groups WHERE name_key = :key", {"key": GROUP_NAME.casefold()}
        )
    finally:
        await db.close()
    assert bounds is not None and group is not None
    low, high = (as_datetime(bounds[name]) for name in ("low", "high"))
    assert low is not None and high is not None
    start = low + (high - low) / 10
    last = start + timedelta(days=20)
    return {"first": start.date().isoformat(), "last": last.date().isoformat(), "group": str(group["id"])}


def print_filters(sizes: list[int], found: list[dict[str, Filtered]]) -> None:
    """Each filter's page and its query alone at both sizes, their ratio and per row shown; beside
    each, the comparison its goal (≤ 1.5) applies to and whether it was met."""
    small, big = (f"table {size:,}" for size in sizes)
    print(f"{'/list filter, as an admin':36}{small:>22}{big:>22}{'ratio':>7}{'per row':>9}  goal ≤ 1.5 on")
    low, high = found
    for name in low:
        if name not in high:
            continue
        shown = low[name].shown, high[name].shown
        # Fewer matches than a page in the small table make a smaller page, cheaper to read and
        # render: then the goal holds per row shown, not for the whole page or query.
        whole = shown[0] >= shown[1]
        # The query alone by its least time: on a shared machine that is its own work, without waits.
        for part, a, b in (
            ("page", median_ms(low[name].page), median_ms(high[name].page)),
            ("query", min(low[name].query) * 1000, min(high[name].query) * 1000),
        ):
            ratio = b / a
            per_row = b / shown[1] / (a / shown[0]) if all(shown) else None
            measured = ratio if whole else per_row
            goal = f"whole {part}" if whole else f"{part} per row shown"
            verdict = "no rows to compare" if measured is None else "met" if measured <= GOAL else "NOT MET"
            rows, big_rows = (f"{count} rows" for count in shown) if part == "page" else ("", "")
            label = f"{name}, {'page' if part == 'page' else 'query (least)'}"
            per_row_text = "" if per_row is None else f"{per_row:.2f}"
            figures = f"{a:>10.1f} ms{big_rows:>9}{b:>10.1f} ms{ratio:>7.2f}{per_row_text:>9}"
            print(f"{label:36}{rows:>9}{figures}  {goal}: {verdict}")
    print(f"(load average now {os.getloadavg()[0]:.2f})")


@contextmanager
def databases(engine: str) -> Iterator[Callable[[], str]]:
    """Hand out fresh database URLs for an engine; remove every one of them at the end."""
    made: list[ScratchDatabase] = []
    (ROOT / "instance").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="answers-bench-", dir=ROOT / "instance"))

    def fresh() -> str:
        if engine == "sqlite":
            return f"sqlite:///{folder / f'bench-{secrets.token_hex(4)}.db'}"
        made.append(ScratchDatabase.provide("answers_bench"))
        return made[-1].url

    try:
        yield fresh
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for database in made:
            database.remove()


@contextmanager
def seeded(engine: str, small: int, big: int) -> Iterator[list[str]]:
    """A small and a big database of an engine, seeded for the measured owner; removed afterwards."""
    sizes = [round(small * EXTRA), round(big * EXTRA)]
    with databases(engine) as fresh:
        urls = [fresh() for _ in sizes]
        for url, rows in zip(urls, sizes, strict=True):
            made, seconds = seed(url, _plan(rows))
            print(f"seeded {made:,} exchanges in {seconds:.1f} s ({made / seconds:,.0f} rows/s)")
        yield urls


def _plan(rows: int) -> Plan:
    """The seeder's plan: the measured owner and the others, the group of two of them."""
    return Plan(rows, [OWNER, *OTHERS], SHARES, seed=7, group=list(GROUP))


def cached(engine: str, rows: int) -> str:
    """A database of an engine seeded for the measured owner: made once, kept under CACHE and reused."""
    plan = _plan(rows)
    key = hashlib.sha256(repr((SEED_VERSION, engine, plan)).encode()).hexdigest()[:12]
    CACHE.mkdir(parents=True, exist_ok=True)
    if engine == "sqlite":
        path = CACHE / f"history-{rows}-{key}.db"
        if path.exists():
            print(f"reusing {rows:,} seeded exchanges in {path}")
            return f"sqlite:///{path}"
        making = path.with_suffix(".making")
        making.unlink(missing_ok=True)
        _seed(f"sqlite:///{making}", plan)
        making.rename(path)
        return f"sqlite:///{path}"
    named = CACHE / f"history-{rows}-{key}.mysql-url"
    if named.exists():
        url = named.read_text().strip()
        try:
            connect(url).close()
            print(f"reusing {rows:,} seeded exchanges in MySQL ({named.name})")
            return url
        except pymysql.err.MySQLError:
            named.unlink()
    database = ScratchDatabase.provide(f"answers_bench_{rows}")
    _seed(database.url, plan)
    named.write_text(database.url + "\n")
    return database.url


def _seed(url: str, plan: Plan) -> None:
    made, seconds = seed(url, plan)
    print(f"seeded {made:,} exchanges in {seconds:.1f} s ({made / seconds:,.0f} rows/s)")


def bench(engine: str, small: int, big: int, repeats: int, parts: set[str]) -> None:
    """Seed (or reuse what an earlier run seeded), measure and print one engine's figures."""
    print(f"\n== {engine}  (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    sizes = [round(small * EXTRA), round(big * EXTRA)]
    urls = [cached(engine, rows) for rows in sizes]
    if "filters" in parts:
        print_filters(sizes, asyncio.run(measure_filters(urls, repeats)))
    if "pages" not in parts:
        return
    low, high = asyncio.run(measure(urls, repeats))
    print(
        f"{'':26}{'table ' + format(sizes[0], ','):>16}"
        f"{'table ' + format(sizes[1], ','):>18}{'ratio':>8}  goal"
    )
    print(f"{'rows of the owner':26}{low.owner_rows:>16,}{high.owner_rows:>18,}")
    for name, a, b in (
        ("first page (ms, median)", low.first_page, high.first_page),
        ("deep page (ms, median)", low.deep_page, high.deep_page),
    ):
        print(
            f"{name:26}{median_ms(a):>16.1f}{median_ms(b):>18.1f}{median_ms(b) / median_ms(a):>8.2f}  ≤ 1.5"
        )
    for name, a, b in (
        ("admin first page (ms)", low.admin_first, high.admin_first),
        ("admin deep page (ms)", low.admin_deep, high.admin_deep),
        ("admin one user (ms)", low.admin_user, high.admin_user),
    ):
        print(
            f"{name:26}{median_ms(a):>16.1f}{median_ms(b):>18.1f}{median_ms(b) / median_ms(a):>8.2f}  ≤ 1.5"
        )
    print(
        f"{'admin search p50 (ms)':26}{percentile_ms(low.admin_search, 0.5):>16.1f}"
        f"{percentile_ms(high.admin_search, 0.5):>18.1f}"
    )
    for name, share in (("search p50 (ms)", 0.5), ("search p90 (ms)", 0.9), ("search max (ms)", 1.0)):
        goal = "  ≤ 100 ms at the big size" if share == 0.5 else ""
        print(
            f"{name:26}{percentile_ms(low.search, share):>16.1f}{percentile_ms(high.search, share):>18.1f}"
            f"{'':>8}{goal}"
        )
    print(f"{'searches with results':26}{low.found:>16}{high.found:>18}  of {len(low.search)}")
    for fmt in ("csv", "ndjson"):
        (_, _, _, low_mb), (lines, size, seconds, high_mb) = low.exports[fmt], high.exports[fmt]
        print(
            f"{'export ' + fmt + ' peak RSS +MB':26}{low_mb:>16.1f}{high_mb:>18.1f}{'':>8}  ≤ 50 MB"
            f"   ({lines:,} lines, {size / 2**20:,.0f} MB in {seconds:.1f} s)"
        )
    print(f"(load average now {os.getloadavg()[0]:.2f})")


def main() -> None:
    """Parse the command line and run the benchmark on each engine asked for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="sqlite,mysql")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the big database's owner")
    parser.add_argument(
        "--small", type=int, default=1_000, help="rows of the small (baseline) database's owner"
    )
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--parts", default="filters,pages", help="filters (each /list filter), pages (pages, search, exports)"
    )
    args = parser.parse_args()
    for engine in args.engines.split(","):
        bench(engine, args.small, args.rows, args.repeats, set(args.parts.split(",")))


if __name__ == "__main__":
    main()
