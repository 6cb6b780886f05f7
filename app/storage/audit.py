"""The audit trail: sign-ins, failed sign-ins and what admins did, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from . import events, outbox
from .base import Executor, Row, atomically
from .dialects import TIME_FORMAT, as_datetime, utcnow

SIGNED_IN = "signed in"
SIGN_IN_FAILED = "sign-in failed"
SIGNED_UP = "signed up"
PASSWORD_CHANGED = "password changed"
PASSWORD_CHANGE_FAILED = "password change failed"
SHARED = "shared a chat"
UNSHARED = "stopped sharing"
FIELD_CHARS = {"subject": 64, "address": 64, "detail": 255}


@dataclass(frozen=True, slots=True)
class Failures:
    """How many lines of one kind a name has in a span, and the first and last of them."""

    count: int
    first: datetime | None
    last: datetime | None


async def record(
    db: Executor,
    action: str,
    *,
    actor_id: int | None = None,
    subject: str = "",
    address: str = "",
    detail: str = "",
    at: datetime | None = None,
) -> None:
    """Add one line to the trail, now or `at` (fields cut to their columns' sizes).

    A line an admin wrote is also an `admin.action` event for the webhooks, in the same transaction.
    """
    when = at.strftime(TIME_FORMAT) if at else utcnow()
    subject = subject[: FIELD_CHARS["subject"]]
    address = address[: FIELD_CHARS["address"]]
    detail = detail[: FIELD_CHARS["detail"]]
    line = {
        "at": when,
        "action": action,
        "actor": actor_id,
        "subject": subject,
        "address": address,
        "detail": detail,
    }

    async def write(tx: Executor) -> None:
        await tx.execute(
            "INSERT INTO audit (at, action, actor_id, subject, address, detail)"
            " VALUES (:at, :action, :actor, :subject, :address, :detail)",
            line,
        )
        if actor_id is None:
            return
        actor = await tx.fetch_one("SELECT username, role FROM users WHERE id = :id", {"id": actor_id})
        if actor is not None and actor["role"] == "admin":
            payload = events.admin_action(action, actor_id, actor["username"], subject, address, detail, when)
            await outbox.add(tx, events.ADMIN_ACTION, payload, at=when)

    await atomically(db, write)


async def failures(
    db: Executor, action: str, subject: str, since: datetime, address: str | None = None
) -> Failures:
    """The lines of an action under a name after a time (only those from `address`, when given)."""
    where = " AND address = :address" if address is not None else ""
    row = await db.fetch_one(
        "SELECT COUNT(*) AS n, MIN(at) AS first, MAX(at) AS last FROM audit"
        f" WHERE action = :action AND subject = :subject AND at > :since{where}",
        {
            "action": action,
            "subject": subject[: FIELD_CHARS["subject"]],
            "since": since.strftime(TIME_FORMAT),
            "address": (address or "")[: FIELD_CHARS["address"]],
        },
    )
    if not row or not row["n"]:
        return Failures(0, None, None)
    return Failures(int(row["n"]), as_datetime(row["first"]), as_datetime(row["last"]))


async def signed_in_from(db: Executor, subject: str, address: str) -> bool:
    """Whether a sign-in under this name from this address ever succeeded (as far as the trail keeps)."""
    row = await db.fetch_one(
        "SELECT 1 AS yes FROM audit WHERE action = :action AND subject = :subject AND address = :address"
        " LIMIT 1",
        {
            "action": SIGNED_IN,
            "subject": subject[: FIELD_CHARS["subject"]],
            "address": address[: FIELD_CHARS["address"]],
        },
    )
    return row is not None


async def forget(db: Executor, user_id: int, name: str) -> None:
    """Strip an erased person's personal data from the trail: each action and its time stay, and
    the person is `#id` from now on; others' lines about them keep who acted, and from where."""
    alias = f"#{user_id}"
    params = {"id": user_id, "name": name[: FIELD_CHARS["subject"]], "alias": alias}
    # Their own lines, and those under their name with nobody signed in (their failed sign-ins).
    await db.execute(
        "UPDATE audit SET address = '', detail = '',"
        " subject = CASE WHEN subject = :name THEN :alias ELSE subject END"
        " WHERE actor_id = :id OR (subject = :name AND actor_id IS NULL)",
        params,
    )
    await db.execute("UPDATE audit SET subject = :alias WHERE subject = :name", params)


async def sweep(db: Executor, days: int, batch: int = 1000) -> int:
    """Delete the lines older than `days`, oldest first, a batch at a time; return how many went."""
    cutoff = (datetime.now(UTC) - timedelta(days=days)).strftime(TIME_FORMAT)
    gone = 0
    while rows := await db.fetch_all(
        "SELECT id FROM audit WHERE at < :cutoff ORDER BY at, id LIMIT :batch",
        {"cutoff": cutoff, "batch": batch},
    ):
        ids = {f"i{number}": row["id"] for number, row in enumerate(rows)}
        result = await db.execute(
            f"DELETE FROM audit WHERE id IN ({', '.join(':' + key for key in ids)})", ids
        )
        gone += result.rowcount
        if len(rows) < batch:
            break
    return gone


async def page(db: Executor, before: int | None, limit: int) -> list[Row]:
    """Up to `limit` lines older than `before`, newest first, with the acting user's name."""
    where, params = ("WHERE a.id < :before", {"before": before}) if before else ("", {})
    return await db.fetch_all(
        "SELECT a.id, a.at, a.action, a.subject, a.address, a.detail, u.username AS actor"
        f" FROM audit a LEFT JOIN users u ON u.id = a.actor_id {where} ORDER BY a.id DESC LIMIT :limit",
        {**params, "limit": limit},
    )
