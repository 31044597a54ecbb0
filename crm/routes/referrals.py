"""Choosing a referrer by search: the clients and partners one may see, for the capture and edit forms."""
from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("referrals", __name__)


@bp.before_request
@login_required
def require_login():
    """Searching referrers needs a signed-in user."""
