"""History queries: pages of one owner's exchanges (or everyone's) by keyset, full-text search, exports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from . import fulltext
from .base import Database, Row
from .dialects import TIME_FORMAT, unindexed, use_index
from .exchanges import COLUMNS
from .feedback import DOWN, RATINGS, UP
from .status import Status

# In the order the history filter offers them.
STATUSES = (Status.DONE, Status.ERROR, Status.STOPPED, Status.INTERRUPTED, Status.STREAMING, Status.PENDING)
# The feedback filter: a thumbs down or up, any feedback, or none.
FEEDBACK = (DOWN, UP, "any", "none")
MAX_QUERY_CHARS = 200
MAX_MODELS = 50
# How many of the owner's newest rows a MySQL search reads in turn before it asks the index.
RECENT_WINDOWS = (4_000, 40_000)

_COLUMNS = (
    ", ".join(f"e.{name}" for name in COLUMNS)
    + ", c.title AS conversation_title, c.deleted_at AS conversation_deleted_at"
    + ", fb.rating AS feedback_rating, fb.comment AS feedback_comment"
)
_WITH_FEEDBACK = "LEFT JOIN feedback fb ON fb.exchange_id = e.id"
# The index the feedback filter walks, by (a thumb asked for, one person's rows).
_FEEDBACK_INDEXES = {
    (True, True): "feedback_owner_rating",
    (True, False): "feedback_rating",
    (False, True): "feedback_owner",
    (False, False): "PRIMARY",
}
# A date range is read as a range of ids (rows are numbered as they are stored): the first
# stored this long before its start, and after its end, bound the walk, allowing for clocks
# of several instances that disagree and answers stored out of order by up to this margin.
ID_MARGIN = timedelta(hours=1)
# A group is read as each member's rows, and the API's as each key's, each part by an index of
# its own and merged, up to this many parts; more (a large group, whose rows are rarely few)
# walk everyone's rows by id, checking each.
MERGED_PARTS = 20
# A person's own history leaves out what they deleted; an admin's shows it, marked.
_SHOWN = "e.deleted_at IS NULL AND c.deleted_at IS NULL"
_mysql_rules: WeakKeyDictionary[Database, fulltext.MySQLRules] = WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class Search:
    """What the history is narrowed to: words to find, a status, a model, whose rows.

    `owner` is the owner id of the rows to show (None: anyone's; '' names nobody, so no row);
    `person` is how the address named them, as a query argument (`user`, `name` or `owner`).
    `source` is where questions came from: `chat`, `api` (any key), or `api:NAME` (one key's name).
    `feedback` is one of FEEDBACK; `group` a group's id, as digits, whose members' rows to show.
    `days` are the first and last days as the address gives them
    (YYYY-MM-DD), `span` the stored UTC times they start and end at (the end excluded).
    """

    query: str = ""
    status: str = ""
    model: str = ""
    owner: str | None = None
    person: tuple[str, str] = ("", "")
    source: str = ""
    feedback: str = ""
    group: str = ""
    days: tuple[str, str] = ("", "")
    span: tuple[datetime | None, datetime | None] = (None, None)

    @property
    def active(self) -> bool:
        """Whether anything narrows the history."""
        return bool(self.query.strip() or self.owner is not None or any(self._filters()))

    def args(self) -> dict[str, str]:
        """The search as URL query arguments, leaving out the empty ones."""
        pairs = (
            ("q", self.query),
            self.person,
            *zip(
                ("status", "model", "source", "feedback", "group", "from", "to"), self._filters(), strict=True
            ),
        )
        return {name: value for name, value in pairs if name and value}

    def _filters(self) -> tuple[str, ...]:
        return (self.status, self.model, self.source, self.feedback, self.group, *self.days)


async def page(db: Database, owner: str | None, search: Search, before: int | None, limit: int) -> list[Row]:
    """Up to `limit` of the owner's (None: anyone's) matching exchanges older than `before`, newest first."""
    ids = await _ids_of_span(db, search.span)
    if ids is None:
        return []
    terms = fulltext.as_typed(search.query[:MAX_QUERY_CHARS])
    if terms and db.dialect == "mysql":
        return await _mysql_search_page(db, owner, search, ids, terms, before, limit)
    if not terms and (parts := await _parts(db, search)) is not None:
        return await _merged_page(db, owner, parts, ids, before, limit)
    sql, params = await _select(db, owner, search, ids, before)
    return await db.fetch_all(f"{sql} LIMIT :limit", {**params, "limit": limit})


async def stream(db: Database, owner: str | None, search: Search) -> AsyncIterator[Row]:
    """Yield every one of the owner's matching exchanges, newest first, without holding them all."""
    ids = await _ids_of_span(db, search.span)
    if ids is None:
        return
    sql, params = await _select(db, owner, search, ids, None)
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


async def _parts(db: Database, search: Search) -> list[Search] | None:
    """The search as narrower ones whose rows together are its rows, each read by an index of its
    own: a group's as each member's, the API's as each key's. None when it is not split so, or
    would be split into more than MERGED_PARTS."""
    parts = [search]
    if search.group:
        members = await _members(db, search)
        if members is None:
            return None
        parts = [replace(part, group="", owner=member) for part in parts for member in members]
    # Where a thumb leads, each key's part would walk the same feedback again.
    if search.source == "api" and search.feedback not in (*RATINGS, "any"):
        names = await _key_names(db)
        if names is not None:
            parts = [replace(part, source=f"api:{name}") for part in parts for name in names]
    if parts == [search] or len(parts) > MERGED_PARTS:
        return None
    return parts


async def _members(db: Database, search: Search) -> list[str] | None:
    """The owner ids of the group's members (of them, the person filtered by, if one is); None when
    it has more than MERGED_PARTS."""
    person = "" if search.owner is None else " AND u.owner = :person"
    rows = await db.fetch_all(
        "SELECT u.owner FROM group_members gm JOIN users u ON u.id = gm.user_id"
        f" WHERE gm.group_id = :group_id{person} LIMIT :most",
        {"group_id": int(search.group), "person": search.owner, "most": MERGED_PARTS + 1},
    )
    return None if len(rows) > MERGED_PARTS else [row["owner"] for row in rows]


async def _key_names(db: Database) -> list[str] | None:
    """The names of the API keys anyone asked with, read from the keys' index without its rows:
    MariaDB skips from one name to the next by itself, SQLite by one seek each; None when there
    are more than MERGED_PARTS."""
    if db.dialect == "mysql":
        rows = await db.fetch_all(
            "SELECT DISTINCT key_name FROM exchanges WHERE key_name IS NOT NULL LIMIT :most",
            {"most": MERGED_PARTS + 1},
        )
        return None if len(rows) > MERGED_PARTS else [row["key_name"] for row in rows]
    found: list[str] = []
    while len(found) <= MERGED_PARTS:
        after = "key_name > :after" if found else "key_name IS NOT NULL"
        row = await db.fetch_one(
            f"SELECT key_name FROM exchanges WHERE {after} ORDER BY key_name LIMIT 1",
            {"after": found[-1] if found else None},
        )
        if row is None:
            return found
        found.append(row["key_name"])
    return None


async def _merged_page(
    db: Database,
    owner: str | None,
    parts: list[Search],
    ids: tuple[int | None, int | None],
    before: int | None,
    limit: int,
) -> list[Row]:
    """A page made of each part's newest matching rows (each read as the person or key filter reads
    its own, by its index), merged newest first."""
    if not parts:
        return []
    branches = []
    params: dict[str, Any] = {"limit": limit}
    for number, part in enumerate(parts):
        sql, found = await _select(db, owner, part, ids, before, tag=f"_{number}", keys_only=True)
        branches.append(f"SELECT id FROM ({sql} LIMIT :limit) part{number}")
        params.update(found)
    lead = "STRAIGHT_JOIN" if db.dialect == "mysql" else "CROSS JOIN"
    return await db.fetch_all(
        f"SELECT {_COLUMNS} FROM ({' UNION ALL '.join(branches)}) picked"
        f" {lead} exchanges e ON e.id = picked.id JOIN conversations c ON c.id = e.conversation_id"
        f" {_WITH_FEEDBACK} ORDER BY picked.id DESC LIMIT :limit",
        params,
    )


async def _mysql_search_page(
    db: Database,
    owner: str | None,
    search: Search,
    ids: tuple[int | None, int | None],
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
    rated, feedback_params = _feedback_of(search, driving=False)
    for window in RECENT_WINDOWS:
        where, params = _narrowing(db.dialect, owner, search, ids, before, "e.id")
        params.update(words, window=window, limit=limit - len(rows))
        params.update(feedback_params)
        recent = f"SELECT e.id FROM exchanges e WHERE {' AND '.join(where)} ORDER BY e.id DESC LIMIT :window"
        rows += await db.fetch_all(
            f"SELECT {_COLUMNS} FROM ({recent}) recent JOIN exchanges e ON e.id = recent.id"
            f" JOIN conversations c ON c.id = e.conversation_id {_WITH_FEEDBACK}"
            f" WHERE {' AND '.join(_shown(owner, matches + rated))}"
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
    sql, params = await _select(db, owner, search, ids, before)
    return rows + await db.fetch_all(f"{sql} LIMIT :limit", {**params, "limit": limit - len(rows)})


async def _select(
    db: Database,
    owner: str | None,
    search: Search,
    ids: tuple[int | None, int | None],
    before: int | None,
    tag: str = "",
    keys_only: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The query for the owner's matching exchanges, newest first, walking one index by id.

    `tag` ends the names of the parameters of the person and the key filtered by (the parts of
    one query each name their own); `keys_only` selects only the ids.
    """
    terms = fulltext.as_typed(search.query[:MAX_QUERY_CHARS])
    # Over everyone's rows MySQL would rather read every chat and sort; keep it walking exchanges by id.
    lead = "STRAIGHT_JOIN" if db.dialect == "mysql" else "CROSS JOIN"
    source, key, joined = "exchanges e", "e.id", _WITH_FEEDBACK
    if terms and db.dialect == "sqlite":
        # CROSS JOIN keeps the full-text index outermost: it yields matches by descending rowid.
        source, key = "exchanges_search f CROSS JOIN exchanges e ON e.id = f.rowid", "f.rowid"
    elif search.feedback in (*RATINGS, "any"):
        # Feedback is rare beside the exchanges: its index, walked by exchange, leads (MySQL is
        # told which, or it intersects two of them and sorts what they find).
        whose = owner is not None or search.owner is not None
        walked = _FEEDBACK_INDEXES[(search.feedback in RATINGS, whose)]
        source = f"feedback fb{use_index(db.dialect, walked)} {lead} exchanges e ON e.id = fb.exchange_id"
        key, joined = "fb.exchange_id", ""
    elif owner is None and not terms and (walked := _walked_indexes(search)):
        # Over everyone's rows MariaDB's guess of how far a walk by id must go to fill a page
        # (a person with 2.5 % of the rows, the errors' 4 %) had it walk the primary key, reading
        # back to the last match however old; the filter's own index reads only matches.
        source = f"exchanges e{use_index(db.dialect, walked)}"
    where, params = _narrowing(db.dialect, owner, search, ids, before, key, tag)
    rated, feedback_params = _feedback_of(search, driving=not joined)
    if not joined:
        # The feedback's own owner column lets its index find one person's.
        for name, value in (("owner", owner), (f"user{tag}", search.owner)):
            if value is not None:
                rated.append(f"fb.owner = :{name}")
    where = _shown(owner, where + rated)
    params.update(feedback_params)
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
    join = "STRAIGHT_JOIN" if owner is None and db.dialect == "mysql" else "JOIN"
    columns, chats = _COLUMNS, f" {join} conversations c ON c.id = e.conversation_id"
    if keys_only:
        # The ids alone, for a query that joins the rest: only what a condition reads is joined
        # here, so that an index of the exchanges may answer by itself.
        columns = f"{key} AS id"
        chats = chats if owner is not None else ""
        joined = joined if rated else ""
    sql = f"SELECT {columns} FROM {source}{chats} {joined} WHERE {' AND '.join(where)} ORDER BY {key} DESC"
    return sql, params


def _walked_indexes(search: Search) -> str:
    """The indexes that yield the search's rows by id, through its person, status, model or key as
    equal to a value (any key is not one: its index would read every API row to sort them)."""
    keyed = search.source == "chat" or search.source.startswith("api:")
    if search.owner is not None:
        indexes = ["exchanges_owner"]
        for wanted, index in (
            (search.status, "exchanges_owner_status"),
            (search.model, "exchanges_owner_model"),
            (keyed, "exchanges_owner_key"),
        ):
            if wanted:
                indexes.append(index)
        return ", ".join(indexes)
    # One index, not several MariaDB might intersect and then sort.
    for wanted, index in (
        (search.status, "exchanges_status"),
        (keyed, "exchanges_key"),
        (search.model, "exchanges_model"),
    ):
        if wanted:
            return index
    return ""


def _feedback_of(search: Search, driving: bool) -> tuple[list[str], dict[str, Any]]:
    """Conditions on the feedback joined as `fb` (a thumb, any, none); `driving`: it leads the join."""
    if search.feedback in RATINGS:
        return ["fb.rating = :rating"], {"rating": search.feedback}
    if search.feedback == "any" and not driving:
        return ["fb.exchange_id IS NOT NULL"], {}
    if search.feedback == "none":
        return ["fb.exchange_id IS NULL"], {}
    return [], {}


async def _ids_of_span(
    db: Database, span: tuple[datetime | None, datetime | None]
) -> tuple[int | None, int | None] | None:
    """The ids a span of time lies within (low, high; None: no bound), by two seeks; None if no row can."""
    since, until = span
    low = high = None
    if since is not None:
        found = await _first_stored_from(db, since - ID_MARGIN)
        if found is None:
            return None
        low = found
    if until is not None:
        high = await _first_stored_from(db, until + ID_MARGIN)
    return low, high


async def _first_stored_from(db: Database, moment: datetime) -> int | None:
    row = await db.fetch_one(
        "SELECT id FROM exchanges WHERE created_at >= :moment ORDER BY created_at, id LIMIT 1",
        {"moment": moment.strftime(TIME_FORMAT)},
    )
    return int(row["id"]) if row else None


def _narrowing(
    dialect: str,
    owner: str | None,
    search: Search,
    ids: tuple[int | None, int | None],
    before: int | None,
    key: str,
    tag: str = "",
) -> tuple[list[str], dict[str, Any]]:
    """Conditions for the owner's (None: anyone's) rows of a status, model, user, group, source and
    span, older than `before` (`tag` ends the names of the user's and the key's parameters)."""
    where = ["e.owner = :owner"] if owner is not None else ["1 = 1"]
    params: dict[str, Any] = {"owner": owner} if owner is not None else {}
    if search.owner is not None:
        where.append(f"e.owner = :user{tag}")
        params[f"user{tag}"] = search.owner
    if search.group:
        where.append(
            "e.owner IN (SELECT u.owner FROM group_members gm JOIN users u ON u.id = gm.user_id"
            " WHERE gm.group_id = :group_id)"
        )
        params["group_id"] = int(search.group)
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
        where.append(f"e.key_name = :key_name{tag}")
        params[f"key_name{tag}"] = search.source.removeprefix("api:")
    since, until = search.span
    # The span's ids bound the walk; the times themselves are checked row by row, not through
    # their index, which would read the whole span to sort it.
    for bound, moment, compare in (("since", since, ">="), ("until", until, "<")):
        if moment is not None:
            where.append(f"{unindexed(dialect, 'e.created_at')} {compare} :{bound}")
            params[bound] = moment.strftime(TIME_FORMAT)
    low, high = ids
    if low is not None:
        where.append(f"{key} >= :low_id")
        params["low_id"] = low
    if high is not None:
        where.append(f"{key} < :high_id")
        params["high_id"] = high
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
