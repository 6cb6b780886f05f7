"""API keys: made for a person (shown once, kept as a digest), checked on each API request, revoked.

A key is `ga-` and 43 random characters (256 bits): too many to guess, so a fast digest
(SHA-256) is enough to keep it, and looking a key up by its digest reveals nothing about
keys that are near it. An unknown, revoked or disabled person's key runs the same one
query and gets the same refusal, so that nothing tells them apart.
"""

from __future__ import annotations

import hashlib
import secrets

from quart import g, request

from .. import messages
from ..config import current_config
from ..storage import Database, Executor, Row, api_keys, audit, get_db, migrate, open_database, users

PREFIX = "ga-"
KEY_BYTES = 32
# The start of a key kept in the clear, to tell a person's keys apart in lists.
SHOWN_CHARS = 10
MAX_NAME_CHARS = 64
MADE = "API key made"
REVOKED = "API key revoked"
# Query arguments a key could hide in: a request carrying one is refused without a look-up.
KEY_ARGUMENTS = frozenset({"key", "api_key", "api-key", "apikey", "access_token", "token", "authorization"})


class KeyRefused(Exception):
    """The request carries no usable API key; the message says what to send (never the key itself)."""


class Refusal(Exception):
    """A key cannot be made as asked; the message says why."""


def digest(key: str) -> str:
    """The SHA-256 digest a key is kept and found by."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def key_name(raw: str) -> str:
    """A key's name as typed, blanks collapsed; Refusal when it is empty or too long."""
    name = " ".join(raw.split())
    if not name or len(name) > MAX_NAME_CHARS:
        raise Refusal(messages.API_KEY_NAME)
    return name


async def make(db: Database, person: Row, name: str, actor_id: int | None, address: str = "") -> str:
    """Make a key for a person and return it: the one time it exists in the clear. Audited."""
    name = key_name(name)
    key = PREFIX + secrets.token_urlsafe(KEY_BYTES)

    async def store(tx: Executor) -> None:
        await api_keys.create(tx, person["id"], name, key[:SHOWN_CHARS], digest(key))
        await audit.record(
            tx, MADE, actor_id=actor_id, subject=person["username"] or "", address=address, detail=name
        )

    await db.transact(store)
    return key


async def make_from_command_line(database_url: str, username: str, name: str) -> str:
    """Make a key for a person named on the command line (an operator's automation); audited."""
    db = open_database(database_url)
    await db.open()
    try:
        await migrate(db)
        person = await users.by_username(db, username.casefold())
        if person is None or person["kind"] == "anonymous":
            raise Refusal(f"There is no account named {username!r}.")
        if person["disabled_at"] is not None:
            raise Refusal(f"The account {username!r} is disabled: its keys would not work.")
        return await make(db, person, name, None, "command line")
    finally:
        await db.close()


async def revoke(db: Database, key_id: int, actor_id: int, user_id: int | None, address: str = "") -> bool:
    """Revoke a key (only one of `user_id`'s, when given); audited. False when there was none to revoke."""
    found = await api_keys.get(db, key_id)
    if found is None or (user_id is not None and found["user_id"] != user_id):
        return False
    if not await api_keys.revoke(db, key_id, user_id):
        return False
    await audit.record(
        db, REVOKED, actor_id=actor_id, subject=found["username"] or "", address=address, detail=found["name"]
    )
    return True


async def admit() -> None:
    """Let an API request in by its key, as the key's person; KeyRefused (said as a 401) otherwise.

    A key counts only in the Authorization header: never in the address, and a browser's
    session cookie does not count at all.
    """
    if not current_config().accounts:
        raise KeyRefused(messages.API_NEEDS_ACCOUNTS)
    if any(
        name.lower() in KEY_ARGUMENTS or PREFIX in value for name, value in request.args.items(multi=True)
    ):
        raise KeyRefused(messages.API_KEY_IN_ADDRESS)
    scheme, _, key = request.headers.get("Authorization", "").strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise KeyRefused(messages.API_KEY_MISSING)
    # A malformed key is looked up like any other: the same work, whatever was sent.
    db = get_db()
    found = await api_keys.usable(db, digest(key))
    if found is None:
        raise KeyRefused(messages.API_KEY_WRONG)
    await api_keys.used(db, found["id"])
    g.api_key = found
    g.user = {
        "id": found["user_id"],
        "owner": found["owner"],
        "username": found["username"],
        "role": found["role"],
        "disabled_at": None,
    }


def current_key() -> Row | None:
    """The API key this request came with, once let in."""
    return g.get("api_key")
