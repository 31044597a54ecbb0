"""Outlet coverage (驻点排班): the week per outlet, weekly patterns and exceptions, check-in and check-out."""
from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("coverage", __name__)


@bp.before_request
@login_required
def require_login():
    """Every coverage page needs a signed-in user."""
