"""Home page and health check."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify, url_for
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
    """200 when the app can reach its database, 503 otherwise."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception:  # noqa: BLE001 — any database failure means unhealthy
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


