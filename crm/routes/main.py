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
    """Start on the client list, the page a manager uses most."""
    return see_other(url_for("clients.index"))


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


