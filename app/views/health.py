"""Health endpoints for load balancers and orchestrators, and the figures for monitoring."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify

from .. import metrics
from ..config import current_config
from ..people.access import cookieless, operator, operators_only, public
from ..storage import get_db, get_spool
from ..web.limits import check_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
@cookieless
async def alive() -> Response:
    """Say the process is up (it answers requests)."""
    return jsonify(status="ok")


@bp.get("/readyz")
@public
@cookieless
async def ready() -> tuple[Response, int]:
    """Say whether the app can serve (the database answers); operators also learn how each dependency is.

    Redis away does not make the app unready: its rate limits are counted in the database meanwhile.
    """
    database = await get_db().ping()
    if not database:
        metrics.database_errors.inc()
    redis = await check_redis()
    status, code = ("ready", 200) if database else ("not ready", 503)
    if not await operator():
        return jsonify(status=status), code
    body = {
        "database": "up" if database else "down",
        "engine": get_db().dialect,
        "spooled_writes": await get_spool().count(),
        "model": current_config().model_name,
    }
    if redis is not None:
        body["redis"] = "up" if redis else "down"
    return jsonify(status=status, **body), code


@bp.get("/metrics")
@operators_only
@cookieless
async def export_metrics() -> Response:
    """Expose the app's counters and histograms in Prometheus text format."""
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)
