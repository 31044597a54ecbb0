"""Outlet coverage (驻点排班): the week per outlet, weekly patterns and exceptions, check-in and check-out."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.domain import coverage as rules
from crm.domain.formats import parse_id
from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.forms.coverage import CheckInForm, EndPatternForm, ExceptionForm, PatternForm, PlainForm, chosen_id
from crm.models import Role, utcnow
from crm.routes import refusals
from crm.routes.helpers import render, see_other
from crm.routes.loaders import get_coverage_exception_or_404, get_coverage_pattern_or_404
from crm.services import coverage, submissions
from crm.services.users import all_outlets, all_teams

bp = Blueprint("coverage", __name__)


@bp.before_request
@login_required
def require_login():
    """Every coverage page needs a signed-in user."""


def _planner() -> bool:
    return current_user.role in (Role.LEAD, Role.ADMIN)


def _require_planner() -> None:
    """Patterns are planned by leads and admins only."""
    if not _planner():
        abort(403)


def _monday_arg() -> date:
    """The Monday of ?week=YYYY-MM-DD, else of this week."""
    try:
        day = date.fromisoformat(request.args.get("week", "")[:10])
    except ValueError:
        day = coverage.today()
    if not 2000 <= day.year <= 2100:
        day = coverage.today()
    return rules.monday_of(day)


def _team_arg() -> int | None:
    """?team= for an admin (a lead always sees their own team)."""
    return parse_id(request.args.get("team", "")) if current_user.role == Role.ADMIN else None


def _exception_form(form: ExceptionForm | None = None, day: date | None = None) -> ExceptionForm:
    if form is None:
        form = ExceptionForm()
        form.token.data = submissions.new_token()
        if day is not None:
            form.day.data = day
        if current_user.role == Role.MANAGER:
            form.user_id.data = str(current_user.id)
    form.set_choices(coverage.members(current_user), all_outlets(active_only=True))
    return form


def _week_page(monday: date, team_id: int | None, form: ExceptionForm | None = None, status: int = 200):
    form = _exception_form(form, day=max(monday, coverage.today()) if form is None else None)
    if _planner():
        teams = all_teams() if current_user.role == Role.ADMIN else []
        return render("coverage/week.html", team_week=coverage.week(current_user, monday, team_id),
                      exception_form=form, remove_form=PlainForm(), teams=teams, team_id=team_id, status=status)
    return render("coverage/mine.html", my_week=coverage.my_week(current_user, monday),
                  exception_form=form, remove_form=PlainForm(), status=status)


@bp.get("/coverage")
def index():
    """A lead's or admin's week per outlet with its gaps; a manager's own week."""
    return _week_page(_monday_arg(), _team_arg())


@bp.route("/coverage/patterns", methods=["GET", "POST"])
def patterns():
    """The weekly patterns of the team, and a form to add one (leads and admins)."""
    _require_planner()
    form = PatternForm()
    people = coverage.members(current_user)
    form.set_choices(people, all_outlets(active_only=True))
    if request.method == "GET":
        form.token.data = submissions.new_token()
        form.starts_on.data = coverage.today()
    elif form.validate_on_submit():
        try:
            member = coverage.get_member(current_user, chosen_id(form.user_id))
            outlet = coverage.get_outlet(chosen_id(form.outlet_id))
            data = form.pattern_data()
            submissions.submit_once(form.token.data or submissions.new_token(), current_user, "coverage-pattern",
                                    lambda: coverage.add_pattern(current_user, member, outlet, **data))
        except RuleError as refusal:
            db.session.rollback()
            refusals.show(refusal, form)
        else:
            flash(_("Pattern saved for %(name)s.", name=member.display_name), "success")
            return see_other(url_for("coverage.patterns"))
    current = coverage.current_patterns(current_user, coverage.today())
    return render("coverage/patterns.html", form=form, current=current, end_form=EndPatternForm(),
                  status=422 if form.errors else 200)


@bp.post("/coverage/patterns/<int:pattern_id>/end")
def end_pattern(pattern_id: int):
    """End a weekly pattern after its last day (today unless given)."""
    _require_planner()
    pattern = get_coverage_pattern_or_404(pattern_id, current_user)
    form = EndPatternForm()
    if form.validate_on_submit():
        try:
            coverage.end_pattern(current_user, pattern, form.last_day.data or coverage.today())
        except RuleError as refusal:
            db.session.rollback()
            refusals.show(refusal)
        else:
            db.session.commit()
            flash(_("Pattern ended."), "success")
    else:
        flash(_("Enter a realistic date."), "error")
    return see_other(url_for("coverage.patterns"))


@bp.post("/coverage/exceptions")
def add_exception():
    """Record a day of leave or at another outlet (a manager their own, a lead their team's)."""
    form = _exception_form(ExceptionForm())
    monday = _monday_arg()
    if form.validate_on_submit():
        monday = rules.monday_of(form.day.data)
        try:
            member = coverage.get_member(current_user, chosen_id(form.user_id))
            outlet = coverage.get_outlet(chosen_id(form.outlet_id))
            data = form.exception_data()
            submissions.submit_once(form.token.data or submissions.new_token(), current_user, "coverage-exception",
                                    lambda: coverage.add_exception(current_user, member, outlet=outlet, **data))
        except RuleError as refusal:
            db.session.rollback()
            refusals.show(refusal, form)
        else:
            flash(_("Exception saved for %(name)s.", name=member.display_name), "success")
            return see_other(url_for("coverage.index", week=monday.isoformat()))
    return _week_page(monday, _team_arg(), form=form, status=422)


@bp.post("/coverage/exceptions/<int:exception_id>/remove")
def remove_exception(exception_id: int):
    """The day follows the weekly pattern again."""
    exception = get_coverage_exception_or_404(exception_id, current_user)
    monday = rules.monday_of(exception.day)
    if PlainForm().validate_on_submit():
        coverage.remove_exception(current_user, exception)
        db.session.commit()
        flash(_("Exception removed."), "success")
    return see_other(url_for("coverage.index", week=monday.isoformat()))


def _check_in_page(form: CheckInForm, status: int = 200):
    day = coverage.today()
    return render("coverage/check_in.html", form=form, check_in=coverage.todays_check_in(current_user, day),
                  check_out_form=PlainForm(), status=status)


@bp.get("/check-in")
def check_in_page():
    """Check in at an outlet on arrival: the outlet planned today preselected, location only if ticked."""
    form = CheckInForm()
    form.set_outlets(all_outlets(active_only=True))
    form.token.data = submissions.new_token()
    day = coverage.today()
    chosen = (coverage.checked_in_outlet_id(current_user, day) or coverage.planned_outlet_id(current_user, day)
              or current_user.outlet_id)
    form.outlet_id.data = str(chosen or "")
    return _check_in_page(form)


@bp.post("/check-in")
def check_in():
    """Check in (a second tap is the same check-in)."""
    form = CheckInForm()
    form.set_outlets(all_outlets(active_only=True))
    if form.validate_on_submit():
        outlet = coverage.get_outlet(chosen_id(form.outlet_id))
        try:
            submissions.submit_once(
                form.token.data or submissions.new_token(), current_user, "check-in",
                lambda: coverage.check_in(current_user, outlet, utcnow(), form.share_location.data,
                                          form.latitude.data, form.longitude.data))
        except RuleError as refusal:
            db.session.rollback()
            refusals.show(refusal, form)
        else:
            flash(_("Checked in at %(outlet)s.", outlet=outlet.label), "success")
            return see_other(url_for("coverage.check_in_page"))
    return _check_in_page(form, status=422)


@bp.post("/check-out")
def check_out():
    """Check out of today's open check-in."""
    if PlainForm().validate_on_submit():
        try:
            found = coverage.check_out(current_user, utcnow())
        except RuleError as refusal:
            db.session.rollback()
            refusals.show(refusal)
        else:
            db.session.commit()
            flash(_("Checked out of %(outlet)s.", outlet=found.outlet.label), "success")
    return see_other(url_for("coverage.check_in_page"))
