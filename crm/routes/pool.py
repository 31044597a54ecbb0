"""The team pool (公海): released prospects, claiming one, a lead's assignment and protection extension."""
from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("pool", __name__)


@bp.before_request
@login_required
def require_login():
    """Every pool page needs a signed-in user."""
