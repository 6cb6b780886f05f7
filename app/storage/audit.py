"""The audit trail: sign-ins, failed sign-ins and what admins did, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .base import Executor, Row
from .dialects import TIME_FORMAT, utcnow

SIGNED_IN = "signed in"
SIGN_IN_FAILED = "sign-in failed"
SIGNED_UP = "signed up"
PASSWORD_CHANGED = "password changed"
SHARED = "shared a chat"
UNSHARED = "stopped sharing"
FIELD_CHARS = {"subject": 64, "address": 64, "detail": 255}


async def record(
    db: Executor,
    action: str,
    *,
    actor_id: int | None = None,
    subject: str = "",
    address: str = "",
    detail: str = "",
) -> None:
    """Add one line to the trail (fields cut to their columns' sizes)."""
    await db.execute(
        "INSERT INTO audit (at, action, actor_id, subject, address, detail)"
        " VALUES (:at, :action, :actor, :subject, :address, :detail)",
        {
            "at": utcnow(),
            "action": action,
            "actor": actor_id,
            "subject": subject[: FIELD_CHARS["subject"]],
            "address": address[: FIELD_CHARS["address"]],
            "detail": detail[: FIELD_CHARS["detail"]],
        },
    )


async def failures(db: Executor, subject: str, seconds: float) -> int:
    """How many sign-ins under this name failed in the last `seconds`."""
    since = (datetime.now(UTC) - timedelta(seconds=seconds)).strftime(TIME_FORMAT)
    row = await db.fetch_one(
        "SELECT COUNT(*) AS n FROM audit WHERE action = :action AND subject = :subject AND at >= :since",
        {"action": SIGN_IN_FAILED, "subject": subject[: FIELD_CHARS["subject"]], "since": since},
    )
    return int(row["n"]) if row else 0


async def page(db: Executor, before: int | None, limit: int) -> list[Row]:
    """Up to `limit` lines older than `before`, newest first, with the acting user's name."""
    where, params = ("WHERE a.id < :before", {"before": before}) if before else ("", {})
    return await db.fetch_all(
        "SELECT a.id, a.at, a.action, a.subject, a.address, a.detail, u.username AS actor"
        f" FROM audit a LEFT JOIN users u ON u.id = a.actor_id {where} ORDER BY a.id DESC LIMIT :limit",
        {**params, "limit": limit},
    )
