"""Personalized-service plans: the client's plan tab and its actions, the plans list, and templates (admin)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm.exc import StaleDataError

from crm.domain.formats import parse_count, parse_id
from crm.domain.refusals import Conflict, RuleError
from crm.extensions import db
from crm.forms.plans import EndPlanForm, PlanForm, PlanItemForm, StartPlanForm, TemplateForm, TemplateItemForm
from crm.models import PlanTemplate, PlanTemplateItem, Role, Tier
from crm.routes.helpers import render, see_other
from crm.routes.loaders import get_client_or_404, get_owned_client_or_404, get_plan_item_or_404
from crm.routes.refusals import show, text
from crm.routes.suitability import reason_texts
from crm.services import plans, settings, submissions, suitability
from crm.services.access import answers_for, assignable_owners

bp = Blueprint("plans", __name__)
PLAN_PAGE = 50


@bp.before_request
@login_required
def require_login():
    """Every plan page needs a signed-in user."""


def _product_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(p.id, f"{p.name} (R{p.risk})") for p in suitability.products(active_only=True)]


def _reasons(decision) -> str:
    return "；".join(reason_texts(decision))


def _plan_page(client, plan=None, status: int = 200, **forms):
    """The plan tab: the active plan with progress and its forms, or the start form; past plans."""
    plan = plan or plans.active_plan(client)
    context = {"client": client, "plan": plan, "past": plans.past_plans(client),
               "can_change": answers_for(current_user, client)}
    if plan is None:
        start_form = forms.get("start_form") or StartPlanForm(formdata=None)
        templates = plans.templates(active_only=True)
        start_form.template_id.choices = [(t.id, t.name) for t in templates]
        if start_form.template_id.data is None and (default := plans.template_for(client)) is not None:
            start_form.template_id.data = default.id
        if not start_form.token.data:
            start_form.token.data = submissions.new_token()
        context.update(start_form=start_form, templates=templates)
    else:
        plan_form = forms.get("plan_form") or PlanForm(formdata=None, obj=plan)
        plan_form.version.data = str(plan.version)
        item_form = forms.get("item_form") or PlanItemForm(formdata=None)
        item_form.product_id.choices = _product_choices()
        context.update(progress=plans.progress(plan), plan_form=plan_form, item_form=item_form,
                       end_form=forms.get("end_form") or EndPlanForm(formdata=None),
                       conflict=forms.get("conflict", ""), birthday=plans.birthday_of(client),
                       lead_days=settings.get_int("plan_lead_days"))
    return render("plans/client.html", status=status, **context)


@bp.get("/clients/<int:client_id>/plan")
def client_plan(client_id: int):
    """The client's service plan."""
    return _plan_page(get_client_or_404(client_id, current_user))


@bp.post("/clients/<int:client_id>/plan")
def start(client_id: int):
    """Start a plan from a template; a double tap starts one plan."""
    client = get_owned_client_or_404(client_id, current_user)
    form = StartPlanForm()
    form.template_id.choices = [(t.id, t.name) for t in plans.templates(active_only=True)]
    if not form.validate_on_submit():
        return _plan_page(client, status=422, start_form=form)
    template = db.session.get(PlanTemplate, form.template_id.data)
    token = form.token.data or submissions.new_token()
    try:
        _plan_id, created = submissions.submit_once(token, current_user, "plan",
                                             lambda: _start(client, template, form.goals.data or ""))
    except RuleError as refused:
        db.session.rollback()
        # A twin of this very request may have started the plan a moment ago: that is not an error.
        if submissions.already_submitted(token, current_user, "plan") is None:
            show(refused)
        return see_other(url_for("plans.client_plan", client_id=client.id))
    if created:
        flash(_("Service plan started: its first follow-ups are on Today."), "success")
    return see_other(url_for("plans.client_plan", client_id=client.id))


def _start(client, template, goals: str):
    started = plans.start_plan(client, current_user, template, goals)
    for refused in started.skipped:
        flash(_("%(product)s was left out of the plan: %(reasons)s", product=refused.product.name,
                reasons=_reasons(refused.decision)), "warning")
    return started.plan


def _active_or_404(client):
    plan = plans.active_plan(client)
    if plan is None:
        abort(404)
    return plan


@bp.post("/clients/<int:client_id>/plan/revise")
def revise(client_id: int):
    """Change goals and the review date; a stale form shows a conflict instead of overwriting."""
    client = get_owned_client_or_404(client_id, current_user)
    plan = _active_or_404(client)
    form = PlanForm()
    if not form.validate_on_submit():
        return _plan_page(client, plan, status=422, plan_form=form)
    loaded = parse_count(form.version.data)
    loaded = -1 if loaded is None else loaded
    try:
        plans.update_plan(plan, current_user, form.goals.data or "", form.review_on.data, loaded)
        db.session.commit()
    except (Conflict, StaleDataError) as changed:
        db.session.rollback()
        conflict = changed if isinstance(changed, Conflict) else Conflict("plan.changed_meanwhile")
        return _plan_page(client, status=409, plan_form=form, conflict=text(conflict))
    except RuleError as refused:
        db.session.rollback()
        show(refused, form)
        return _plan_page(client, status=422, plan_form=form)
    flash(_("Plan revised."), "success")
    return see_other(url_for("plans.client_plan", client_id=client.id))


@bp.post("/clients/<int:client_id>/plan/items")
def add_item(client_id: int):
    """Add a service to the plan; a product only when the suitability check allows it."""
    client = get_owned_client_or_404(client_id, current_user)
    plan = _active_or_404(client)
    form = PlanItemForm()
    form.product_id.choices = _product_choices()
    if form.validate_on_submit() and _saved(form, lambda: plans.add_item(plan, current_user, form.item_data())):
        flash(_("Service added to the plan."), "success")
        return see_other(url_for("plans.client_plan", client_id=client.id))
    return _plan_page(client, status=422, item_form=form)


def _saved(form, save):
    """Run `save` and commit; a refusal goes on the form field it concerns. The saved object, or None."""
    try:
        saved = save()
        db.session.commit()
        return saved
    except plans.ProductNotSuitable as refused:
        db.session.rollback()
        form.product_id.errors.append(_reasons(refused.decision))  # the check's own reasons say more
    except RuleError as refused:
        db.session.rollback()
        show(refused, form)
    return None


@bp.post("/clients/<int:client_id>/plan/items/<int:item_id>/remove")
def remove_item(client_id: int, item_id: int):
    """Stop one service; its open follow-ups are cancelled, its history stays."""
    client = get_owned_client_or_404(client_id, current_user)
    plan = _active_or_404(client)
    item = get_plan_item_or_404(plan, item_id)
    if item.active:
        plans.remove_item(item, current_user)
        db.session.commit()
        flash(_("Service removed from the plan."), "success")
    return see_other(url_for("plans.client_plan", client_id=client.id))


@bp.post("/clients/<int:client_id>/plan/end")
def end(client_id: int):
    """End the plan (a reason is required); a new one can then be started."""
    client = get_owned_client_or_404(client_id, current_user)
    plan = _active_or_404(client)
    form = EndPlanForm()
    if not form.validate_on_submit():
        return _plan_page(client, plan, status=422, end_form=form)
    plans.end_plan(plan, current_user, form.reason.data)
    db.session.commit()
    flash(_("Plan ended."), "success")
    return see_other(url_for("plans.client_plan", client_id=client.id))


@bp.get("/plans")
def index():
    """Active plans of the clients one may see, earliest review date first."""
    owners = assignable_owners(current_user) if current_user.role != Role.MANAGER else []
    owner_arg = request.args.get("owner", "")
    owner_id = parse_id(owner_arg) if parse_id(owner_arg) in {o.id for o in owners} else None
    after = _after(request.args.get("after", ""))
    rows = plans.visible_plans(current_user, limit=PLAN_PAGE + 1, owner_id=owner_id, after=after)
    more = rows[PLAN_PAGE - 1].plan if len(rows) > PLAN_PAGE else None
    return render("plans/index.html", rows=rows[:PLAN_PAGE], today=plans.local_today(),
                  owners=owners, owner_id=owner_id, more=more)


def _after(text: str) -> tuple[date, int] | None:
    """The keyset "2027-03-20.15" (review date, plan id) of the last plan shown; None when malformed."""
    day, _, plan_id = text.partition(".")
    try:
        review_on = date.fromisoformat(day)
    except ValueError:
        return None
    ident = parse_id(plan_id)  # not int(): an id no id column can hold is a 500 from the driver
    return (review_on, ident) if ident is not None else None


# ---------------------------------------------------------------- templates (admin)

def _require_admin() -> None:
    if current_user.role != Role.ADMIN:
        abort(403)


def _tier_choices() -> list[tuple[str, str]]:
    return [("", _("Any tier"))] + [(t.id, t.name) for t in db.session.query(Tier).order_by(Tier.min_assets_fen)]


@bp.get("/admin/plan-templates")
def templates():
    """Plan templates with their services."""
    _require_admin()
    return render("plans/templates.html", templates=plans.templates())


@bp.route("/admin/plan-templates/new", methods=["GET", "POST"])
@bp.route("/admin/plan-templates/<int:template_id>", methods=["GET", "POST"])
def template_form(template_id: int | None = None):
    """Create or edit a template; its services are added and removed on the same page."""
    _require_admin()
    template = db.get_or_404(PlanTemplate, template_id) if template_id else None
    form = TemplateForm(obj=template)
    form.tier_id.choices = _tier_choices()
    if form.validate_on_submit() and (saved := _saved(form, lambda: plans.save_template(
            template, current_user, name=form.name.data, tier_id=form.tier_id.data, goals=form.goals.data or "",
            review_months=form.review_months.data, active=form.active.data))):
        flash(_("Template saved."), "success")
        return see_other(url_for("plans.template_form", template_id=saved.id))
    return _template_page(template, form, status=422 if form.errors else 200)


def _template_page(template, form, item_form=None, status: int = 200):
    item_form = item_form or TemplateItemForm(formdata=None)
    item_form.product_id.choices = _product_choices()
    return render("plans/template_form.html", plan_template=template, form=form, item_form=item_form, status=status)


@bp.post("/admin/plan-templates/<int:template_id>/items")
def template_add_item(template_id: int):
    """Add a service to a template."""
    _require_admin()
    template = db.get_or_404(PlanTemplate, template_id)
    item_form = TemplateItemForm()
    item_form.product_id.choices = _product_choices()
    if item_form.validate_on_submit() and _saved(
            item_form, lambda: plans.add_template_item(template, current_user, item_form.item_data())):
        flash(_("Service added to the template."), "success")
        return see_other(url_for("plans.template_form", template_id=template.id))
    form = TemplateForm(formdata=None, obj=template)
    form.tier_id.choices = _tier_choices()
    return _template_page(template, form, item_form=item_form, status=422)


@bp.post("/admin/plan-templates/<int:template_id>/items/<int:item_id>/remove")
def template_remove_item(template_id: int, item_id: int):
    """Drop a service from a template (plans already started keep theirs)."""
    _require_admin()
    item = db.get_or_404(PlanTemplateItem, item_id)
    if item.template_id != template_id:
        abort(404)
    plans.remove_template_item(item, current_user)
    db.session.commit()
    flash(_("Service removed from the template."), "success")
    return see_other(url_for("plans.template_form", template_id=template_id))
