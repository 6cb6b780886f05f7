"""Health endpoints for load balancers and orchestrators."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify

from ..config import current_config
from ..storage import get_db, get_spool

bp = Blueprint("health", __name__)


@bp.get("/healthz")
async def alive() -> Response:
    """Say the process is up (it answers requests)."""
    return jsonify(status="ok")


@bp.get("/readyz")
async def ready() -> tuple[Response, int]:
    """Say whether the database answers, how many writes wait for it, and which model answers."""
    database = await get_db().ping()
    config = current_config()
    body = {
        "database": "up" if database else "down",
        "engine": get_db().dialect,
        "spooled_writes": await get_spool().count(),
        "model": config.model_name,
    }
    return jsonify(status="ready" if database else "not ready", **body), 200 if database else 503
