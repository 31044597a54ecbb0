"""Complaint tickets: the list and its tabs, registration, the ticket page and its actions; workday overrides."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.domain import workdays
from crm.domain.formats import parse_id
from crm.domain.refusals import Conflict, RuleError
from crm.extensions import db
from crm.forms.complaints import (
    CloseForm,
    ComplaintForm,
    ExtendForm,
    HandoverForm,
    NoteForm,
    ReopenForm,
    StatusForm,
    WorkdayOverrideForm,
)
from crm.labels import COMPLAINT_STATUSES, choices
from crm.models import Client, Complaint, Role, WorkdayOverride, utcnow
from crm.routes import refusals
from crm.routes.helpers import label, local_datetime, render, see_other
from crm.routes.loaders import get_client_or_404, get_complaint_or_404
from crm.services import audit, complaints, csv_export, submissions
from crm.services.access import assignable_owners

bp = Blueprint("complaints", __name__)


@bp.before_request
@login_required
def require_login():
    """Every complaint page needs a signed-in user."""


def _is_supervisor() -> bool:
    return current_user.role in (Role.LEAD, Role.ADMIN)


@bp.get("/complaints")
def index():
    """Complaints by tab (mine, team, overdue, from a regulator), soonest deadline first; CSV for admins."""
    tabs = [t for t in complaints.TABS if t != "team" or _is_supervisor()]
    # Compliance handles few complaints itself: it starts on everyone's; a lead and a manager on their own.
    default = "team" if current_user.role == Role.ADMIN else "mine"
    tab = request.args.get("tab", default)
    if tab not in tabs:
        tab = default
    now = utcnow()
    rows = complaints.list_complaints(current_user, tab, now=now)
    if request.args.get("format") == "csv":
        if current_user.role != Role.ADMIN:
            abort(403)
        return _csv(rows, tab)
    return render("complaints/index.html", rows=rows, tab=tab, tabs=tabs, now=now,
                  current_deadline=complaints.current_deadline,
                  overdue_ids={c.id for c in rows if complaints.is_overdue(c, now)})


def _client_names(ids: set[int]) -> dict[int, str]:
    """Names of the complaints' clients in one query (the list does not load them)."""
    if not ids:
        return {}
    return {ident: name for ident, name in db.session.execute(sa.select(Client.id, Client.name).where(Client.id.in_(ids)))}


def _csv(rows, tab: str) -> Response:
    """The tab's complaints with headers and codes in the user's language, formula-safe."""
    header = [_("Number"), _("Status"), _("Severity"), _("Complaint channel"), _("Category"), _("Complainant"),
              _("Client"), _("Handler"), _("First handler"), _("Registered"), _("Acknowledge by"),
              _("Resolve by"), _("Acknowledged"), _("Escalation level"), _("Closed"), _("Accepted"),
              _("Satisfaction")]
    stamp = "yyyy-MM-dd HH:mm:ss"
    client_names = _client_names({c.client_id for c in rows if c.client_id})
    body = ([
        c.number, label(c.status, "COMPLAINT_STATUSES"), label(c.severity, "COMPLAINT_SEVERITIES"),
        label(c.channel, "COMPLAINT_CHANNELS"), label(c.category, "COMPLAINT_CATEGORIES"), c.complainant_name,
        client_names.get(c.client_id, ""), c.owner.display_name, c.first_handler.display_name,
        local_datetime(c.created_at, stamp), local_datetime(c.ack_due_at, stamp),
        local_datetime(c.resolve_due_at, stamp), local_datetime(c.acknowledged_at, stamp), c.escalation_level,
        local_datetime(c.closed_at, stamp), "" if c.accepted is None else (_("Yes") if c.accepted else _("No")),
        c.satisfaction if c.satisfaction is not None else "",
    ] for c in rows)
    filename = f"complaints-{tab}-{utcnow().astimezone(workdays.SHANGHAI):%Y%m%d}.csv"
    audit.record(current_user, "export.complaints", "complaint", None, params={"tab": tab, "rows": len(rows)})
    db.session.commit()
    return csv_export.response(filename, header, body)


@bp.route("/complaints/new", methods=["GET", "POST"])
def new():
    """Register a complaint, optionally about a client on file (?client=<id>)."""
    client_arg = request.args.get("client", "")
    client_id = parse_id(client_arg)
    client = get_client_or_404(client_id, current_user) if client_id else None
    if client_arg and client is None:
        abort(404)
    form = ComplaintForm()
    if request.method == "GET":
        form.token.data = submissions.new_token()
        if client is not None:
            form.prefill(client)
    elif form.validate_on_submit():
        complaint_id, created = submissions.submit_once(
            form.token.data or submissions.new_token(), current_user, "complaint",
            lambda: complaints.register(current_user, form.complaint_data(client), client=client))
        if created:
            flash(_("Complaint registered."), "success")
        return see_other(url_for("complaints.show", complaint_id=complaint_id))
    return render("complaints/new.html", form=form, client=client, status=422 if form.errors else 200)


def _forms(complaint, **given) -> dict:
    """Every action form of the ticket page, the submitted one (with its errors) kept as given."""
    forms = {
        "status_form": given.get("status_form") or StatusForm(formdata=None),
        "note_form": given.get("note_form") or NoteForm(formdata=None),
        "handover_form": given.get("handover_form") or HandoverForm(formdata=None),
        "extend_form": given.get("extend_form") or ExtendForm(formdata=None),
        "close_form": given.get("close_form") or CloseForm(formdata=None),
        "reopen_form": given.get("reopen_form") or ReopenForm(formdata=None),
    }
    forms["status_form"].to_status.choices = choices(
        {s: COMPLAINT_STATUSES[s] for s in complaints.next_statuses(complaint)})
    forms["handover_form"].owner_id.choices = choices(
        {u.id: u.display_name for u in assignable_owners(current_user) if u.id != complaint.owner_id})
    return forms


def _show(complaint, status: int = 200, **given):
    calendar = complaints.overrides()
    return render("complaints/show.html", complaint=complaint, events=complaints.events(complaint),
                  countdown=complaints.countdown(complaint, calendar=calendar),
                  can_close=complaints.can_transition(complaint.status, "closed"),
                  can_extend=_is_supervisor(), status=status, **_forms(complaint, **given))


@bp.get("/complaints/<int:complaint_id>")
def show(complaint_id: int):
    """The ticket: details, countdown in working days, actions and the history, newest first."""
    return _show(get_complaint_or_404(complaint_id, current_user))


def _act(complaint, form_name: str, form, action):
    """Validate the form, run the action, commit and redirect; else re-render with the refusals (422), or
    the complaint as it now is when someone else changed it meanwhile (409)."""
    if form.validate_on_submit():
        try:
            action(form)
        except Conflict as conflict:
            db.session.rollback()
            refusals.show(conflict)
            return _show(db.session.get(Complaint, complaint.id), status=409)
        except RuleError as refused:
            db.session.rollback()
            db.session.refresh(complaint)
            refusals.show(refused, form)
        else:
            db.session.commit()
            return see_other(url_for("complaints.show", complaint_id=complaint.id))
    return _show(complaint, status=422, **{form_name: form})


@bp.post("/complaints/<int:complaint_id>/status")
def change_status(complaint_id: int):
    """Move the complaint to its next status."""
    complaint = get_complaint_or_404(complaint_id, current_user)
    form = StatusForm()
    form.to_status.choices = choices({s: COMPLAINT_STATUSES[s] for s in complaints.next_statuses(complaint)})
    return _act(complaint, "status_form", form,
                lambda f: complaints.transition(complaint, current_user, f.to_status.data, f.note.data or ""))


@bp.post("/complaints/<int:complaint_id>/note")
def note(complaint_id: int):
    """Add a note to the history."""
    complaint = get_complaint_or_404(complaint_id, current_user)
    return _act(complaint, "note_form", NoteForm(),
                lambda f: complaints.add_note(complaint, current_user, f.text.data))


@bp.post("/complaints/<int:complaint_id>/handover")
def handover(complaint_id: int):
    """Hand the complaint to someone else in the team (who is notified)."""
    complaint = get_complaint_or_404(complaint_id, current_user)
    people = [u for u in assignable_owners(current_user) if u.id != complaint.owner_id]
    form = HandoverForm()
    form.owner_id.choices = choices({u.id: u.display_name for u in people})
    return _act(complaint, "handover_form", form, lambda f: complaints.handover(
        complaint, current_user, next(u for u in people if str(u.id) == f.owner_id.data), f.reason.data))


@bp.post("/complaints/<int:complaint_id>/extend")
def extend(complaint_id: int):
    """A lead or compliance moves the resolve deadline later, with a reason."""
    complaint = get_complaint_or_404(complaint_id, current_user)
    if not _is_supervisor():
        abort(403)
    return _act(complaint, "extend_form", ExtendForm(), lambda f: complaints.extend(
        complaint, current_user, workdays.end_of_day(f.new_due.data), f.reason.data))


@bp.post("/complaints/<int:complaint_id>/close")
def close(complaint_id: int):
    """Close and archive with the resolution, the client's acceptance and satisfaction."""
    complaint = get_complaint_or_404(complaint_id, current_user)
    return _act(complaint, "close_form", CloseForm(), lambda f: complaints.close(
        complaint, current_user, f.resolution.data, f.accepted.data == "yes", f.satisfaction_score(),
        note=f.note.data or ""))


@bp.post("/complaints/<int:complaint_id>/reopen")
def reopen(complaint_id: int):
    """Reopen a closed complaint, with a reason."""
    complaint = get_complaint_or_404(complaint_id, current_user)
    return _act(complaint, "reopen_form", ReopenForm(),
                lambda f: complaints.reopen(complaint, current_user, f.reason.data))


# ------------------------------------------------------------------ admin: holiday calendar overrides

@bp.route("/admin/workdays", methods=["GET", "POST"])
def workdays_admin():
    """Compliance corrects the holiday calendar: dates that are (or are not) working days."""
    if current_user.role != Role.ADMIN:
        abort(403)
    form = WorkdayOverrideForm()
    if form.validate_on_submit():
        complaints.add_override(current_user, form.day.data, form.is_working_day.data == "1", form.note.data or "")
        db.session.commit()
        flash(_("Calendar override saved."), "success")
        return see_other(url_for("complaints.workdays_admin"))
    rows = complaints.all_overrides()
    today = utcnow().astimezone(workdays.SHANGHAI).date()
    years = workdays.known_years()
    return render("complaints/workdays.html", form=form, rows=rows, today=today,
                  known_years=f"{years[0]}–{years[-1]}" if years else "",
                  missing_notices=complaints.years_without_notice(today),
                  status=422 if form.errors else 200)


@bp.post("/admin/workdays/<int:override_id>/remove")
def workday_remove(override_id: int):
    """Drop an override: the date follows the calendar again."""
    if current_user.role != Role.ADMIN:
        abort(403)
    override = db.get_or_404(WorkdayOverride, override_id)
    complaints.remove_override(current_user, override)
    db.session.commit()
    flash(_("Calendar override removed."), "info")
    return see_other(url_for("complaints.workdays_admin"))

