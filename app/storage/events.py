"""What each webhook event says: an exchange finished, feedback given or taken back, an admin's action."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .outbox import iso

EXCHANGE_FINISHED = "exchange.finished"
FEEDBACK_GIVEN = "feedback.given"
ADMIN_ACTION = "admin.action"


def exchange_finished(exchange: Mapping[str, Any]) -> dict[str, Any]:
    """An exchange as it ended: the question and answer, who asked, from where, with what and at what cost."""
    return {
        "exchange_id": exchange["id"],
        "conversation_id": exchange["conversation_id"],
        "parent_id": exchange.get("parent_id"),
        "person": {"owner": exchange["owner"], "name": exchange.get("person")},
        "source": "api" if exchange.get("key_name") else "web",
        "api_key": exchange.get("key_name"),
        "question": exchange["question"],
        "answer": exchange.get("answer") or "",
        "status": str(exchange["status"]),
        "error": exchange.get("error"),
        "model": exchange.get("model"),
        "server": exchange.get("server"),
        "tokens": {
            "prompt": exchange.get("prompt_tokens"),
            "completion": exchange.get("completion_tokens"),
            "estimated": bool(exchange.get("tokens_estimated") or exchange.get("estimated")),
        },
        "latency_ms": exchange.get("latency_ms"),
        "asked_at": iso(exchange.get("created_at")),
        "answered_at": iso(exchange.get("answered_at")),
    }


def admin_action(
    action: str, actor_id: int, actor: str | None, subject: str, address: str, detail: str, at: str
) -> dict[str, Any]:
    """A line an admin wrote to the audit trail."""
    return {
        "action": action,
        "admin": {"id": actor_id, "name": actor},
        "subject": subject,
        "address": address,
        "detail": detail,
        "at": iso(at),
    }


def feedback_given(
    exchange: Mapping[str, Any], rating: str | None, comment: str | None, at: str
) -> dict[str, Any]:
    """A person's rating of an answer as it now stands: `up`, `down`, or None once taken back."""
    return {
        "exchange_id": exchange["id"],
        "conversation_id": exchange["conversation_id"],
        "person": {"owner": exchange["owner"]},
        "model": exchange.get("model"),
        "server": exchange.get("server"),
        "rating": rating,
        "comment": comment,
        "at": iso(at),
    }
