"""One-time links an admin hands out: to make an account, or to set a new password.

A link is live while it is unused, unrevoked and unexpired, while its maker is an enabled
admin, and (for a reset) while its person is enabled: each use checks all of it in the
statement that spends it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .base import Executor, Row
from .dialects import TIME_FORMAT, utcnow
from .sessions import key

VALID_DAYS = 7
# The page of live links lists at most this many, newest first.
LISTED = 500
_LIVE = (
    "invitations.used_at IS NULL AND invitations.revoked_at IS NULL AND invitations.expires_at > :now"
    " AND EXISTS (SELECT 1 FROM users maker WHERE maker.id = invitations.created_by"
    " AND maker.role = 'admin' AND maker.disabled_at IS NULL)"
    " AND (invitations.user_id IS NULL OR EXISTS (SELECT 1 FROM users person"
    " WHERE person.id = invitations.user_id AND person.disabled_at IS NULL))"
)


async def create(
    db: Executor,
    token: str,
    created_by: int,
    user_id: int | None = None,
    seed: str | None = None,
    group_id: int | None = None,
) -> None:
    """Store a link's token (by its digest); with `user_id` it resets their password (ending older ones).

    An invitation may keep the `seed` its token was made from (with the secret key), so that the
    list can show it again, and a group its new account joins.
    """
    if user_id is not None:
        await end_for(db, user_id)
    expires = (datetime.now(UTC) + timedelta(days=VALID_DAYS)).strftime(TIME_FORMAT)
    await db.execute(
        "INSERT INTO invitations (id, user_id, created_by, created_at, expires_at, seed, group_id)"
        " VALUES (:id, :user, :by, :now, :expires, :seed, :group)",
        {
            "id": key(token),
            "user": user_id,
            "by": created_by,
            "now": utcnow(),
            "expires": expires,
            "seed": seed,
            "group": group_id,
        },
    )


async def find(db: Executor, token: str) -> Row | None:
    """A live link, or None."""
    return await db.fetch_one(
        f"SELECT id, user_id, created_by, group_id FROM invitations WHERE id = :id AND {_LIVE}",
        {"id": key(token), "now": utcnow()},
    )


async def use(db: Executor, token: str) -> bool:
    """Spend a link; False when it is no longer live (someone spent it first, its maker lost the right…)."""
    result = await db.execute(
        f"UPDATE invitations SET used_at = :now WHERE id = :id AND {_LIVE}",
        {"id": key(token), "now": utcnow()},
    )
    return result.rowcount == 1


async def end_for(db: Executor, user_id: int) -> int:
    """End every unused link that would set this person's password; return how many."""
    return await _revoke(db, "user_id = :user", {"user": user_id})


async def end_by(db: Executor, user_id: int) -> int:
    """End every unused link this person made; return how many."""
    return await _revoke(db, "created_by = :user", {"user": user_id})


async def revoke(db: Executor, link_id: str) -> Row | None:
    """End one unused link by its stored id; return it (with its person's name), or None when not live."""
    link = await db.fetch_one(
        "SELECT invitations.id, person.username AS person FROM invitations"
        " LEFT JOIN users person ON person.id = invitations.user_id"
        " WHERE invitations.id = :id AND invitations.used_at IS NULL AND invitations.revoked_at IS NULL",
        {"id": link_id},
    )
    if link is None or not await _revoke(db, "id = :id", {"id": link_id}):
        return None
    return link


async def live(db: Executor) -> list[Row]:
    """The live links, newest first, each with its maker's name, (for a reset) its person's, and the
    group (if any) and seed of an invitation."""
    return await db.fetch_all(
        "SELECT invitations.id, invitations.user_id, invitations.created_at, invitations.expires_at,"
        " invitations.seed, user_groups.name AS group_name,"
        " maker.username AS maker, person.username AS person FROM invitations"
        " JOIN users maker ON maker.id = invitations.created_by"
        " LEFT JOIN users person ON person.id = invitations.user_id"
        " LEFT JOIN user_groups ON user_groups.id = invitations.group_id"
        f" WHERE {_LIVE} ORDER BY invitations.created_at DESC LIMIT :limit",
        {"now": utcnow(), "limit": LISTED},
    )


async def forget(db: Executor, user_id: int) -> None:
    """Delete the links for a person, and those they made that nobody used (their account is being erased)."""
    await db.execute(
        "DELETE FROM invitations WHERE user_id = :user OR (created_by = :user AND used_at IS NULL)",
        {"user": user_id},
    )


async def _revoke(db: Executor, where: str, params: Row) -> int:
    result = await db.execute(
        f"UPDATE invitations SET revoked_at = :now WHERE {where} AND used_at IS NULL AND revoked_at IS NULL",
        {**params, "now": utcnow()},
    )
    return result.rowcount
