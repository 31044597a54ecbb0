"""Admin pages: users, teams, outlets and the audit trail."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import orm as so

from crm.domain.clock import SHANGHAI
from crm.domain.formats import parse_id
from crm.domain.questionnaire_text import QuestionnaireError, format_questionnaire, parse_questionnaire
from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.forms.admin import OutletForm, TeamForm, UserForm
from crm.forms.suitability import ProductForm, QuestionnaireForm, settings_form
from crm.labels import SETTING_NAMES, choices
from crm.models import Client, Outlet, Product, Questionnaire, Role, Team, User
from crm.routes import refusals
from crm.routes.helpers import local_datetime, render, see_other
from crm.services import audit, csv_export, sessions, settings, suitability, users

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_admin():
    """Only compliance/admin users manage accounts and read the audit trail."""
    if current_user.role != Role.ADMIN:
        abort(403)


def _fill_user_choices(form: UserForm) -> None:
    form.team_id.choices = choices({t.id: t.name for t in users.all_teams()}, blank="—")
    form.outlet_id.choices = choices({o.id: o.label for o in users.all_outlets()}, blank="—")


@bp.get("/users")
def user_list():
    """All users with role, team and status."""
    rows = db.session.execute(
        sa.select(User).options(so.joinedload(User.team), so.joinedload(User.outlet))
        .order_by(User.active.desc(), User.role, User.display_name)
    ).scalars()
    return render("admin/users.html", users=list(rows))


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    """Create a user."""
    form = UserForm(creating=True, taken_usernames=users.username_taken)
    _fill_user_choices(form)
    if form.validate_on_submit():
        user = users.create_user(
            form.username.data, form.display_name.data, form.password.data, form.role.data,
            email=form.email.data or "", locale=form.locale.data,
            team=db.session.get(Team, int(form.team_id.data)) if form.team_id.data else None,
            outlet=db.session.get(Outlet, int(form.outlet_id.data)) if form.outlet_id.data else None,
            actor=current_user)
        db.session.commit()
        flash(_("User %(name)s created.", name=user.display_name), "success")
        return see_other(url_for("admin.user_list"))
    return render("admin/user_form.html", form=form, user=None, status=422 if form.errors else 200)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int):
    """Edit a user; a new password is optional."""
    user = db.get_or_404(User, user_id)
    form = UserForm(obj=user, taken_usernames=lambda name: users.username_taken(name, user.id))
    _fill_user_choices(form)
    if request.method == "GET":
        form.team_id.data = str(user.team_id or "")
        form.outlet_id.data = str(user.outlet_id or "")
    elif form.validate_on_submit():
        users.update_user(
            user, current_user, username=form.username.data, display_name=form.display_name.data,
            email=form.email.data or "", role=form.role.data, locale=form.locale.data, active=form.active.data,
            team_id=int(form.team_id.data) if form.team_id.data else None,
            outlet_id=int(form.outlet_id.data) if form.outlet_id.data else None,
            new_password=form.password.data or None)
        db.session.commit()
        flash(_("User %(name)s saved.", name=user.display_name), "success")
        return see_other(url_for("admin.user_list"))
    return render("admin/user_form.html", form=form, user=user, status=422 if form.errors else 200,
                  user_sessions=sessions.live_sessions(user), device_label=sessions.device_label)


@bp.post("/users/<int:user_id>/sessions/end")
def user_sessions_end(user_id: int):
    """Sign a user out everywhere (a lost phone): every session and remember cookie ends; audited."""
    user = db.get_or_404(User, user_id)
    own = user.id == current_user.id
    count = sessions.end_all(user, "admin", current_user, keep=sessions.current() if own else None)
    db.session.commit()
    flash(_("%(name)s is signed out everywhere (%(count)s sessions ended).", name=user.display_name, count=count),
          "success")
    return see_other(url_for("admin.user_edit", user_id=user.id))


@bp.route("/teams", methods=["GET", "POST"])
def teams():
    """Teams and their members; add a team."""
    form = TeamForm()
    if form.validate_on_submit():
        try:
            users.create_team(current_user, form.name.data)
        except users.NameTaken as refusal:
            refusals.show(refusal, form)
        else:
            db.session.commit()
            flash(_("Team created."), "success")
            return see_other(url_for("admin.teams"))
    rows = db.session.execute(
        sa.select(Team).options(so.selectinload(Team.members)).order_by(Team.name)).scalars()
    return render("admin/teams.html", teams=list(rows), form=form, status=422 if form.errors else 200)


@bp.route("/teams/<int:team_id>", methods=["GET", "POST"])
def team_edit(team_id: int):
    """Rename a team."""
    team = db.get_or_404(Team, team_id)
    form = TeamForm(obj=team)
    if form.validate_on_submit():
        try:
            users.rename_team(team, current_user, form.name.data)
        except users.NameTaken as refusal:
            refusals.show(refusal, form)
        else:
            db.session.commit()
            flash(_("Team saved."), "success")
            return see_other(url_for("admin.teams"))
    return render("admin/team_form.html", form=form, team=team, status=422 if form.errors else 200)


@bp.route("/outlets", methods=["GET", "POST"])
def outlets():
    """Bank outlets; add one."""
    form = OutletForm()
    if form.validate_on_submit():
        try:
            users.create_outlet(current_user, form.bank.data, form.branch.data, form.city.data,
                                active=form.active.data)
        except users.NameTaken as refusal:
            refusals.show(refusal, form)
        else:
            db.session.commit()
            flash(_("Outlet added."), "success")
            return see_other(url_for("admin.outlets"))
    return render("admin/outlets.html", outlets=users.all_outlets(), form=form,
                  status=422 if form.errors else 200)


@bp.route("/outlets/<int:outlet_id>", methods=["GET", "POST"])
def outlet_edit(outlet_id: int):
    """Edit an outlet or take it out of use."""
    outlet = db.get_or_404(Outlet, outlet_id)
    form = OutletForm(obj=outlet)
    if form.validate_on_submit():
        try:
            users.update_outlet(outlet, current_user, form.bank.data, form.branch.data, form.city.data,
                                form.active.data)
        except users.NameTaken as refusal:
            refusals.show(refusal, form)
        else:
            db.session.commit()
            flash(_("Outlet saved."), "success")
            return see_other(url_for("admin.outlets"))
    return render("admin/outlet_form.html", form=form, outlet=outlet, status=422 if form.errors else 200)


def _audit_filter() -> tuple[audit.AuditFilter, dict, list[str]]:
    """The trail's filters from the query string, the values to show back, and messages for bad ones."""
    args, errors = request.args, []
    shown = {key: args.get(key, "")[:60].strip() for key in ("action", "user", "client", "client_name", "since", "until")}
    days = {}
    for key in ("since", "until"):
        if shown[key]:
            try:
                days[key] = date.fromisoformat(shown[key])
                if not 2000 <= days[key].year <= 2100:  # 9999-12-31 + 1 day, or 0001-01-01 in UTC, overflow
                    raise ValueError(shown[key])
            except ValueError:
                days.pop(key, None)
                errors.append(_("Enter dates as YYYY-MM-DD, e.g. 2026-12-01."))
                shown[key] = ""
    filters = audit.AuditFilter(
        action=shown["action"][:40],
        actor_id=parse_id(shown["user"]),
        client_id=parse_id(shown["client"]),
        client_name=shown["client_name"],
        since=_shanghai_midnight(days["since"]) if "since" in days else None,
        until=_shanghai_midnight(days["until"] + timedelta(days=1)) if "until" in days else None)
    return filters, shown, errors


def _shanghai_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), SHANGHAI).astimezone(timezone.utc)


@bp.get("/audit")
def audit_trail():
    """The audit trail, newest first, filtered by action, user, client and dates; `?format=csv` downloads it."""
    filters, shown, errors = _audit_filter()
    if request.args.get("format") == "csv":
        return _audit_csv(filters)
    before = request.args.get("before", "")
    found = audit.page(filters, before=parse_id(before))
    chosen_client = db.session.get(Client, filters.client_id) if filters.client_id else None
    return render("admin/audit.html", page=found, shown=shown, actors=audit.actors(),
                  actions=audit.action_codes(), chosen_client=chosen_client, errors=errors)


def _audit_csv(filters: audit.AuditFilter) -> Response:
    """The filtered trail in the user's language, streamed in keyset batches, formula-safe."""
    header = [_("When"), _("Who"), _("Action"), _("Action code"), _("Object"), _("Client"), _("Detail"),
              _("Address / source")]
    body = ([local_datetime(row.event.at, "yyyy-MM-dd HH:mm:ss"), row.actor_name or _("System"), row.action_text,
             row.event.action, row.object_text, row.client_name, row.details, row.source]
            for row in audit.iter_rows(filters))
    stamp = datetime.now(SHANGHAI).strftime("%Y%m%d-%H%M%S")
    until = filters.until - timedelta(days=1) if filters.until else None
    audit.record(current_user, "export.audit", "audit_trail", None, params={
        "action": filters.action, "user_id": filters.actor_id, "client_id": filters.client_id,
        "client_name": filters.client_name,
        "since_day": filters.since.astimezone(SHANGHAI).date().isoformat() if filters.since else "",
        "until_day": until.astimezone(SHANGHAI).date().isoformat() if until else ""})
    db.session.commit()  # before the rows stream out: the download is on record even if it is cut off
    return csv_export.response(f"audit-{stamp}.csv", header, body, stream=True)


@bp.get("/products")
def products():
    """Products and their risk ratings."""
    return render("admin/products.html", products=suitability.products())


@bp.route("/products/new", methods=["GET", "POST"])
@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
def product_form(product_id: int | None = None):
    """Create or edit a product; a change of risk rating is audited."""
    product = db.get_or_404(Product, product_id) if product_id else None
    form = ProductForm(obj=product)
    if form.validate_on_submit():
        try:
            suitability.save_product(product, current_user, code=form.code.data, name=form.name.data,
                                     kind=form.kind.data, issuer=form.issuer.data or "", risk=form.risk.data,
                                     active=form.active.data)
        except RuleError as refusal:
            refusals.show(refusal, form)
        else:
            db.session.commit()
            flash(_("Product saved."), "success")
            return see_other(url_for("admin.products"))
    return render("admin/product_form.html", form=form, product=product, status=422 if form.errors else 200)


@bp.get("/questionnaires")
def questionnaires():
    """Risk questionnaire versions; the active one is used for new assessments."""
    return render("admin/questionnaires.html", versions=suitability.questionnaire_versions())


@bp.route("/questionnaires/new", methods=["GET", "POST"])
def questionnaire_new():
    """Write the next questionnaire version (starting from the active one) and publish it."""
    form = QuestionnaireForm()
    problems: list[tuple[int, str]] = []  # (line, words), line 0 for the text as a whole
    if request.method == "GET":
        active = suitability.active_questionnaire()
        form.text.data = format_questionnaire(suitability.to_parsed(active)) if active else suitability.default_questionnaire_text()
    elif form.validate_on_submit():
        try:
            parsed = parse_questionnaire(form.text.data)
        except QuestionnaireError as refusal:
            problems = [(error.line, refusals.text(error)) for error in refusal.all]
        else:
            version = suitability.create_questionnaire(parsed, current_user, activate=True)
            db.session.commit()
            flash(_("Questionnaire version %(version)s published.", version=version.version), "success")
            return see_other(url_for("admin.questionnaires"))
    return render("admin/questionnaire_form.html", form=form, problems=problems,
                  status=422 if problems or form.errors else 200)


@bp.get("/questionnaires/<int:questionnaire_id>")
def questionnaire_show(questionnaire_id: int):
    """One questionnaire version as published."""
    found = suitability.get_questionnaire(questionnaire_id)
    if found is None:
        abort(404)
    return render("admin/questionnaire_show.html", questionnaire=found)


@bp.post("/questionnaires/<int:questionnaire_id>/activate")
def questionnaire_activate(questionnaire_id: int):
    """Make an earlier version the active one again."""
    found = db.get_or_404(Questionnaire, questionnaire_id)
    suitability.activate_questionnaire(found, current_user)
    db.session.commit()
    flash(_("Questionnaire version %(version)s is now used for new assessments.", version=found.version),
          "success")
    return see_other(url_for("admin.questionnaires"))


@bp.route("/settings", methods=["GET", "POST"])
def rule_settings():
    """Suitability settings: assessment expiry and warning window."""
    form = settings_form(settings.SPECS, SETTING_NAMES)(data=settings.all_values())
    if form.validate_on_submit():
        for key in settings.SPECS:
            settings.set_int(key, getattr(form, key).data, current_user)
        db.session.commit()
        flash(_("Settings saved."), "success")
        return see_other(url_for("admin.rule_settings"))
    return render("admin/settings.html", form=form, status=422 if form.errors else 200)
