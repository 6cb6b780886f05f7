"""Health endpoints for load balancers and orchestrators."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify

from .. import metrics
from ..config import current_config
from ..people.access import cookieless, public, signed_in_only
from ..storage import get_db, get_spool

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
@cookieless
async def alive() -> Response:
    """Say the process is up (it answers requests)."""
    return jsonify(status="ok")


@bp.get("/readyz")
@signed_in_only
@cookieless
async def ready() -> tuple[Response, int]:
    """Say whether the database answers, how many writes wait for it, and which model answers."""
    database = await get_db().ping()
    if not database:
        metrics.database_errors.inc()
    config = current_config()
    body = {
        "database": "up" if database else "down",
        "engine": get_db().dialect,
        "spooled_writes": await get_spool().count(),
        "model": config.model_name,
    }
    return jsonify(status="ready" if database else "not ready", **body), 200 if database else 503


@bp.get("/metrics")
@signed_in_only
@cookieless
async def export_metrics() -> Response:
    """Expose the app's counters and histograms in Prometheus text format."""
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)
