"""The public self-registration form a QR card opens: no sign-in, no link into the signed-in app.

Its pages extend `public/base.html` (no navigation, no session scripts) and answer in the visitor's
browser language (`crm.select_locale`). POSTs are rate-limited per address and per card token.
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from crm.domain.consent import CURRENT, TEXTS, consent_text
from crm.domain.refusals import NotFound
from crm.extensions import db, limiter
from crm.forms.qr import RegistrationForm
from crm.models import QrCard, utcnow
from crm.routes.helpers import render, see_other
from crm.services import qr_cards, self_registration

bp = Blueprint("register", __name__)


class CardNotInUse(Exception):
    """The token is genuine but the card was revoked (or its manager left)."""


def _token_key() -> str:
    """Flask-Limiter's key for the per-card limit: the token in the URL."""
    return "qr-card:" + str((request.view_args or {}).get("token", ""))[:200]


def _visitor_locale() -> str:
    return "en" if get_locale() is not None and get_locale().language == "en" else "zh_CN"


def _card(token: str) -> QrCard:
    """The card of a genuine token, else 404; a card no longer in use is a 410 page."""
    try:
        card = qr_cards.card_from_token(token)
    except NotFound:
        raise NotFound("qr_card") from None
    if not qr_cards.is_in_use(card):
        raise CardNotInUse()
    return card


@bp.route("/r/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CRM_QR_LIMIT_PER_ADDRESS"], methods=["POST"])
@limiter.limit(lambda: current_app.config["CRM_QR_LIMIT_PER_CARD"], key_func=_token_key, methods=["POST"])
def form(token: str):
    """The registration form of one manager's card at one outlet."""
    card = _card(token)
    form = RegistrationForm()
    if form.validate_on_submit():
        if not form.is_bot():  # a bot gets the same thanks, and nothing is stored
            self_registration.register(card, form.registration_data(), _visitor_locale(), utcnow())
            db.session.commit()
        return see_other(url_for("register.thanks", token=token))
    return render("public/register.html", form=form, card=card, token=token,
                  consent=consent_text(_visitor_locale(), form.consent_version.data
                                       if form.consent_version.data in TEXTS else CURRENT),
                  status=422 if form.errors else 200)


@bp.get("/r/<token>/thanks")
def thanks(token: str):
    """The same thanks whatever the registration became."""
    card = _card(token)
    return render("public/thanks.html", card=card, token=token)


def _page(status: int, message: str):
    return render_template("public/message.html", status=status, message=message), status


@bp.errorhandler(NotFound)
@bp.errorhandler(404)
def not_found(error):
    """A forged or mistyped card address."""
    return _page(404, _("This page does not exist. Please check the QR code, or ask at the counter."))


@bp.errorhandler(CardNotInUse)
def not_in_use(error):
    """A revoked card: friendly, and it says where to go."""
    return _page(410, _("This card is no longer in use; please ask at the counter."))


@bp.errorhandler(429)
def too_many(error):
    """Rate limit per address or per card."""
    return _page(429, _("Too many registrations were sent just now. Please wait a little and try again."))


@bp.errorhandler(CSRFError)
@bp.errorhandler(400)
def bad_request(error):
    """An expired form (or one sent from elsewhere)."""
    return _page(400, _("This form has expired. Please scan the QR code again and send the form once more."))

