"""Home page and health check."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, url_for
from flask_login import login_required

from crm.extensions import db, limiter
from crm.routes.helpers import see_other

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def home():
    """Start where the day's work is: Today for managers, the team board for leads, clients for admins."""
    from flask_login import current_user

    if current_user.role == "lead":
        return see_other(url_for("followups.board"))
    if current_user.role == "admin":
        return see_other(url_for("clients.index"))
    return see_other(url_for("followups.today"))


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """Each dependency's state: 503 when the database is unreachable, 200 "degraded" when only Redis is.

    Without its rate-limit store the app still works (limits are counted in memory per process), so
    the load balancer keeps the worker; monitoring alerts on "degraded". See docs/operations.md.
    """
    checks = {"database": "ok"}
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception:  # noqa: BLE001 — any database failure means unhealthy
        db.session.rollback()
        checks["database"] = "unreachable"
    if not current_app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        checks["ratelimit"] = "ok" if limiter.storage.check() else "unreachable"
    if checks["database"] != "ok":
        return jsonify(status="error", **checks), 503
    status = "ok" if all(state == "ok" for state in checks.values()) else "degraded"
    return jsonify(status=status, **checks)
