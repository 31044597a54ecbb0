"""Visit logs: log a contact from the client file in two taps, read one back."""
from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.domain.formats import parse_id
from crm.extensions import db
from crm.forms.clients import VisitForm
from crm.models import Client
from crm.routes.helpers import followup_title, render, see_other
from crm.routes.loaders import get_client_or_404, get_followup_or_404, get_visit_or_404
from crm.routes.sessions import restored_input
from crm.services import clients, submissions
from crm.services.access import can_see_client

bp = Blueprint("visits", __name__)


@bp.before_request
@login_required
def require_login():
    """Every visit page needs a signed-in user."""


@bp.route("/clients/<int:client_id>/visits/new", methods=["GET", "POST"])
def new(client_id: int):
    """Log a visit or contact with this client; with `followup`, the visit completes that follow-up."""
    followup_arg = request.values.get("followup", "")
    token = request.form.get("token", "") if request.method == "POST" else ""
    if token and submissions.already_submitted(token, current_user, "visit") is not None:
        # A retried Save whose first attempt went through (and may have ended the user's access).
        return _after_saving(client_id, parse_id(followup_arg))
    client = get_client_or_404(client_id, current_user)
    followup = None
    if followup_arg:
        followup_id = parse_id(followup_arg)
        if followup_id is None:
            abort(404)
        followup = get_followup_or_404(followup_id, current_user)
        if followup.client_id != client.id:
            abort(404)
    restored = restored_input("visits.new")  # typed here when the session ran out
    form = VisitForm(formdata=restored) if restored is not None else VisitForm()
    if request.method == "GET":
        form.token.data = submissions.new_token()
        if followup is not None and restored is None:
            # Completing a follow-up: the visit form starts from what the follow-up asked for.
            form.channel.data = "visit" if followup.kind == "visit" else "phone"
            form.summary.data = followup_title(followup)
    elif form.validate_on_submit():
        if not form.token.data:
            form.token.data = submissions.new_token()
        _visit_id, created = submissions.submit_once(
            form.token.data, current_user, "visit",
            lambda: clients.log_visit(client, current_user, form.visit_data(), completes=followup))
        if created:
            if followup is not None and not can_see_client(current_user, client):
                flash(_("Visit logged and follow-up done. %(client)s stays with %(owner)s.",
                        client=client.name, owner=client.owner.display_name), "success")
            else:
                flash(_("Visit logged."), "success")
        return _after_saving(client.id, followup.id if followup else None)
    return render("visits/new.html", form=form, client=client, followup=followup,
                  status=422 if form.errors else 200)


def _after_saving(client_id: int, followup_id: int | None):
    """Back to the client file, or to the follow-up when completing it ended the user's access to the client."""
    client = db.session.get(Client, client_id)
    if client is None or not can_see_client(current_user, client):
        if followup_id is not None:
            return see_other(url_for("followups.show", followup_id=followup_id))
        return see_other(url_for("followups.today"))
    return see_other(url_for("clients.show", client_id=client_id))


@bp.get("/visits/<int:visit_id>")
def show(visit_id: int):
    """One visit log."""
    visit = get_visit_or_404(visit_id, current_user)
    return render("visits/show.html", visit=visit, client=visit.client)
