"""History queries: pages of one owner's exchanges (or everyone's) by keyset, full-text search, exports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from . import fulltext
from .base import Database, Row
from .exchanges import COLUMNS
from .status import Status

# In the order the history filter offers them.
STATUSES = (Status.DONE, Status.ERROR, Status.STOPPED, Status.INTERRUPTED, Status.STREAMING, Status.PENDING)
MAX_QUERY_CHARS = 200
MAX_MODELS = 50
# How many of the owner's newest rows a MySQL search reads in turn before it asks the index.
RECENT_WINDOWS = (4_000, 40_000)

_COLUMNS = (
    ", ".join(f"e.{name}" for name in COLUMNS)
    + ", c.title AS conversation_title, c.deleted_at AS conversation_deleted_at"
)
# A person's own history leaves out what they deleted; an admin's shows it, marked.
_SHOWN = "e.deleted_at IS NULL AND c.deleted_at IS NULL"
_mysql_rules: WeakKeyDictionary[Database, fulltext.MySQLRules] = WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class Search:
    """What the history is narrowed to: words to find, a status, a model, whose rows.

    `owner` is the owner id of the rows to show (None: anyone's; '' names nobody, so no row);
    `person` is how the address named them, as a query argument (`user`, `name` or `owner`).
    `source` is where questions came from: `chat`, `api` (any key), or `api:NAME` (one key's name).
    """

    query: str = ""
    status: str = ""
    model: str = ""
    owner: str | None = None
    person: tuple[str, str] = ("", "")
    source: str = ""

    @property
    def active(self) -> bool:
        """Whether anything narrows the history."""
        return bool(self.query.strip() or self.status or self.model or self.owner is not None or self.source)

    def args(self) -> dict[str, str]:
        """The search as URL query arguments, leaving out the empty ones."""
        return {
            name: value
            for name, value in (
                ("q", self.query),
                ("status", self.status),
                ("model", self.model),
                self.person,
                ("source", self.source),
            )
            if name and value
        }


async def page(db: Database, owner: str | None, search: Search, before: int | None, limit: int) -> list[Row]:
    """Up to `limit` of the owner's (None: anyone's) matching exchanges older than `before`, newest first."""
    terms = fulltext.as_typed(search.query[:MAX_QUERY_CHARS])
    if terms and db.dialect == "mysql":
        return await _mysql_search_page(db, owner, search, terms, before, limit)
    sql, params = await _select(db, owner, search, before)
    return await db.fetch_all(f"{sql} LIMIT :limit", {**params, "limit": limit})


async def stream(db: Database, owner: str | None, search: Search) -> AsyncIterator[Row]:
    """Yield every one of the owner's matching exchanges, newest first, without holding them all."""
    sql, params = await _select(db, owner, search, None)
    async for row in db.stream(sql, params):
        yield row


async def models(db: Database, owner: str | None) -> list[str]:
    """The models that answered this owner (None: anyone), each found by one index seek (no scan)."""
    found: list[str] = []
    mine = "owner = :owner AND " if owner is not None else ""
    while len(found) < MAX_MODELS:
        row = await db.fetch_one(
            f"SELECT model FROM exchanges WHERE {mine}model > :after ORDER BY model LIMIT 1",
            {"owner": owner, "after": found[-1] if found else ""},
        )
        if row is None:
            break
        found.append(row["model"])
    return found


async def _mysql_search_page(
    db: Database,
    owner: str | None,
    search: Search,
    terms: list[fulltext.Term],
    before: int | None,
    limit: int,
) -> list[Row]:
    """A page of MySQL search results: the owner's newest rows first, then the full-text index."""
    # InnoDB's full-text index hands over every match, each costing a row lookup, before any
    # ORDER BY … LIMIT applies. A word common enough to make that slow fills a page from the
    # owner's newest rows, read in index order (a few thousand, then more if that found some);
    # a rare one, or whatever is left, asks the index.
    rows: list[Row] = []
    matches, words = _word_matches(terms)
    for window in RECENT_WINDOWS:
        where, params = _narrowing(owner, search, before, "e.id")
        params.update(words, window=window, limit=limit - len(rows))
        recent = f"SELECT e.id FROM exchanges e WHERE {' AND '.join(where)} ORDER BY e.id DESC LIMIT :window"
        rows += await db.fetch_all(
            f"SELECT {_COLUMNS} FROM ({recent}) recent JOIN exchanges e ON e.id = recent.id"
            f" JOIN conversations c ON c.id = e.conversation_id WHERE {' AND '.join(_shown(owner, matches))}"
            " ORDER BY e.id DESC LIMIT :limit",
            params,
        )
        if len(rows) == limit:
            return rows
        edge = await db.fetch_one(f"SELECT COUNT(*) AS n, MIN(id) AS low FROM ({recent}) recent", params)
        if edge is None or edge["n"] < window:
            return rows  # the owner has no older rows
        before = edge["low"]
        if not rows:
            break  # a rare search: the index finds its few matches fastest
    sql, params = await _select(db, owner, search, before)
    return rows + await db.fetch_all(f"{sql} LIMIT :limit", {**params, "limit": limit - len(rows)})


async def _select(
    db: Database, owner: str | None, search: Search, before: int | None
) -> tuple[str, dict[str, Any]]:
    """The query for the owner's matching exchanges, newest first, walking one index by id."""
    source, key = "exchanges e", "e.id"
    terms = fulltext.as_typed(search.query[:MAX_QUERY_CHARS])
    if terms and db.dialect == "sqlite":
        # CROSS JOIN keeps the full-text index outermost: it yields matches by descending rowid.
        source, key = "exchanges_search f CROSS JOIN exchanges e ON e.id = f.rowid", "f.rowid"
    where, params = _narrowing(owner, search, before, key)
    where = _shown(owner, where)
    if terms and db.dialect == "sqlite":
        where.append("exchanges_search MATCH :match")
        params["match"] = fulltext.fts5_query(terms)
    elif terms:
        against, leftover = fulltext.mysql_query(terms, await mysql_rules(db))
        if against:
            where.append("MATCH (e.question, e.answer) AGAINST (:against IN BOOLEAN MODE)")
            params["against"] = against
        # Words InnoDB does not index are matched row by row.
        matches, words = _word_matches(leftover)
        where += matches
        params.update(words)
    # Over everyone's rows MySQL would rather read every chat and sort; keep it walking exchanges by id.
    join = "STRAIGHT_JOIN" if owner is None and db.dialect == "mysql" else "JOIN"
    sql = (
        f"SELECT {_COLUMNS} FROM {source} {join} conversations c ON c.id = e.conversation_id"
        f" WHERE {' AND '.join(where)} ORDER BY {key} DESC"
    )
    return sql, params


def _narrowing(
    owner: str | None, search: Search, before: int | None, key: str
) -> tuple[list[str], dict[str, Any]]:
    """Conditions for the owner's (None: anyone's) rows of a status, model and user, older than `before`."""
    where = ["e.owner = :owner"] if owner is not None else ["1 = 1"]
    params: dict[str, Any] = {"owner": owner} if owner is not None else {}
    if search.owner is not None:
        where.append("e.owner = :user")
        params["user"] = search.owner
    if search.status:
        where.append("e.status = :status")
        params["status"] = search.status
    if search.model:
        where.append("e.model = :model")
        params["model"] = search.model
    if search.source == "chat":
        where.append("e.key_name IS NULL")
    elif search.source == "api":
        where.append("e.key_name IS NOT NULL")
    elif search.source.startswith("api:"):
        where.append("e.key_name = :key_name")
        params["key_name"] = search.source.removeprefix("api:")
    if before is not None:
        where.append(f"{key} < :before")
        params["before"] = before
    return where, params


def _shown(owner: str | None, where: list[str]) -> list[str]:
    """The conditions, and for a person's own rows (not everyone's) that they did not delete them."""
    return where if owner is None else [*where, _SHOWN]


def _word_matches(terms: list[fulltext.Term]) -> tuple[list[str], dict[str, str]]:
    """MySQL conditions finding each term as whole words in the question or the answer."""
    where = [
        f"(e.question REGEXP :words{number} OR e.answer REGEXP :words{number})"
        for number in range(len(terms))
    ]
    return where, {f"words{number}": fulltext.word_regexp(term) for number, term in enumerate(terms)}


async def mysql_rules(db: Database) -> fulltext.MySQLRules:
    """InnoDB's full-text settings of this server, read once."""
    if db not in _mysql_rules:
        size = await db.fetch_one(
            "SELECT @@innodb_ft_min_token_size AS size, @@innodb_ft_enable_stopword AS used"
        )
        words = await db.fetch_all("SELECT value FROM INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD")
        _mysql_rules[db] = fulltext.MySQLRules(
            min_token_size=int(size["size"]) if size else 3,
            stopwords=frozenset(row["value"] for row in words) if size and size["used"] else frozenset(),
        )
    return _mysql_rules[db]
