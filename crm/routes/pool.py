"""The team pool (公海): released prospects, claiming one, a lead's assignment and protection extension."""
from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.domain.formats import parse_id
from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.forms.pool import AssignForm, ClaimForm, ProtectionForm
from crm.labels import choices
from crm.models import Role
from crm.routes import refusals
from crm.routes.helpers import render, see_other
from crm.routes.loaders import get_client_or_404, get_pool_client_or_404
from crm.services import pool
from crm.services.access import answers_for, assignable_owners
from crm.services.users import all_teams

bp = Blueprint("pool", __name__)


@bp.before_request
@login_required
def require_login():
    """Every pool page needs a signed-in user."""


def _managers() -> list:
    return assignable_owners(current_user)


def _assign_form(managers: list) -> AssignForm:
    form = AssignForm()
    form.manager_id.choices = choices({u.id: u.display_name for u in managers})
    return form


@bp.get("/pool")
def index():
    """The team pool: released prospects of one's team as cards (masked numbers), to claim or assign."""
    team_id = parse_id(request.args.get("team", "")) if current_user.role == Role.ADMIN else None
    leads = current_user.role in (Role.LEAD, Role.ADMIN)
    managers = _managers() if leads else []
    return render("pool/index.html", clients=pool.pool_clients(current_user, team_id), team_id=team_id,
                  teams=all_teams() if current_user.role == Role.ADMIN else [],
                  claim_form=ClaimForm(), assign_form=_assign_form(managers) if leads else None,
                  can_claim=current_user.role in (Role.MANAGER, Role.LEAD))


@bp.post("/pool/<int:client_id>/claim")
def claim(client_id: int):
    """Take a pooled prospect: the first claim wins, the client file opens; a later claimer is told why."""
    if not ClaimForm().validate_on_submit():
        abort(400)
    try:
        client = pool.claim(client_id, current_user)
    except RuleError as refusal:
        db.session.rollback()
        refusals.show(refusal, None)  # NotFound / NotAllowed: 404 / 403
        return see_other(url_for("pool.index"))
    db.session.commit()
    flash(_("%(client)s is now your client.", client=client.name), "success")
    return see_other(url_for("clients.show", client_id=client.id))


@bp.post("/pool/<int:client_id>/assign")
def assign(client_id: int):
    """A lead gives a pooled prospect to a manager of the team (notified)."""
    pooled = get_pool_client_or_404(client_id, current_user)
    if current_user.role not in (Role.LEAD, Role.ADMIN):
        abort(403)
    managers = _managers()
    form = _assign_form(managers)
    if not form.validate_on_submit():
        flash(_("Choose a manager of the team from the list."), "error")
        return see_other(url_for("pool.index"))
    manager = next(u for u in managers if str(u.id) == form.manager_id.data)
    try:
        client = pool.assign(pooled.id, current_user, manager)
    except RuleError as refusal:
        db.session.rollback()
        refusals.show(refusal, None)
        return see_other(url_for("pool.index"))
    db.session.commit()
    flash(_("%(client)s now belongs to %(owner)s.", client=client.name, owner=manager.display_name), "success")
    return see_other(url_for("pool.index"))


@bp.post("/clients/<int:client_id>/protection")
def protection(client_id: int):
    """A lead (or compliance) extends the protection period of a prospect of the team."""
    client = get_client_or_404(client_id, current_user)
    if current_user.role not in (Role.LEAD, Role.ADMIN) or not answers_for(current_user, client):
        abort(403)
    form = ProtectionForm()
    if form.validate_on_submit():
        try:
            pool.extend(client, current_user, form.until_instant(), form.note.data or "")
        except RuleError as refusal:
            db.session.rollback()
            refusals.show(refusal, None)
        else:
            db.session.commit()
            flash(_("Protection extended."), "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
    return see_other(url_for("clients.show", client_id=client_id))


@bp.app_template_global()
def pool_protection(client) -> dict:
    """What the client file shows of the protection: its end, and the extend form for a lead."""
    until = pool.protection_end(client)
    can_extend = (until is not None and current_user.role in (Role.LEAD, Role.ADMIN)
                  and answers_for(current_user, client))
    return {"until": until, "form": ProtectionForm() if can_extend else None}
