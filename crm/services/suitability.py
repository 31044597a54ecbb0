"""Questionnaires, risk assessments, products and recommendations checked by the suitability rule."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.domain import suitability as rules
from crm.domain.clock import SHANGHAI
from crm.domain.formats import parse_id
from crm.domain.questionnaire_text import DEFAULT_QUESTIONNAIRE_PATH, ParsedQuestionnaire
from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.models import (
    AssessmentDraft,
    Client,
    Product,
    Question,
    Questionnaire,
    QuestionOption,
    Recommendation,
    SuitabilityAssessment,
    User,
    utcnow,
)
from crm.services import audit, settings
from crm.services.access import client_book, client_visibility

# ---------------------------------------------------------------- questionnaires

def default_questionnaire_text() -> str:
    """The Chinese questionnaire shipped with the app."""
    return DEFAULT_QUESTIONNAIRE_PATH.read_text(encoding="utf-8")


def _with_questions() -> sa.Select:
    return sa.select(Questionnaire).options(
        so.selectinload(Questionnaire.questions).selectinload(Question.options))


def active_questionnaire() -> Questionnaire | None:
    """The questionnaire version new assessments use, with its questions and options."""
    return db.session.execute(_with_questions().where(Questionnaire.active.is_(True))).scalar_one_or_none()


def get_questionnaire(questionnaire_id: int) -> Questionnaire | None:
    """One questionnaire version with its questions and options."""
    return db.session.execute(_with_questions().where(Questionnaire.id == questionnaire_id)).scalar_one_or_none()


def questionnaire_versions() -> list[Questionnaire]:
    """Every version, newest first."""
    return list(db.session.execute(sa.select(Questionnaire).order_by(Questionnaire.version.desc())).scalars())


def create_questionnaire(parsed: ParsedQuestionnaire, actor: User | None, activate: bool = True) -> Questionnaire:
    """Store a new version (published versions are never edited) and make it the active one."""
    latest = db.session.execute(sa.select(sa.func.max(Questionnaire.version))).scalar() or 0
    c2, c3, c4, c5 = parsed.bands
    questionnaire = Questionnaire(version=latest + 1, title=parsed.title, c2_min=c2, c3_min=c3, c4_min=c4,
                                  c5_min=c5, created_by_id=actor.id if actor else None, active=False)
    for qpos, q in enumerate(parsed.questions, start=1):
        question = Question(position=qpos, text=q.text)
        question.options = [QuestionOption(position=opos, text=o.text, score=o.score,
                                           lowest_category=o.lowest_category)
                            for opos, o in enumerate(q.options, start=1)]
        questionnaire.questions.append(question)
    db.session.add(questionnaire)
    db.session.flush()
    if activate:
        activate_questionnaire(questionnaire, actor)
    return questionnaire


def activate_questionnaire(questionnaire: Questionnaire, actor: User | None) -> None:
    """Make this version the one new assessments use."""
    db.session.execute(sa.update(Questionnaire).where(Questionnaire.id != questionnaire.id)
                       .values(active=False))
    questionnaire.active = True
    audit.record(actor, "questionnaire.activate", "questionnaire", questionnaire.id,
                 params={"version": questionnaire.version, "title": questionnaire.title})
    db.session.flush()


def to_parsed(questionnaire: Questionnaire) -> ParsedQuestionnaire:
    """A stored version in the text format's structure (to start the next version from it)."""
    from crm.domain.questionnaire_text import ParsedOption, ParsedQuestion

    return ParsedQuestionnaire(
        title=questionnaire.title, bands=questionnaire.bands,
        questions=[ParsedQuestion(q.text, [ParsedOption(o.text, o.score, o.lowest_category) for o in q.options])
                   for q in questionnaire.questions])


# ---------------------------------------------------------------- assessments

def parse_answers(questionnaire: Questionnaire, raw: dict[str, str]) -> dict[int, int]:
    """Keep only answers that name a real option of the right question: {question id: option id}."""
    valid = {q.id: {o.id for o in q.options} for q in questionnaire.questions}
    answers = {}
    for key, value in raw.items():
        # parse_id, not str.isdigit(): "q²" or "²" pass isdigit() and then fail int() (a 500).
        qid, oid = (parse_id(key[1:]), parse_id(value)) if key.startswith("q") else (None, None)
        if qid is not None and oid in valid.get(qid, ()):
            answers[qid] = oid
    return answers


def _draft(client: Client, questionnaire: Questionnaire) -> AssessmentDraft | None:
    return db.session.execute(sa.select(AssessmentDraft).where(
        AssessmentDraft.client_id == client.id, AssessmentDraft.questionnaire_id == questionnaire.id)
    ).scalar_one_or_none()


def load_draft(client: Client, questionnaire: Questionnaire) -> dict[int, int]:
    """Answers saved so far for this client and questionnaire version."""
    draft = _draft(client, questionnaire)
    return {int(k): int(v) for k, v in (draft.answers if draft else {}).items()}


def save_draft(client: Client, questionnaire: Questionnaire, actor: User, answers: dict[int, int]) -> None:
    """Keep the answers given so far (one draft per client and version)."""
    draft = _draft(client, questionnaire)
    if draft is None:
        draft = AssessmentDraft(client_id=client.id, questionnaire_id=questionnaire.id, answers={},
                                updated_by_id=actor.id)
        db.session.add(draft)
    draft.answers = {str(k): v for k, v in answers.items()}
    draft.updated_by_id, draft.updated_at = actor.id, utcnow()
    db.session.flush()


class IncompleteAnswers(RuleError):
    """Some questions have no answer; `missing` holds their ids."""

    def __init__(self, missing: list[int]):
        super().__init__("suitability.answers_missing", None, count=len(missing))
        self.missing = missing


def submit_assessment(client: Client, questionnaire: Questionnaire, actor: User,
                      answers: dict[int, int], now: datetime | None = None) -> SuitabilityAssessment:
    """Score a complete questionnaire, record the assessment and copy its level onto the client."""
    missing = [q.id for q in questionnaire.questions if q.id not in answers]
    if missing:
        raise IncompleteAnswers(missing)
    options = {o.id: o for q in questionnaire.questions for o in q.options}
    scored = rules.score_answers([(options[oid].score, options[oid].lowest_category)
                                  for oid in answers.values()], questionnaire.bands)
    now = now or utcnow()
    assessment = SuitabilityAssessment(
        client_id=client.id, questionnaire_id=questionnaire.id,
        answers={str(k): v for k, v in answers.items()}, score=scored.score, level=scored.level,
        lowest_category=scored.lowest_category, assessor_id=actor.id, assessed_at=now,
        # Months are counted on the Shanghai calendar: 07:00 on 1 June there is still 31 May in UTC.
        expires_at=rules.expiry(now.astimezone(SHANGHAI), settings.get_int("assessment_expiry_months")))
    db.session.add(assessment)
    db.session.execute(sa.delete(AssessmentDraft).where(AssessmentDraft.client_id == client.id))
    client.risk_level, client.risk_lowest, client.risk_expires_at = (
        scored.level, scored.lowest_category, assessment.expires_at)
    client.last_activity_at = max(client.last_activity_at, now)
    db.session.flush()
    return assessment


def assessments(client: Client) -> list[SuitabilityAssessment]:
    """The client's assessments, newest first."""
    return list(db.session.execute(
        sa.select(SuitabilityAssessment).options(so.joinedload(SuitabilityAssessment.assessor),
                                                 so.joinedload(SuitabilityAssessment.questionnaire))
        .where(SuitabilityAssessment.client_id == client.id)
        .order_by(SuitabilityAssessment.assessed_at.desc(), SuitabilityAssessment.id.desc())
    ).scalars())


def expiring_clients(user: User, now: datetime | None = None, limit: int = 200) -> list[Client]:
    """Visible clients whose assessment expires within the warning window (or has just expired)."""
    now = now or utcnow()
    days = settings.get_int("assessment_warning_days")
    return list(db.session.execute(
        sa.select(Client).options(so.joinedload(Client.owner)).where(client_book(user), Client.risk_expires_at.is_not(None),
                                Client.risk_expires_at <= now + timedelta(days=days),
                                Client.risk_expires_at > now - timedelta(days=days))
        .order_by(Client.risk_expires_at).limit(limit)
    ).scalars())


# ---------------------------------------------------------------- products and recommendations

def products(active_only: bool = False) -> list[Product]:
    """Products by risk then name."""
    query = sa.select(Product).order_by(Product.risk, Product.name)
    if active_only:
        query = query.where(Product.active.is_(True))
    return list(db.session.execute(query).scalars())


def save_product(product: Product | None, actor: User, **fields) -> Product:
    """Create or change a product; a change of risk rating is audited; a code another product has is refused."""
    if "code" in fields and db.session.execute(sa.select(Product.id).where(
            Product.code == fields["code"], Product.id != (product.id if product else -1))).first():
        raise RuleError("suitability.product_code_taken", "code")
    if product is None:
        product = Product(**fields)
        db.session.add(product)
        db.session.flush()
        audit.record(actor, "product.create", "product", product.id,
                     params={"code": product.code, "risk": product.risk})
        return product
    if fields.get("risk") is not None and fields["risk"] != product.risk:
        audit.record(actor, "product.risk", "product", product.id,
                     params={"code": product.code, "from": product.risk, "to": fields["risk"]})
    for key, value in fields.items():
        setattr(product, key, value)
    product.updated_at = utcnow()
    db.session.flush()
    return product


def facts_for(client: Client) -> rules.AssessmentFacts | None:
    """The client's latest assessment as the suitability rule needs it."""
    if client.risk_level is None or client.risk_expires_at is None:
        return None
    return rules.AssessmentFacts(level=client.risk_level, lowest_category=client.risk_lowest,
                                 expires_at=client.risk_expires_at.astimezone(SHANGHAI))


def check(client: Client, product: Product, now: datetime | None = None) -> rules.Decision:
    """The suitability decision for this client and product, now."""
    return rules.decide(client.investor_type, facts_for(client), product.risk, product.active,
                        (now or utcnow()).astimezone(SHANGHAI))


class RecommendationRefused(RuleError):
    """The product may not be recommended to this client (forbidden), with the decision."""

    def __init__(self, decision: rules.Decision):
        super().__init__("suitability.product_forbidden", "product_id", outcome=decision.outcome)
        self.decision = decision


class ConfirmationMissing(RuleError):
    """A mismatch needs the special warning and the client's recorded confirmation: one refusal per part
    missing, on the recommendation form's field for it."""

    @classmethod
    def of(cls, confirmation: Confirmation | None) -> ConfirmationMissing | None:
        """What `confirmation` still lacks, or None when it is complete."""
        given = confirmation or Confirmation(False, None, "", None)
        missing = []
        if not given.warning_given:
            missing.append(RuleError("suitability.warning_not_given", "warning_given"))
        for field, value in (("confirmation_method", given.method), ("confirmation_ref", given.reference),
                             ("confirmed_at", given.confirmed_at)):
            if not value:
                missing.append(RuleError("suitability.confirmation_needed", field))
        return cls.several(missing) if missing else None


@dataclass
class Confirmation:
    """How the client confirmed a mismatched recommendation after the special warning."""

    warning_given: bool
    method: str | None
    reference: str
    confirmed_at: datetime | None


def recommend(client: Client, product: Product, actor: User, confirmation: Confirmation | None = None,
              recording_ref: str = "", note: str = "", visit_id: int | None = None,
              now: datetime | None = None) -> Recommendation:
    """Record a recommendation the suitability rule allows; refuse forbidden ones and unconfirmed mismatches."""
    decision = check(client, product, now)
    if decision.outcome == "forbidden":
        raise RecommendationRefused(decision)
    if decision.outcome == "mismatch":
        missing = ConfirmationMissing.of(confirmation)
        if missing is not None:
            raise missing
    latest = db.session.execute(
        sa.select(SuitabilityAssessment.id).where(SuitabilityAssessment.client_id == client.id)
        .order_by(SuitabilityAssessment.assessed_at.desc()).limit(1)).scalar()
    rec = Recommendation(
        client_id=client.id, product_id=product.id, manager_id=actor.id, visit_id=visit_id,
        assessment_id=latest, outcome=decision.outcome,
        reasons=";".join(r.code for r in decision.reasons), investor_type=client.investor_type,
        client_level=client.risk_level, product_risk=product.risk, recording_ref=recording_ref, note=note,
        created_at=now or utcnow())
    if decision.outcome == "mismatch":
        rec.warning_given = True
        rec.confirmation_method = confirmation.method
        rec.confirmation_ref = confirmation.reference
        rec.confirmed_at = confirmation.confirmed_at
    db.session.add(rec)
    db.session.flush()
    return rec


def client_recommendations(client: Client) -> list[Recommendation]:
    """Recommendations made to the client, newest first."""
    return list(db.session.execute(
        sa.select(Recommendation).options(so.joinedload(Recommendation.product),
                                          so.joinedload(Recommendation.manager))
        .where(Recommendation.client_id == client.id).order_by(Recommendation.created_at.desc())
    ).scalars())


def recommendation_query(user: User, outcome: str | None = None, product_id: int | None = None, since: datetime | None = None,
                         until: datetime | None = None) -> sa.Select:
    """Recommendations visible to the user, filtered, newest first (the route paginates or exports)."""
    query = (sa.select(Recommendation, Client)
             .join(Client, Client.id == Recommendation.client_id)
             .options(so.joinedload(Recommendation.product), so.joinedload(Recommendation.manager))
             .where(client_visibility(user)))
    if outcome:
        query = query.where(Recommendation.outcome == outcome)
    if product_id:
        query = query.where(Recommendation.product_id == product_id)
    if since:
        query = query.where(Recommendation.created_at >= since)
    if until:
        query = query.where(Recommendation.created_at < until)
    return query.order_by(Recommendation.created_at.desc(), Recommendation.id.desc())


# ---------------------------------------------------------------- overview for leads and admins

@dataclass
class Overview:
    """Distribution of visible clients by risk level and tier, and how many lack a valid assessment."""

    by_level: list[tuple[str, int]]
    by_tier: list[tuple[str, int]]
    missing: int
    expired: int


def overview(user: User, now: datetime | None = None) -> Overview:
    """Counts computed with two grouped queries over the visible clients."""
    from crm.models import Tier

    now = now or utcnow()
    state = sa.case(
        (Client.risk_level.is_(None), "missing"),
        (Client.risk_expires_at <= now, "expired"),
        (Client.risk_lowest.is_(True), "lowest"),
        else_=sa.cast(Client.risk_level, sa.String),
    )
    counts = dict(db.session.execute(
        sa.select(state, sa.func.count()).where(client_book(user)).group_by(state)).all())
    by_level = [("lowest", counts.get("lowest", 0))] + [
        (rules.level_label(n), counts.get(str(n), 0)) for n in range(1, 6)]
    tiers = db.session.execute(
        sa.select(sa.func.coalesce(Tier.name, ""), sa.func.count(Client.id))
        .select_from(Client).outerjoin(Tier, Tier.id == Client.tier_id)
        .where(client_book(user)).group_by(Tier.name, Tier.min_assets_fen)
        .order_by(sa.func.coalesce(Tier.min_assets_fen, -1))).all()
    return Overview(by_level=by_level, by_tier=[(name, n) for name, n in tiers],
                    missing=counts.get("missing", 0), expired=counts.get("expired", 0))


def unassessed_clients(user: User, now: datetime | None = None, limit: int = 100,
                       after_id: int | None = None) -> list[Client]:
    """Visible clients with no assessment or an expired one (ordinary investors only)."""
    now = now or utcnow()
    query = (sa.select(Client).options(so.joinedload(Client.owner))
             .where(client_book(user), Client.investor_type == "ordinary",
                    sa.or_(Client.risk_level.is_(None), Client.risk_expires_at <= now))
             .order_by(Client.id).limit(limit))
    if after_id:
        query = query.where(Client.id > after_id)
    return list(db.session.execute(query).scalars())
