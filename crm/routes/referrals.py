"""Choosing a referrer by search: the clients and partners one may see, for the capture and edit forms."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, request, url_for
from flask_login import current_user, login_required

from crm.domain.refusals import RuleError
from crm.models import Partner
from crm.routes.helpers import render
from crm.services import referrals

bp = Blueprint("referrals", __name__)


@bp.before_request
@login_required
def require_login():
    """Searching referrers needs a signed-in user."""


def _query() -> str:
    """The search text: `q`, or the capture form's own `referrer_search` input (htmx sends its value)."""
    return (request.args.get("q") or request.args.get("referrer_search") or "")[:40]


@bp.get("/referrers")
def search():
    """Up to 8 clients and partners one may see matching the text: radio choices for the capture form."""
    q = _query()
    return render("referrals/search.html", fragment="referrer_matches", q=q,
                  matches=referrals.search(current_user, q), chosen=None)


@bp.get("/referrers/choose")
def choose():
    """The chosen referrer as a chip holding the choice; no choice gives the search again."""
    chosen = None
    ref = request.args.get("ref", "")
    if ref:
        try:
            chosen = referrals.match_of(*referrals.resolve(current_user, ref))
        except RuleError:
            abort(404)  # unknown and unseen alike
    return render("referrals/search.html", fragment="referrer_chooser", q="", matches=[], chosen=chosen)


@bp.app_template_global()
def referral_source(client) -> referrals.ReferredBy | None:
    """Who referred the client, for the client file: named only if the viewer may see them."""
    return referrals.referred_by(client, current_user)


@bp.app_template_global()
def referrals_brought(record) -> referrals.Brought:
    """The prospects a client or a partner brought, as far as the viewer may see, for their page."""
    if isinstance(record, Partner):
        return referrals.brought_by_partner(record, current_user)
    return referrals.brought_by_client(record, current_user)


@bp.app_template_global()
def referrer_url(kind: str, record_id: int) -> str | None:
    """The page of a referrer (a client's file or a partner's page), None while there is no such page."""
    endpoint, arg = ("partners.show", "partner_id") if kind == referrals.PARTNER else ("clients.show", "client_id")
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **{arg: record_id})
