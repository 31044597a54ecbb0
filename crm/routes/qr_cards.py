"""A manager's QR cards (扫码登记): issue one per outlet, print it (SVG, PDF), revoke it."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.extensions import db
from crm.forms.qr import CardForm
from crm.models import Outlet
from crm.routes.helpers import render, see_other
from crm.routes.loaders import get_qr_card_or_404
from crm.services import qr_cards, submissions
from crm.services.users import all_outlets

bp = Blueprint("qr_cards", __name__, url_prefix="/cards")


@bp.before_request
@login_required
def require_login():
    """Every card page needs a signed-in user."""


@bp.errorhandler(410)
def card_not_in_use(error):
    """A revoked card (or one whose manager left) prints nothing."""
    return render_template("errors/error.html", status=410, message=_("This card is no longer in use.")), 410


@bp.get("")
def index():
    """My cards (a lead also sees the team's), with outlet, date, registrations and revoke."""
    return render("cards/index.html", rows=qr_cards.visible_cards(current_user))


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Issue a card for an outlet; an earlier card of mine there stops."""
    outlets = all_outlets(active_only=True)
    form = CardForm()
    form.set_outlets(outlets)
    if request.method == "GET":
        form.token.data = submissions.new_token()
        if current_user.outlet_id:
            form.outlet_id.data = str(current_user.outlet_id)
    elif form.validate_on_submit():
        outlet = db.session.get(Outlet, int(form.outlet_id.data))
        card_id, _created = submissions.submit_once(form.token.data or submissions.new_token(), current_user,
                                                    "qr-card", lambda: qr_cards.issue_card(current_user, outlet))
        return see_other(url_for("qr_cards.show", card_id=card_id))
    return render("cards/new.html", form=form, status=422 if form.errors else 200)


@bp.get("/<int:card_id>")
def show(card_id: int):
    """The card as it prints, its public address, and the files to print."""
    card = get_qr_card_or_404(card_id, current_user)
    return render("cards/show.html", card=card, in_use=qr_cards.is_in_use(card),
                  url=qr_cards.public_url(card) if qr_cards.is_in_use(card) else "")


def _printable(card_id: int):
    card = get_qr_card_or_404(card_id, current_user)
    if not qr_cards.is_in_use(card):
        abort(410)
    return card


@bp.get("/<int:card_id>.svg")
def svg(card_id: int):
    """The QR code as SVG (for a designer or a large print)."""
    card = _printable(card_id)
    return Response(qr_cards.card_svg(card), mimetype="image/svg+xml")


@bp.get("/<int:card_id>.pdf")
def pdf(card_id: int):
    """An A6 card to print: QR code, name, outlet and a line of invitation."""
    card = _printable(card_id)
    return Response(qr_cards.card_pdf(card), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="qr-card-{card.id}.pdf"'})


@bp.post("/<int:card_id>/revoke")
def revoke(card_id: int):
    """Stop the card at once (its manager, their lead or an admin)."""
    card = get_qr_card_or_404(card_id, current_user)
    if qr_cards.revoke_card(card, current_user):
        db.session.commit()
        flash(_("The card no longer works. Visitors who scan it are asked to ask at the counter."), "success")
    return see_other(url_for("qr_cards.index"))
