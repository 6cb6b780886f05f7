"""The sidebar's search: a person's own chats found by words in their titles, questions and answers."""

from __future__ import annotations

from typing import Any

from . import fulltext
from .base import Database, Row
from .conversations import SIDEBAR_COLUMNS
from .history import MAX_QUERY_CHARS, mysql_rules

_LISTED = "owner = :owner AND api = 0 AND deleted_at IS NULL"
# Each full-text index finds its rows; the person's own, not deleted, are kept.
_SQLITE_TITLES = "SELECT rowid FROM conversations_search WHERE conversations_search MATCH :match"
_SQLITE_TEXTS = (
    "SELECT e.conversation_id FROM exchanges_search f CROSS JOIN exchanges e ON e.id = f.rowid"
    " WHERE exchanges_search MATCH :match AND e.owner = :owner AND e.deleted_at IS NULL"
)


async def find(db: Database, owner: str, query: str, limit: int) -> list[Row]:
    """Up to `limit` of the owner's chats whose title, or one exchange, holds every term; newest first."""
    terms = fulltext.as_typed(query[:MAX_QUERY_CHARS])
    if not terms:
        return []
    params: dict[str, Any] = {"owner": owner, "limit": limit}
    if db.dialect == "sqlite":
        found = f"id IN ({_SQLITE_TITLES}) OR id IN ({_SQLITE_TEXTS})"
        params["match"] = fulltext.fts5_query(terms)
    else:
        found = await _mysql_found(db, terms, params)
    return await db.fetch_all(
        f"SELECT {SIDEBAR_COLUMNS} FROM conversations WHERE {_LISTED} AND ({found})"
        " ORDER BY updated_at DESC, id DESC LIMIT :limit",
        params,
    )


async def _mysql_found(db: Database, terms: list[fulltext.Term], params: dict[str, Any]) -> str:
    """The MySQL condition on a chat: its title, or one of its exchanges, holds every term."""
    against, leftover = fulltext.mysql_query(terms, await mysql_rules(db))
    titles: list[str] = []
    texts = ["e.owner = :owner", "e.deleted_at IS NULL"]
    if against:
        titles.append("MATCH (title) AGAINST (:against IN BOOLEAN MODE)")
        texts.append("MATCH (e.question, e.answer) AGAINST (:against IN BOOLEAN MODE)")
        params["against"] = against
    # Words InnoDB does not index are matched row by row, as whole words.
    for number, term in enumerate(leftover):
        titles.append(f"title REGEXP :words{number}")
        texts.append(f"(e.question REGEXP :words{number} OR e.answer REGEXP :words{number})")
        params[f"words{number}"] = fulltext.word_regexp(term)
    return (
        f"({' AND '.join(titles)})"
        f" OR id IN (SELECT e.conversation_id FROM exchanges e WHERE {' AND '.join(texts)})"
    )
