"""A manager's QR cards (扫码登记): issue one per outlet, print it (SVG, PDF), revoke it."""
from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("qr_cards", __name__, url_prefix="/cards")


@bp.before_request
@login_required
def require_login():
    """Every card page needs a signed-in user."""
