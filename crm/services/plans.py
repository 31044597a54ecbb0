"""Personalized-service plans (DOMAIN.md §6): start from a tier's template, keep items, turn them into work.

Each occurrence of an item becomes exactly one follow-up carrying its item, plan and day
(`followup_sources.plan_item`): the unique (source, source_key) constraint on follow-ups makes
generation idempotent, whether it runs
again, overlaps with itself, or runs in two processes at once. Generation looks `plan_lead_days`
ahead and `plan_grace_days` back (a scheduler that was down catches up, but not with years of
stale work). Progress is read from those follow-ups: done, due, missed.
Services flush; the route or job commits.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import force_locale, gettext
from sqlalchemy import orm as so
from sqlalchemy.exc import IntegrityError

from crm.domain import cadence
from crm.domain.clock import SHANGHAI
from crm.domain.formats import InvalidFormat, id_birth_date
from crm.domain.refusals import Conflict, RuleError
from crm.extensions import db
from crm.models import (
    Client,
    FollowUp,
    FollowUpKind,
    FollowUpSource,
    FollowUpStatus,
    NeedsProfile,
    PlanItem,
    PlanItemKind,
    PlanStatus,
    PlanTemplate,
    PlanTemplateItem,
    Product,
    ServicePlan,
    User,
    utcnow,
)
from crm.models.followup import OPEN_FOLLOWUP_STATES
from crm.services import audit, followup_sources, followups, settings, suitability
from crm.services.access import plan_visibility


class ProductNotSuitable(RuleError):
    """The suitability check does not allow recommending the product to this client (its decision says why)."""

    def __init__(self, product: Product, decision):
        super().__init__("plan.product_not_suitable", "product_id", product=product.name)
        self.product = product
        self.decision = decision


def local_today(now: datetime | None = None) -> date:
    """Today on the Asia/Shanghai calendar."""
    return (now or utcnow()).astimezone(SHANGHAI).date()


# ---------------------------------------------------------------- templates

def templates(active_only: bool = False) -> list[PlanTemplate]:
    """Templates by tier, then name."""
    query = sa.select(PlanTemplate).options(so.joinedload(PlanTemplate.tier), so.selectinload(PlanTemplate.items))
    if active_only:
        query = query.where(PlanTemplate.active.is_(True))
    return list(db.session.execute(query.order_by(PlanTemplate.tier_id, PlanTemplate.name)).scalars())


def template_for(client: Client) -> PlanTemplate | None:
    """The template a plan for this client starts from: its tier's, else one for any tier."""
    in_use = templates(active_only=True)
    found = [t for t in in_use if t.tier_id == client.tier_id] or [t for t in in_use if t.tier_id is None]
    return found[0] if found else None


def save_template(template: PlanTemplate | None, actor: User, **fields) -> PlanTemplate:
    """Create or change a template (name, tier, goals, review months, active); audited. Names are unique."""
    clash = db.session.execute(sa.select(PlanTemplate.id).where(
        PlanTemplate.name == fields["name"], PlanTemplate.id != (template.id if template else -1))).first()
    if clash:
        raise RuleError("plan.name_taken", "name")
    if template is None:
        template = PlanTemplate(created_at=utcnow())
        db.session.add(template)
    for name, value in fields.items():
        setattr(template, name, value)
    db.session.flush()
    audit.record(actor, "plan_template.save", "plan_template", template.id, params={"name": template.name})
    return template


def add_template_item(template: PlanTemplate, actor: User, item: Mapping) -> PlanTemplateItem:
    """Add a service to a template (checked like a plan item, without a client)."""
    _check_item(item)
    row = PlanTemplateItem(template_id=template.id, offset_days=item.get("offset_days") or 0, **_item_columns(item))
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "plan_template.add_item", "plan_template", template.id, params={"item_kind": row.kind})
    return row


def remove_template_item(item: PlanTemplateItem, actor: User) -> None:
    """Drop a service from a template; plans already started keep their copy."""
    audit.record(actor, "plan_template.remove_item", "plan_template", item.template_id,
                 params={"item_kind": item.kind})
    db.session.delete(item)
    db.session.flush()


# ---------------------------------------------------------------- items and their schedules

def _item_columns(item: Mapping) -> dict:
    repeating = item["cadence"] in cadence.REPEATING
    return {"kind": item["kind"], "cadence": item["cadence"], "every": (item.get("every") or 1) if repeating else 1,
            "holidays": ",".join(item.get("holidays") or ()) if item["cadence"] == cadence.Cadence.HOLIDAYS else "",
            "title": (item.get("title") or "")[:120],
            "product_id": item.get("product_id") if item["kind"] == PlanItemKind.PRODUCT else None}


def _check_item(item: Mapping) -> None:
    """The rules every item follows, whatever the form (a refusal names the field at fault)."""
    kind, how = item["kind"], item["cadence"]
    if how in cadence.REPEATING and not (item.get("every") or 0) >= 1:
        raise RuleError("plan.every", "every")
    if how == cadence.Cadence.HOLIDAYS and not item.get("holidays"):
        raise RuleError("plan.holidays", "holidays")
    if how in (cadence.Cadence.BIRTHDAY, cadence.Cadence.HOLIDAYS) and kind != PlanItemKind.CARE:
        raise RuleError("plan.birthday_kind", "cadence")
    if kind == PlanItemKind.PRODUCT and not item.get("product_id"):
        raise RuleError("plan.product", "product_id")


def birthday_of(client: Client) -> date | None:
    """The birthday from the latest needs profile, else from the ID number, else unknown."""
    return _birthday(client, _latest_birthdays([client.id]))


def schedule_of(item: PlanItem, birthday: date | None) -> cadence.Schedule:
    """The item's timing as the cadence rules read it."""
    return cadence.Schedule(cadence.Cadence(item.cadence), item.starts_on, every=item.every,
                            holidays=tuple(h for h in item.holidays.split(",") if h), birthday=birthday)


# ---------------------------------------------------------------- plans

def active_plan(client: Client) -> ServicePlan | None:
    """The client's active plan with its items, if any."""
    return db.session.execute(
        sa.select(ServicePlan).options(so.selectinload(ServicePlan.items).joinedload(PlanItem.product))
        .where(ServicePlan.client_id == client.id, ServicePlan.status == PlanStatus.ACTIVE.value)
    ).scalar_one_or_none()


def past_plans(client: Client) -> list[ServicePlan]:
    """Ended plans, newest first."""
    return list(db.session.execute(
        sa.select(ServicePlan).where(ServicePlan.client_id == client.id, ServicePlan.status == PlanStatus.ENDED.value)
        .order_by(ServicePlan.started_on.desc(), ServicePlan.id.desc())).scalars())


@dataclass
class Started:
    """A new plan, and the template's product items the suitability check left out."""

    plan: ServicePlan
    skipped: list[ProductNotSuitable] = field(default_factory=list)


def start_plan(client: Client, actor: User, template: PlanTemplate | None, goals: str,
               now: datetime | None = None) -> Started:
    """Start the client's plan from a template; its first follow-ups are created at once."""
    now = now or utcnow()
    today = local_today(now)
    months = template.review_months if template else 12
    plan = ServicePlan(client_id=client.id, template_id=template.id if template else None,
                       status=PlanStatus.ACTIVE.value, goals=goals if goals else (template.goals if template else ""),
                       started_on=today, review_on=cadence.add_months(today, months), created_by_id=actor.id,
                       created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(plan)
            db.session.flush()
    except IntegrityError:
        raise RuleError("plan.exists") from None
    started = Started(plan)
    for source in (template.items if template else []):
        values = {"kind": source.kind, "cadence": source.cadence, "every": source.every,
                  "holidays": [h for h in source.holidays.split(",") if h], "title": source.title,
                  "product_id": source.product_id, "starts_on": today + timedelta(days=source.offset_days)}
        try:
            _add_item(plan, values, now)
        except ProductNotSuitable as refused:
            started.skipped.append(refused)
    audit.record(actor, "plan.start", "client", client.id,
                 params={"plan": plan.id, "template": template.name if template else ""})
    client.last_activity_at = max(client.last_activity_at, now)
    generate_for(plan, now)
    return started


def _add_item(plan: ServicePlan, values: Mapping, now: datetime) -> PlanItem:
    _check_item(values)
    if values["kind"] == PlanItemKind.PRODUCT:
        product = db.session.get(Product, values["product_id"])
        if product is None:
            raise RuleError("plan.product", "product_id")
        decision = suitability.check(plan.client, product, now)
        if decision.outcome != "match":
            # Recommending above the client's level is never done actively, so never planned.
            raise ProductNotSuitable(product, decision)
    item = PlanItem(plan_id=plan.id, starts_on=values.get("starts_on") or local_today(now), active=True,
                    **_item_columns(values))
    db.session.add(item)
    db.session.flush()
    return item


def add_item(plan: ServicePlan, actor: User, values: Mapping, now: datetime | None = None) -> PlanItem:
    """Add a service to the plan (a product only when the suitability check says it matches)."""
    now = now or utcnow()
    if values["cadence"] == cadence.Cadence.BIRTHDAY and birthday_of(plan.client) is None:
        raise RuleError("plan.no_birthday", "cadence")
    item = _add_item(plan, values, now)
    audit.record(actor, "plan.add_item", "client", plan.client_id, params={"plan": plan.id, "item_kind": item.kind})
    generate_for(plan, now)
    return item


def remove_item(item: PlanItem, actor: User, now: datetime | None = None) -> int:
    """Stop a service: it stays in the plan's history; its open follow-ups are cancelled."""
    item.active = False
    item.removed_at = now or utcnow()
    cancelled = _cancel_open(item_ids=[item.id])
    audit.record(actor, "plan.remove_item", "client", item.plan.client_id,
                 params={"plan": item.plan_id, "item_kind": item.kind, "cancelled": cancelled})
    db.session.flush()
    return cancelled


def update_plan(plan: ServicePlan, actor: User, goals: str, review_on: date, loaded_version: int) -> None:
    """Revise goals and the review date; a stale form is refused as a conflict instead of overwriting."""
    if plan.version != loaded_version:
        raise Conflict("plan.changed_meanwhile")
    if review_on <= plan.started_on:
        raise RuleError("plan.review_on", "review_on")
    changed = [name for name, value in (("goals", goals), ("review_on", review_on)) if getattr(plan, name) != value]
    plan.goals, plan.review_on = goals, review_on
    if changed:
        audit.record(actor, "plan.update", "client", plan.client_id, params={"plan": plan.id, "changed": changed})
    if "review_on" in changed:
        # Setting the next review date is the review: its open reminder is done.
        db.session.execute(
            sa.update(FollowUp).where(FollowUp.source == FollowUpSource.PLAN.value, FollowUp.status.in_(OPEN_FOLLOWUP_STATES),
                                      FollowUp.plan_id == plan.id, FollowUp.plan_item_id.is_(None))
            .values(status=FollowUpStatus.DONE.value, completed_at=utcnow(), version=FollowUp.version + 1)
            .execution_options(synchronize_session="fetch"))
    db.session.flush()


def end_plan(plan: ServicePlan, actor: User, reason: str, now: datetime | None = None) -> int:
    """End the plan (to start another or because the service stops); open follow-ups are cancelled."""
    now = now or utcnow()
    plan.status = PlanStatus.ENDED.value
    plan.ended_at, plan.ended_by_id, plan.end_reason = now, actor.id, reason[:200]
    cancelled = _cancel_open(item_ids=[i.id for i in plan.items], plan=plan)
    audit.record(actor, "plan.end", "client", plan.client_id, params={"plan": plan.id, "reason": reason[:150]})
    db.session.flush()
    return cancelled


def _cancel_open(item_ids: Iterable[int], plan: ServicePlan | None = None) -> int:
    conditions = [FollowUp.plan_item_id.in_(item_ids)] if (item_ids := list(item_ids)) else []
    if plan is not None:  # its review reminders, whatever their date
        conditions.append(sa.and_(FollowUp.plan_id == plan.id, FollowUp.plan_item_id.is_(None)))
    if not conditions:
        return 0
    result = db.session.execute(
        sa.update(FollowUp).where(FollowUp.source == FollowUpSource.PLAN.value, FollowUp.status.in_(OPEN_FOLLOWUP_STATES),
                                  sa.or_(*conditions))
        .values(status=FollowUpStatus.CANCELLED.value, version=FollowUp.version + 1)
        .execution_options(synchronize_session="fetch"))
    return result.rowcount


# ---------------------------------------------------------------- generation

@dataclass
class Generated:
    """What one generation run did."""

    plans: int = 0
    created: int = 0
    reviews: int = 0

    def __str__(self) -> str:
        return f"plans {self.plans}: follow-ups created {self.created}, review reminders {self.reviews}"

    def add(self, other: Generated) -> None:
        """Add another batch's counts to these."""
        self.plans += other.plans
        self.created += other.created
        self.reviews += other.reviews


def generate(now: datetime | None = None, batch: int = 500) -> Generated:
    """Create the follow-ups of every active plan's occurrences in the window; commit per batch."""
    now = now or utcnow()
    window = Window.read(now)
    report = Generated()
    last_id = 0
    while True:
        plans = list(db.session.execute(
            sa.select(ServicePlan)
            .options(so.selectinload(ServicePlan.items).joinedload(PlanItem.product),
                     so.joinedload(ServicePlan.client).joinedload(Client.owner))
            .where(ServicePlan.status == PlanStatus.ACTIVE.value, ServicePlan.id > last_id)
            .order_by(ServicePlan.id).limit(batch)).scalars())
        if not plans:
            return report
        last_id = plans[-1].id
        report.add(_generate(plans, now, window))
        db.session.commit()


def generate_for(plan: ServicePlan, now: datetime) -> Generated:
    """Create the missing follow-ups of one plan (when it starts or gains an item)."""
    return _generate([plan], now, Window.read(now))


@dataclass(frozen=True)
class Window:
    """Occurrences from `grace` days ago to `lead` days ahead get their follow-up."""

    today: date
    lead: int
    grace: int

    @classmethod
    def read(cls, now: datetime) -> Window:
        return cls(local_today(now), settings.get_int("plan_lead_days"), settings.get_int("plan_grace_days"))

    def span(self, plan: ServicePlan) -> tuple[date, date]:
        return max(plan.started_on, self.today - timedelta(days=self.grace)), self.today + timedelta(days=self.lead)


def _latest_birthdays(client_ids: list[int]) -> dict[int, date]:
    """The birthday entered in each client's latest needs profile, for those that have one."""
    latest = (sa.select(NeedsProfile.client_id, sa.func.max(NeedsProfile.version).label("version"))
              .where(NeedsProfile.client_id.in_(client_ids)).group_by(NeedsProfile.client_id).subquery())
    return dict(db.session.execute(
        sa.select(NeedsProfile.client_id, NeedsProfile.birthday)
        .join(latest, sa.and_(latest.c.client_id == NeedsProfile.client_id, latest.c.version == NeedsProfile.version))
        .where(NeedsProfile.birthday.is_not(None))).all())


def _birthday(client: Client, entered: dict[int, date]) -> date | None:
    if client.id in entered:
        return entered[client.id]
    if client.id_number:
        try:
            return id_birth_date(client.id_number)
        except InvalidFormat:
            return None
    return None


def _generate(plans: list[ServicePlan], now: datetime, window: Window) -> Generated:
    """One batch: work out every occurrence, skip the keys that exist, insert the rest ignoring twins.

    The insert says ON CONFLICT DO NOTHING on (source, source_key): a concurrent run that inserted
    the same occurrence first simply wins, and only the rows this run inserted are counted.
    """
    report = Generated(plans=len(plans))
    with_birthday = [p.client_id for p in plans if any(i.active and i.cadence == cadence.Cadence.BIRTHDAY
                                                       for i in p.items)]
    entered = _latest_birthdays(with_birthday) if with_birthday else {}
    wanted: list[tuple[ServicePlan, PlanItem | None, date, dict]] = []
    for plan in plans:
        start, end = window.span(plan)
        birthday = _birthday(plan.client, entered) if plan.client_id in with_birthday else None
        for item in sorted(plan.items, key=lambda i: i.id):
            if item.active:
                wanted.extend((plan, item, day, followup_sources.plan_item(item.id, plan.id, day))
                              for day in cadence.occurrences(schedule_of(item, birthday), start, end))
        if plan.review_on - timedelta(days=window.lead) <= window.today:
            wanted.append((plan, None, max(plan.review_on, window.today),
                           followup_sources.plan_review(plan.id, plan.review_on)))
    existing: set[str] = set()
    keys = [origin["source_key"] for *_, origin in wanted]
    for chunk in range(0, len(keys), 1000):
        existing.update(db.session.execute(sa.select(FollowUp.source_key).where(
            FollowUp.source == FollowUpSource.PLAN.value, FollowUp.source_key.in_(keys[chunk:chunk + 1000]))
        ).scalars())
    missing = [w for w in wanted if w[3]["source_key"] not in existing]
    if not missing:
        return report
    rows = []
    by_locale: dict[str, list] = {}
    for entry in missing:
        by_locale.setdefault(entry[0].client.owner.locale or "zh_CN", []).append(entry)
    for locale, entries in by_locale.items():
        with force_locale(locale):
            for plan, item, day, origin in entries:
                title, note = (_occurrence_text(item, day, plan.client, now) if item is not None
                               else (gettext("Review the service plan"), ""))
                due = followups.local_morning(day)
                rows.append({"client_id": plan.client_id, "assignee_id": plan.client.owner_id, "due_at": due,
                             "kind": (FollowUpKind.PLAN_ITEM if item is not None else FollowUpKind.REVIEW).value,
                             **_same_columns(origin), "title": title[:200],
                             "note": note, "priority": 2, "status": FollowUpStatus.OPEN.value,
                             # Routine work: the morning digest lists it, no email of its own each time.
                             "reminder_at": None, "created_at": now, "version": 1})
    db.session.flush()
    inserted = db.session.execute(followups.insert_ignoring_twins().returning(FollowUp.plan_item_id),
                                  rows).scalars().all()
    report.reviews = sum(1 for item_id in inserted if item_id is None)
    report.created = len(inserted) - report.reviews
    return report


def _same_columns(origin: dict) -> dict:
    """An occurrence's or a review's source columns, with the same keys for both (one multi-row INSERT)."""
    return {"plan_item_id": None} | origin


def item_name(item: PlanItem | PlanTemplateItem) -> str:
    """The item's own title, or its kind in words (in the current locale)."""
    from crm.labels import PLAN_ITEM_KINDS

    if item.title:
        return item.title
    if item.kind == PlanItemKind.PRODUCT and item.product is not None:
        return gettext("Recommend %(product)s", product=item.product.name)
    return str(PLAN_ITEM_KINDS.get(item.kind, item.kind))


def _occurrence_text(item: PlanItem, day: date, client: Client, now: datetime) -> tuple[str, str]:
    """A follow-up's title and note, in the owner's language (the caller sets the locale)."""
    from crm.labels import HOLIDAYS

    title = item_name(item)
    note = ""
    if item.cadence == cadence.Cadence.BIRTHDAY and not item.title:
        title = gettext("Birthday care")
    elif item.cadence == cadence.Cadence.HOLIDAYS:
        names = [str(HOLIDAYS[code]) for code in item.holidays.split(",")
                 if code and cadence.holiday_in(day.year, code) == day]
        title = "：".join([item.title or gettext("Holiday care"), "、".join(names)])
    if item.kind == PlanItemKind.PRODUCT and item.product is not None:
        decision = suitability.check(client, item.product, now)
        if decision.outcome != "match":
            note = gettext("The suitability check no longer allows recommending this product: "
                           "renew the risk assessment before you talk about it.")
    return title, note


# ---------------------------------------------------------------- progress

@dataclass
class ItemProgress:
    """One item's occurrences so far and the next one."""

    item: PlanItem
    done: int = 0
    due: int = 0
    missed: int = 0
    next_on: date | None = None


@dataclass
class Progress:
    """The plan's items and totals."""

    items: list[ItemProgress]
    review_due: bool

    @property
    def done(self) -> int:
        return sum(i.done for i in self.items)

    @property
    def due(self) -> int:
        return sum(i.due for i in self.items)

    @property
    def missed(self) -> int:
        return sum(i.missed for i in self.items)


def classify(status: str, due_on: date, today: date, grace_days: int) -> str | None:
    """An occurrence's state: done, due (open, not yet past the grace period), missed; None if cancelled."""
    if status == FollowUpStatus.DONE:
        return "done"
    if status in OPEN_FOLLOWUP_STATES:
        return "missed" if due_on < today - timedelta(days=grace_days) else "due"
    return None


def _occurrence_states(client_ids: list[int], today: date) -> Iterator[tuple[int, str]]:
    """(item id, done/due/missed) of every plan occurrence of these clients, cancelled ones left out."""
    grace = settings.get_int("plan_grace_days")
    found = db.session.execute(sa.select(FollowUp.plan_item_id, FollowUp.status, FollowUp.due_at).where(
        FollowUp.source == FollowUpSource.PLAN.value, FollowUp.client_id.in_(client_ids),
        FollowUp.plan_item_id.is_not(None)))
    for item_id, status, due_at in found:
        state = classify(status, due_at.astimezone(SHANGHAI).date(), today, grace)
        if state is not None:
            yield item_id, state


def progress(plan: ServicePlan, now: datetime | None = None) -> Progress:
    """Done, due and missed occurrences of each item, read from the plan's follow-ups, and what comes next."""
    today = local_today(now)
    rows = {item.id: ItemProgress(item) for item in plan.items}
    for item_id, state in _occurrence_states([plan.client_id], today):
        if item_id in rows:
            setattr(rows[item_id], state, getattr(rows[item_id], state) + 1)
    birthday = birthday_of(plan.client) if any(i.cadence == cadence.Cadence.BIRTHDAY for i in plan.items) else None
    for row in rows.values():
        if row.item.active:
            row.next_on = cadence.next_occurrence(schedule_of(row.item, birthday), today + timedelta(days=1))
    items = sorted(rows.values(), key=lambda r: (not r.item.active, r.item.id))
    return Progress(items=items, review_due=plan.status == PlanStatus.ACTIVE and plan.review_on <= today)


@dataclass
class PlanRow:
    """A plan on the list: its client and totals."""

    plan: ServicePlan
    done: int
    due: int
    missed: int


def visible_plans(user: User, now: datetime | None = None, limit: int = 50, owner_id: int | None = None,
                  after: tuple[date, int] | None = None) -> list[PlanRow]:
    """Active plans of the clients the user may see, review date first, with done/due/missed totals.

    `owner_id` narrows to one manager's clients; `after` (review date, plan id) continues a page.
    """
    today = local_today(now)
    query = (sa.select(ServicePlan).join(Client, Client.id == ServicePlan.client_id)
             .options(so.contains_eager(ServicePlan.client).joinedload(Client.owner))
             .where(ServicePlan.status == PlanStatus.ACTIVE.value, plan_visibility(user)))
    if owner_id is not None:
        query = query.where(Client.owner_id == owner_id)
    if after is not None:
        query = query.where(sa.tuple_(ServicePlan.review_on, ServicePlan.id) > sa.tuple_(*after))
    plans = list(db.session.execute(query.order_by(ServicePlan.review_on, ServicePlan.id).limit(limit)).scalars())
    totals = {plan.id: {"done": 0, "due": 0, "missed": 0} for plan in plans}
    if plans:
        plan_of_item = dict(db.session.execute(
            sa.select(PlanItem.id, PlanItem.plan_id).where(PlanItem.plan_id.in_(list(totals)))).all())
        for item_id, state in _occurrence_states([plan.client_id for plan in plans], today):
            if (plan_id := plan_of_item.get(item_id)) is not None:
                totals[plan_id][state] += 1
    return [PlanRow(plan, **totals[plan.id]) for plan in plans]
