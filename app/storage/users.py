"""People: anonymous owners of stored rows, and accounts with a name, a password and a role."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata

from .base import Executor, Row
from .dialects import utcnow

ROLES = ("user", "admin")
NAME_CHARS = 64
SUBJECT_CHARS = 255
_COLUMNS = "id, owner, username, kind, role, disabled_at, created_at, signed_in_at, email"


def normal_name(name: str) -> str:
    """A name compatibility-normalised, trimmed and case-folded: the form in which names are compared."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def username_key(name: str) -> str:
    """A name as it is stored and looked up: in normal form, cut to the column's size."""
    return normal_name(name)[:NAME_CHARS]


async def create_account(db: Executor, username: str, password_hash: str, role: str) -> Row:
    """Store a new local account (with an owner id of its own) and return it."""
    now = utcnow()
    owner = secrets.token_urlsafe(18)
    result = await db.execute(
        "INSERT INTO users (owner, username, password_hash, kind, role, created_at)"
        " VALUES (:owner, :username, :hash, 'local', :role, :now)",
        {"owner": owner, "username": username, "hash": password_hash, "role": role, "now": now},
    )
    assert result.lastrowid is not None
    found = await by_id(db, result.lastrowid)
    assert found is not None
    return found


async def decide_alone(db: Executor) -> None:
    """Take the accounts lock until the transaction ends: who is first, and whether sign-up is open,
    is decided by one writer at a time. Call it first: on MySQL a read before it would fix the
    snapshot that the rest of the transaction reads."""
    taken = await db.execute("UPDATE locks SET taken = taken + 1 WHERE name = 'accounts'")
    if taken.rowcount == 0:
        # The row was deleted by hand: put it back (a second writer doing the same fails on its key).
        await db.execute("INSERT INTO locks (name, taken) VALUES ('accounts', 1)")


async def by_subject(db: Executor, kind: str, subject: str) -> Row | None:
    """The user a provider or proxy knows by this subject, or None."""
    return await db.fetch_one(
        f"SELECT {_COLUMNS} FROM users WHERE kind = :kind AND subject = :subject",
        {"kind": kind, "subject": subject},
    )


async def external(db: Executor, kind: str, subject: str, name: str, email: str | None, admin: bool) -> Row:
    """The user a provider or proxy vouches for, made on their first visit (an admin when listed or first),
    named in the normal form of `name` (with a suffix when another account has that name).

    Run it in a transaction of its own: it decides alone whether this is the first account.
    """
    await decide_alone(db)
    found = await by_subject(db, kind, subject)
    if found is None:
        role = "admin" if admin or not await accounts_exist(db) else "user"
        username = username_key(name) or username_key(subject)
        if await by_username(db, username) is not None:
            username = f"{username[:55]}-{hashlib.sha256(subject.encode()).hexdigest()[:8]}"
        await db.execute(
            "INSERT INTO users (owner, username, kind, subject, email, role, created_at)"
            " VALUES (:owner, :username, :kind, :subject, :email, :role, :now)",
            {
                "owner": secrets.token_urlsafe(18),
                "username": username,
                "kind": kind,
                "subject": subject,
                "email": email,
                "role": role,
                "now": utcnow(),
            },
        )
    elif admin and found["role"] != "admin":
        await set_role(db, found["id"], "admin")
    user = await by_subject(db, kind, subject)
    assert user is not None
    return user


async def accounts_exist(db: Executor) -> bool:
    """Whether anyone has made an account yet (the first one becomes an admin)."""
    return await db.fetch_one("SELECT id FROM users WHERE kind <> 'anonymous' LIMIT 1") is not None


async def by_id(db: Executor, user_id: int) -> Row | None:
    """The user with this id, or None."""
    return await db.fetch_one(f"SELECT {_COLUMNS} FROM users WHERE id = :id", {"id": user_id})


async def by_username(db: Executor, username: str) -> Row | None:
    """The account with this name, with its password hash, or None."""
    return await db.fetch_one(
        f"SELECT {_COLUMNS}, password_hash FROM users WHERE username = :username", {"username": username}
    )


async def by_owner(db: Executor, owner: str) -> Row | None:
    """The user whose rows carry this owner id, or None."""
    return await db.fetch_one(f"SELECT {_COLUMNS} FROM users WHERE owner = :owner", {"owner": owner})


async def names(db: Executor, owners: set[str]) -> dict[str, Row]:
    """The users owning some rows, by owner id (owners with no user row are left out)."""
    if not owners:
        return {}
    params = {f"o{number}": owner for number, owner in enumerate(sorted(owners))}
    rows = await db.fetch_all(
        f"SELECT {_COLUMNS} FROM users WHERE owner IN ({', '.join(':' + key for key in params)})", params
    )
    return {row["owner"]: row for row in rows}


async def accounts(db: Executor) -> list[Row]:
    """Every account (not anonymous visitors), oldest first."""
    return await db.fetch_all(f"SELECT {_COLUMNS} FROM users WHERE kind <> 'anonymous' ORDER BY id")


async def signed_in(db: Executor, user_id: int) -> None:
    """Note when a user last signed in."""
    await db.execute("UPDATE users SET signed_in_at = :now WHERE id = :id", {"now": utcnow(), "id": user_id})


async def set_password(db: Executor, user_id: int, password_hash: str) -> None:
    """Replace a user's password hash."""
    await db.execute(
        "UPDATE users SET password_hash = :hash WHERE id = :id", {"hash": password_hash, "id": user_id}
    )


async def set_role(db: Executor, user_id: int, role: str) -> None:
    """Make a user an admin, or an ordinary user again."""
    assert role in ROLES
    await db.execute("UPDATE users SET role = :role WHERE id = :id", {"role": role, "id": user_id})


async def set_disabled(db: Executor, user_id: int, disabled: bool) -> None:
    """Disable a user (from now on) or enable them again."""
    await db.execute(
        "UPDATE users SET disabled_at = :at WHERE id = :id",
        {"at": utcnow() if disabled else None, "id": user_id},
    )


async def claim(db: Executor, anonymous_owner: str, owner: str) -> int:
    """Hand an anonymous browser's chats to a user; return how many chats moved."""
    if anonymous_owner == owner or await _is_account(db, anonymous_owner):
        return 0
    moved = await db.execute(
        "UPDATE conversations SET owner = :owner WHERE owner = :anonymous",
        {"owner": owner, "anonymous": anonymous_owner},
    )
    await db.execute(
        "UPDATE exchanges SET owner = :owner WHERE owner = :anonymous",
        {"owner": owner, "anonymous": anonymous_owner},
    )
    await db.execute("DELETE FROM users WHERE owner = :anonymous", {"anonymous": anonymous_owner})
    return moved.rowcount


async def _is_account(db: Executor, owner: str) -> bool:
    row = await db.fetch_one("SELECT kind FROM users WHERE owner = :owner", {"owner": owner})
    return row is not None and row["kind"] != "anonymous"
