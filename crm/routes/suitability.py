"""Suitability: risk assessment on a phone, recommendations checked by the rule, expiry lists, overview."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.domain.clock import SHANGHAI
from crm.domain.formats import parse_id
from crm.extensions import db
from crm.forms.suitability import RecommendationForm
from crm.labels import LEVEL_NAMES, OUTCOMES, SUITABILITY_REASONS, choices
from crm.models import Product, Role, SuitabilityAssessment, utcnow
from crm.routes import refusals
from crm.routes.helpers import label, local_datetime, render, see_other
from crm.routes.loaders import get_client_or_404, get_visit_or_404
from crm.services import audit, csv_export, submissions, suitability

bp = Blueprint("suitability", __name__)


@bp.before_request
@login_required
def require_login():
    """Every suitability page needs a signed-in user."""


def reason_texts(decision) -> list[str]:
    """The decision's reasons in the user's language."""
    return [str(SUITABILITY_REASONS[r.code]) % r.as_dict() for r in decision.reasons]


@bp.get("/clients/<int:client_id>/suitability")
def client(client_id: int):
    """Investor type, current risk level, assessments and recommendations of one client."""
    client = get_client_or_404(client_id, current_user)
    return render("suitability/client.html", client=client, assessments=suitability.assessments(client),
                  recommendations=suitability.client_recommendations(client),
                  questionnaire=suitability.active_questionnaire(), now=utcnow())


def _questionnaire_or_404():
    questionnaire = suitability.active_questionnaire()
    if questionnaire is None:
        abort(404)
    return questionnaire


@bp.route("/clients/<int:client_id>/assessment", methods=["GET", "POST"])
def assess(client_id: int):
    """Fill the risk questionnaire on one screen; answers are kept as a draft until submitted."""
    client = get_client_or_404(client_id, current_user)
    questionnaire = _questionnaire_or_404()
    missing: list[int] = []
    missing_text = ""
    if request.method == "POST":
        answers = suitability.parse_answers(questionnaire, request.form.to_dict())
        token = request.form.get("token") or submissions.new_token()
        try:
            assessment_id, _created = submissions.submit_once(
                token, current_user, "assessment",
                lambda: suitability.submit_assessment(client, questionnaire, current_user, answers))
        except suitability.IncompleteAnswers as refusal:
            missing, missing_text = refusal.missing, refusals.text(refusal)
            suitability.save_draft(client, questionnaire, current_user, answers)
            db.session.commit()
        else:
            assessment = db.session.get(SuitabilityAssessment, assessment_id)
            flash(_("Assessment saved: %(level)s.", level=str(_level_name(assessment.level))), "success")
            return see_other(url_for("suitability.client", client_id=client.id))
        token_value = token
    else:
        answers = suitability.load_draft(client, questionnaire)
        token_value = submissions.new_token()
    return render("suitability/assess.html", client=client, questionnaire=questionnaire, answers=answers,
                  missing=missing, missing_text=missing_text, token=token_value, status=422 if missing else 200)


def _level_name(level: int):
    return LEVEL_NAMES[level]


@bp.post("/clients/<int:client_id>/assessment/draft")
def save_draft(client_id: int):
    """Keep the answers given so far; answers the progress line (htmx) or returns to the form."""
    client = get_client_or_404(client_id, current_user)
    questionnaire = _questionnaire_or_404()
    answers = suitability.parse_answers(questionnaire, request.form.to_dict())
    suitability.save_draft(client, questionnaire, current_user, answers)
    db.session.commit()
    if request.headers.get("HX-Request") == "true":
        return render("suitability/assess.html", fragment="progress", client=client,
                      questionnaire=questionnaire, answers=answers, missing=[], token="")
    flash(_("Answers kept. You can finish later."), "info")
    return see_other(url_for("suitability.assess", client_id=client.id))


@bp.get("/assessments/<int:assessment_id>")
def assessment(assessment_id: int):
    """One assessment with the answers as given, on the questionnaire version used."""
    found = db.get_or_404(SuitabilityAssessment, assessment_id)
    client = get_client_or_404(found.client_id, current_user)
    return render("suitability/assessment.html", client=client, assessment=found,
                  questionnaire=suitability.get_questionnaire(found.questionnaire_id))


@bp.route("/clients/<int:client_id>/recommendations/new", methods=["GET", "POST"])
def recommend(client_id: int):
    """Recommend a product: the suitability rule decides what is needed or refuses."""
    client = get_client_or_404(client_id, current_user)
    visit = None
    visit_arg = request.values.get("visit", "")
    if visit_arg:
        visit_id = parse_id(visit_arg)
        if visit_id is None:
            abort(404)
        visit = get_visit_or_404(visit_id, current_user)
        if visit.client_id != client.id:
            abort(404)
    form = RecommendationForm()
    offered = suitability.products(active_only=True)
    form.product_id.choices = choices({p.id: f"{p.name} ({p.code}) R{p.risk}" for p in offered}, blank="—")
    product = None
    if parse_id(form.product_id.data):
        product = db.session.get(Product, parse_id(form.product_id.data))
    decision = suitability.check(client, product) if product else None
    status = 200
    if request.method == "GET":
        form.token.data = submissions.new_token()
    elif request.form.get("action") == "check" or product is None:
        # "Check" only shows the decision; nothing is saved.
        if product is None and request.method == "POST" and request.form.get("action") != "check":
            form.product_missing()
            status = 422
    elif form.validate_on_submit():
        confirmation = suitability.Confirmation(
            bool(form.warning_given.data), form.confirmation_method.data, form.confirmation_ref.data or "",
            form.confirmed_at_utc())
        try:
            _rec_id, created = submissions.submit_once(
                form.token.data or submissions.new_token(), current_user, "recommendation",
                lambda: suitability.recommend(client, product, current_user, confirmation,
                                              recording_ref=form.recording_ref.data or "",
                                              note=form.note.data or "", visit_id=visit.id if visit else None))
        except suitability.RecommendationRefused as refusal:
            decision, status = refusal.decision, 422
            refusals.show(refusal, form)
        except suitability.ConfirmationMissing as refusal:
            refusals.show(refusal, form)
            status = 422
        else:
            if created:
                flash(_("Recommendation recorded."), "success")
            return see_other(url_for("suitability.client", client_id=client.id))
    else:
        status = 422
    return render("suitability/recommend.html", client=client, form=form, product=product,
                  decision=decision, reasons=reason_texts(decision) if decision else [], visit=visit,
                  status=status)


@bp.get("/suitability/expiring")
def expiring():
    """The user's clients whose risk assessment expires soon or has just expired."""
    return render("suitability/expiring.html", clients=suitability.expiring_clients(current_user),
                  now=utcnow())


@bp.get("/suitability/overview")
def overview():
    """Risk level and tier distribution of the team's (or all) clients, and who needs an assessment."""
    if current_user.role not in (Role.LEAD, Role.ADMIN):
        abort(403)
    after = request.args.get("after", "")
    counts = suitability.overview(current_user)
    level_rows = [(_("Lowest category") if code == "lowest" else code, n) for code, n in counts.by_level]
    level_rows += [(_("Expired"), counts.expired), (_("Not assessed"), counts.missing)]
    return render("suitability/overview.html", overview=counts, level_rows=level_rows,
                  unassessed=suitability.unassessed_clients(current_user,
                                                            after_id=parse_id(after)))


def _date_arg(name: str, end: bool = False) -> datetime | None:
    value = request.args.get(name, "")
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    if not 2000 <= day.year <= 2100:  # out of any record's range, and 9999-12-31 + 1 day overflows
        return None
    start = datetime.combine(day + timedelta(days=1) if end else day, time(), SHANGHAI)
    return start.astimezone(ZoneInfo("UTC"))


@bp.get("/compliance/recommendations")
def recommendations():
    """Every recommendation (compliance/admin), filtered; `?format=csv` downloads them."""
    if current_user.role != Role.ADMIN:
        abort(403)
    outcome = request.args.get("outcome") if request.args.get("outcome") in OUTCOMES else None
    product_arg = request.args.get("product", "")
    query = suitability.recommendation_query(
        current_user, outcome=outcome, product_id=parse_id(product_arg),
        since=_date_arg("since"), until=_date_arg("until", end=True))
    if request.args.get("format") == "csv":
        return _csv(db.session.execute(query).unique().all())
    rows = db.session.execute(query.limit(200)).unique().all()
    return render("suitability/recommendations.html", rows=rows, outcome=outcome,
                  products=suitability.products(), product_id=product_arg,
                  since=request.args.get("since", ""), until=request.args.get("until", ""))


def _csv(rows) -> Response:
    """The filtered recommendations in the user's language, formula-safe (crm.services.csv_export)."""
    header = [_("Time"), _("Client"), _("Manager"), _("Product"), _("Product code"), _("Risk rating"),
              _("Investor type"), _("Client level"), _("Match result"), _("Warning given"),
              _("Confirmation"), _("Confirmation reference"), _("Confirmed at"), _("Recording reference")]
    body = ([
        local_datetime(rec.created_at, "yyyy-MM-dd HH:mm:ss"), client.name, rec.manager.display_name,
        rec.product.name, rec.product.code, f"R{rec.product_risk}", label(rec.investor_type, "INVESTOR_TYPES"),
        f"C{rec.client_level}" if rec.client_level else "", label(rec.outcome, "OUTCOMES"),
        _("Yes") if rec.warning_given else "", label(rec.confirmation_method, "CONFIRMATION_METHODS"),
        rec.confirmation_ref, local_datetime(rec.confirmed_at, "yyyy-MM-dd HH:mm:ss"), rec.recording_ref,
    ] for rec, client in rows)
    args = request.args
    audit.record(current_user, "export.recommendations", "recommendation", None, params={
        "outcome": args.get("outcome") if args.get("outcome") in OUTCOMES else "",
        "product_id": parse_id(args.get("product", "")), "since_day": args.get("since", "") if _date_arg("since") else "",
        "until_day": args.get("until", "") if _date_arg("until") else "", "rows": len(rows)})
    db.session.commit()
    return csv_export.response("recommendations.csv", header, body)
