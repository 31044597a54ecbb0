"""The needs profile tab and the investor type decision."""
from __future__ import annotations

from flask import Blueprint, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.domain.formats import parse_count
from crm.extensions import db
from crm.forms.profiles import InvestorTypeForm, NeedsProfileForm
from crm.labels import PROFILE_FIELD_NAMES
from crm.models import InvestorType
from crm.routes import refusals
from crm.routes.helpers import render, see_other
from crm.routes.loaders import get_client_or_404
from crm.services import profiles

bp = Blueprint("profiles", __name__)


@bp.before_request
@login_required
def require_login():
    """Every profile page needs a signed-in user."""


@bp.route("/clients/<int:client_id>/profile", methods=["GET", "POST"])
def needs(client_id: int):
    """The client's needs profile: edit it, see what changed, by whom, when."""
    client = get_client_or_404(client_id, current_user)
    current = profiles.current_profile(client)
    form = NeedsProfileForm()
    conflict, conflict_text = None, ""
    if request.method == "GET":
        form.load(profiles.values(current))
        form.version.data = str(current.version if current else 0)
    elif form.validate_on_submit():
        loaded = parse_count(form.version.data)
        loaded = -1 if loaded is None else loaded
        try:
            saved = profiles.save_profile(client, current_user, form.profile_data(), loaded)
            db.session.commit()
        except profiles.ProfileConflict as refusal:
            db.session.rollback()
            conflict, conflict_text = refusal.current, refusals.text(refusal)
            form.version.data = str(conflict.version if conflict else 0)
        else:
            flash(_("Needs profile saved.") if saved else _("Nothing changed."), "success" if saved else "info")
            return see_other(url_for("profiles.needs", client_id=client.id))
    status = 409 if conflict else (422 if form.errors else 200)
    return render("profiles/needs.html", client=client, form=form, conflict=conflict, conflict_text=conflict_text,
                  history=profiles.history(client), field_names=PROFILE_FIELD_NAMES, status=status)


@bp.route("/clients/<int:client_id>/investor-type", methods=["GET", "POST"])
def investor_type(client_id: int):
    """Decide ordinary or professional, with the criterion and evidence (an audited event)."""
    client = get_client_or_404(client_id, current_user)
    form = InvestorTypeForm(investor_type=client.investor_type)
    if form.validate_on_submit():
        profiles.set_investor_type(client, current_user, InvestorType(form.investor_type.data),
                                   form.criterion.data, form.evidence.data, form.basis_date.data,
                                   form.recording_ref.data or "")
        db.session.commit()
        flash(_("Investor type recorded."), "success")
        return see_other(url_for("suitability.client", client_id=client.id))
    return render("profiles/investor_type.html", client=client, form=form,
                  history=profiles.investor_type_history(client), status=422 if form.errors else 200)
