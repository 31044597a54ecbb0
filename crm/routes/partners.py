"""Channel partners (渠道伙伴): the list, adding and editing one, its page and the contacts kept with it."""
from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("partners", __name__, url_prefix="/partners")


@bp.before_request
@login_required
def require_login():
    """Every partner page needs a signed-in user."""
