"""Complaint tickets (DOMAIN.md §9): register, move through the lifecycle, hand over, extend, close, escalate.

Every change writes one ComplaintEvent: the history is append-only and nothing here updates or deletes
an event. Deadlines are counted in working days (crm.domain.workdays) with the admin's overrides.
A rule that says no raises a RuleError with a `complaint.<rule>` code (several at once for a form);
someone else's change saved meanwhile is a Conflict. Services flush; the route or job commits.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone

import sqlalchemy as sa
from flask_babel import force_locale, gettext
from sqlalchemy import orm as so
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from crm.domain import workdays
from crm.domain.clock import SHANGHAI
from crm.domain.refusals import Conflict, RuleError
from crm.extensions import db
from crm.models import (
    Client,
    Complaint,
    ComplaintChannel,
    ComplaintEvent,
    ComplaintEventKind,
    ComplaintSeverity,
    ComplaintStatus,
    FollowUp,
    FollowUpKind,
    FollowUpSource,
    Role,
    User,
    WorkdayOverride,
    utcnow,
)
from crm.models.followup import OPEN_FOLLOWUP_STATES
from crm.services import audit, followup_sources, followups, settings
from crm.services.access import answers_for, complaint_visibility
from crm.services.links import path_for

log = logging.getLogger(__name__)
S = ComplaintStatus

# The lifecycle. Closing goes through close() (it needs the resolution and the client's answer),
# reopening through reopen(); transition() does every other step.
ALLOWED: dict[str, frozenset[str]] = {
    S.REGISTERED: frozenset({S.VERIFYING}),
    S.VERIFYING: frozenset({S.RESPONSIBILITY_DECIDED}),
    S.RESPONSIBILITY_DECIDED: frozenset({S.REMEDY_PROPOSED}),
    S.REMEDY_PROPOSED: frozenset({S.CLIENT_ANSWERED}),
    S.CLIENT_ANSWERED: frozenset({S.CLOSED, S.REMEDY_PROPOSED}),  # the client may turn a remedy down
    S.CLOSED: frozenset({S.VERIFYING}),  # reopen
}
OPEN_STATUSES = tuple(s.value for s in S if s != S.CLOSED)


def _refuse(refusals: list[RuleError]) -> None:
    """Raise the refusals found, all at once, so the form shows each on its field."""
    if refusals:
        raise RuleError.several(refusals)


def _conflict_if_changed_meanwhile(workflow):
    """Run a workflow on a loaded complaint and flush it; if someone else saved the complaint since it was
    loaded (optimistic locking on its version), refuse with a Conflict. The caller rolls back."""

    @functools.wraps(workflow)
    def guarded(*args, **kwargs):
        try:
            done = workflow(*args, **kwargs)
            db.session.flush()
        except StaleDataError as stale:
            raise Conflict("complaint.changed_meanwhile") from stale
        return done

    return guarded


def can_transition(from_status: str, to_status: str) -> bool:
    """Whether the lifecycle allows going from one status to another."""
    return to_status in ALLOWED.get(from_status, frozenset())


def next_statuses(complaint: Complaint) -> list[str]:
    """Statuses transition() may move this complaint to (not closing, not reopening), in lifecycle order."""
    if complaint.status == S.CLOSED:
        return []
    return [s.value for s in S if s != S.CLOSED and can_transition(complaint.status, s)]


# ------------------------------------------------------------------ calendar and deadlines

def overrides() -> dict[date, bool]:
    """The admin's working-day overrides (a small table, read whole); logs a year ahead left without its notice."""
    calendar = dict(db.session.execute(sa.select(WorkdayOverride.day, WorkdayOverride.is_working_day)).all())
    _log_missing_notices(utcnow().astimezone(SHANGHAI).date(), calendar)
    return calendar


_notices_logged: set[tuple[date, int]] = set()


def _log_missing_notices(today: date, calendar: Mapping[date, bool]) -> None:
    """Warn (once a day per process) for each year ahead counted on the statutory holidays only."""
    for year in workdays.years_without_notice(today, calendar):
        if (today, year) not in _notices_logged:
            _notices_logged.add((today, year))
            log.warning("holiday calendar: the State Council's holiday notice for %s is not entered "
                        "(Admin → Holiday calendar); working days in %s count the statutory holidays only",
                        year, year)


def years_without_notice(today: date) -> list[int]:
    """The years ahead whose holiday notice (bridging and make-up days) is still to be entered as overrides."""
    calendar = overrides()
    return workdays.years_without_notice(today, calendar)


def ack_days(severity: str) -> int:
    """Working days to acknowledge a complaint of this severity."""
    return settings.get_int(f"complaint_ack_days_{severity}")


def resolve_days(severity: str) -> int:
    """Working days to resolve a complaint of this severity."""
    return settings.get_int(f"complaint_resolve_days_{severity}")


def overdue_condition(now: datetime) -> sa.ColumnElement[bool]:
    """Open, and past the resolve deadline, or past the acknowledgement deadline without acknowledgement."""
    return sa.and_(
        Complaint.status != S.CLOSED.value,
        sa.or_(Complaint.resolve_due_at < now,
               sa.and_(Complaint.acknowledged_at.is_(None), Complaint.ack_due_at < now)))


def is_overdue(complaint: Complaint, now: datetime | None = None) -> bool:
    """The same rule as overdue_condition, on one loaded complaint."""
    now = now or utcnow()
    if not complaint.is_open:
        return False
    return complaint.resolve_due_at < now or (complaint.acknowledged_at is None and complaint.ack_due_at < now)


def current_deadline(complaint: Complaint) -> datetime:
    """The deadline that counts now: acknowledgement until acknowledged, then resolution."""
    if complaint.acknowledged_at is None:
        return min(complaint.ack_due_at, complaint.resolve_due_at)
    return complaint.resolve_due_at


@dataclass(frozen=True)
class Countdown:
    """Where a complaint stands against its deadline, in working days on the Shanghai calendar."""

    deadline: datetime
    kind: str  # "ack" or "resolve"
    overdue: bool
    working_days: int  # left (if not overdue) or late by (if overdue)


def countdown(complaint: Complaint, now: datetime | None = None,
              calendar: Mapping[date, bool] | None = None) -> Countdown | None:
    """The countdown shown on the complaint page; None once closed."""
    if not complaint.is_open:
        return None
    now = now or utcnow()
    calendar = overrides() if calendar is None else calendar
    deadline = current_deadline(complaint)
    kind = "ack" if complaint.acknowledged_at is None and deadline == complaint.ack_due_at else "resolve"
    if deadline < now:
        return Countdown(deadline, kind, True, workdays.working_days_between(deadline, now, calendar))
    return Countdown(deadline, kind, False, workdays.working_days_between(now, deadline, calendar))


# ------------------------------------------------------------------ lists

TABS = ("mine", "team", "overdue", "regulator")


def list_complaints(user: User, tab: str = "mine", now: datetime | None = None, limit: int = 500) -> list[Complaint]:
    """One tab of the complaint list: open ones first, soonest deadline first."""
    now = now or utcnow()
    query = (sa.select(Complaint).options(so.joinedload(Complaint.owner), so.joinedload(Complaint.first_handler))
             .where(complaint_visibility(user)))
    if tab == "mine":
        query = query.where(sa.or_(Complaint.owner_id == user.id, Complaint.first_handler_id == user.id,
                                   Complaint.created_by_id == user.id))
    elif tab == "overdue":
        query = query.where(overdue_condition(now))
    elif tab == "regulator":
        query = query.where(Complaint.channel == ComplaintChannel.REGULATOR.value)
    closed_last = sa.case((Complaint.status == S.CLOSED.value, 1), else_=0)
    return list(db.session.execute(
        query.order_by(closed_last, Complaint.resolve_due_at, Complaint.id).limit(limit)).scalars())


def events(complaint: Complaint) -> list[ComplaintEvent]:
    """The complaint's history, newest first."""
    return list(db.session.execute(
        sa.select(ComplaintEvent).options(so.joinedload(ComplaintEvent.actor))
        .where(ComplaintEvent.complaint_id == complaint.id)
        .order_by(ComplaintEvent.at.desc(), ComplaintEvent.id.desc())).scalars())


# ------------------------------------------------------------------ workflows

def _event(complaint: Complaint, actor: User | None, kind: ComplaintEventKind, now: datetime, text: str = "",
           from_status: str | None = None, to_status: str | None = None,
           old_due: datetime | None = None, new_due: datetime | None = None) -> ComplaintEvent:
    event = ComplaintEvent(complaint_id=complaint.id, at=now, actor_id=actor.id if actor else None,
                           kind=kind.value, text=text, from_status=from_status, to_status=to_status,
                           old_due=old_due, new_due=new_due)
    db.session.add(event)
    return event


def _next_number(now: datetime) -> str:
    prefix = f"TS{now.astimezone(SHANGHAI):%Y%m%d}-"
    last = db.session.execute(sa.select(sa.func.max(Complaint.number))
                              .where(Complaint.number.like(prefix + "%"))).scalar_one()
    return f"{prefix}{(int(last.rpartition('-')[2]) + 1) if last else 1:04d}"


FIELDS = ("complainant_name", "complainant_contact", "account_ref", "channel", "category", "severity", "facts",
          "evidence", "staff_involved", "client_request")


def register(actor: User, data: Mapping[str, object], client: Client | None = None,
             now: datetime | None = None) -> Complaint:
    """Register a complaint: the actor is its first and current handler (owner_id); deadlines in working days.

    Writes the 'created' event and, for a client on file, a follow-up for the actor — the person
    registering, who is the first handler (首办负责制), not the client's owner — due at the
    acknowledgement deadline (followup_sources.complaint_ack). That follow-up, and after the
    acknowledgement a "Resolve complaint" one (_keep_handler_on_client), keep the handler's access to
    the client until the complaint closes (docs/access.md).
    """
    now = now or utcnow()
    values = {key: data[key] for key in FIELDS if data.get(key) is not None}
    _refuse([RuleError("complaint.required", key) for key in ("complainant_name", "channel", "category", "facts")
             if not values.get(key)])
    severity = str(values.setdefault("severity", ComplaintSeverity.NORMAL.value))
    calendar = overrides()
    for attempt in range(5):
        complaint = Complaint(
            **values, number=_next_number(now), client_id=client.id if client else None,
            first_handler_id=actor.id, owner_id=actor.id, created_by_id=actor.id,
            status=S.REGISTERED.value, created_at=now, escalation_level=0,
            ack_due_at=workdays.add_working_days(now, ack_days(severity), calendar),
            resolve_due_at=workdays.add_working_days(now, resolve_days(severity), calendar))
        try:
            with db.session.begin_nested():
                db.session.add(complaint)
                db.session.flush()
            break
        except IntegrityError:
            # Two registrations took the same number: take the next one.
            if attempt == 4:
                raise
    _event(complaint, actor, ComplaintEventKind.CREATED, now, to_status=S.REGISTERED.value,
           text=str(values.get("facts", ""))[:2000], new_due=complaint.resolve_due_at)
    if client is not None:
        followups.create(client, actor, complaint.ack_due_at, FollowUpKind.COMPLAINT,
                         creator=actor, priority=1, origin=followup_sources.complaint_ack(complaint.id),
                         title=_ack_title(actor, complaint.number))
    audit.record(actor, "complaint.register", "complaint", complaint.id, params={"number": complaint.number})
    db.session.flush()
    return complaint


def _ack_title(user: User, number: str) -> str:
    with force_locale(user.locale or "zh_CN"):
        return gettext("Acknowledge complaint %(number)s", number=number)


def _handover_text(user: User, number: str) -> str:
    with force_locale(user.locale or "zh_CN"):
        return gettext("Complaint %(number)s handed to you", number=number)


def _escalation_text(user: User, number: str) -> str:
    with force_locale(user.locale or "zh_CN"):
        return gettext("Overdue complaint %(number)s escalated to you", number=number)


def _open_followups(complaint: Complaint) -> list[FollowUp]:
    return list(db.session.execute(sa.select(FollowUp).where(
        FollowUp.source == FollowUpSource.COMPLAINT.value,
        FollowUp.complaint_id == complaint.id,
        FollowUp.status.in_(OPEN_FOLLOWUP_STATES))).scalars())


def _resolve_title(user: User, number: str) -> str:
    with force_locale(user.locale or "zh_CN"):
        return gettext("Resolve complaint %(number)s", number=number)


def _keep_handler_on_client(complaint: Complaint, event: ComplaintEvent) -> None:
    """A handler outside the client's book sees the client through an open follow-up (docs/access.md):
    give them one until the complaint closes, which completes it, if they hold none on the complaint."""
    if complaint.client is None or complaint.status == S.CLOSED:
        return
    handler = complaint.owner or db.session.get(User, complaint.owner_id)
    if answers_for(handler, complaint.client):
        return
    if any(f.assignee_id == handler.id for f in _open_followups(complaint)):
        return
    db.session.flush()
    followups.create(complaint.client, handler, complaint.resolve_due_at, FollowUpKind.COMPLAINT,
                     creator=None, priority=1, origin=followup_sources.complaint_resolve(complaint.id, event.id),
                     title=_resolve_title(handler, complaint.number))


def _finish_ack_followup(complaint: Complaint, now: datetime) -> None:
    # register() creates the acknowledgement follow-up only; later ones are not finished by this step.
    for followup in _open_followups(complaint):
        if followup.complaint_event_id is None:  # the acknowledgement's, not a later handler's
            followups.complete(followup, None, at=now)


@_conflict_if_changed_meanwhile
def transition(complaint: Complaint, actor: User, to_status: str, note: str = "",
               now: datetime | None = None) -> ComplaintEvent:
    """Move the complaint one step along the lifecycle; the first step acknowledges it."""
    now = now or utcnow()
    to_status = str(to_status)
    if to_status == S.CLOSED or complaint.status == S.CLOSED or not can_transition(complaint.status, to_status):
        raise RuleError("complaint.step_not_allowed", "to_status", from_status=complaint.status,
                        to_status=to_status)
    before = complaint.status
    complaint.status = to_status
    if complaint.acknowledged_at is None:
        complaint.acknowledged_at = now
        _finish_ack_followup(complaint, now)
    event = _event(complaint, actor, ComplaintEventKind.STATUS, now, text=note, from_status=before,
                   to_status=to_status)
    db.session.flush()
    _keep_handler_on_client(complaint, event)
    return event


@_conflict_if_changed_meanwhile
def close(complaint: Complaint, actor: User, resolution: str, accepted: bool | None, satisfaction: int | None,
          note: str = "", now: datetime | None = None) -> ComplaintEvent:
    """Close and archive: needs the resolution, whether the client accepted it and their satisfaction (1–5).

    The satisfaction goes onto the client's file, where the at-risk scan reads it.
    """
    now = now or utcnow()
    if not can_transition(complaint.status, S.CLOSED):
        raise RuleError("complaint.step_not_allowed", "to_status", from_status=complaint.status,
                        to_status=S.CLOSED.value)
    missing = []
    if not (resolution or "").strip():
        missing.append(RuleError("complaint.required", "resolution"))
    if accepted is None:
        missing.append(RuleError("complaint.required", "accepted"))
    if satisfaction is None or not 1 <= int(satisfaction) <= 5:
        missing.append(RuleError("complaint.required", "satisfaction"))
    _refuse(missing)
    before = complaint.status
    complaint.status = S.CLOSED.value
    complaint.resolution = resolution.strip()
    complaint.accepted = bool(accepted)
    complaint.satisfaction = int(satisfaction)
    complaint.closed_at = now
    if complaint.client is not None:
        complaint.client.last_satisfaction = int(satisfaction)
    for followup in _open_followups(complaint):
        followups.complete(followup, None, at=now)
    event = _event(complaint, actor, ComplaintEventKind.CLOSED, now, from_status=before, to_status=S.CLOSED.value,
                   text="\n".join(part for part in (complaint.resolution, note) if part))
    audit.record(actor, "complaint.close", "complaint", complaint.id, params={"number": complaint.number})
    db.session.flush()
    return event


@_conflict_if_changed_meanwhile
def reopen(complaint: Complaint, actor: User, reason: str, now: datetime | None = None) -> ComplaintEvent:
    """Reopen a closed complaint for verification, with a reason and a fresh resolve deadline."""
    now = now or utcnow()
    if complaint.status != S.CLOSED:
        raise RuleError("complaint.step_not_allowed", "to_status", from_status=complaint.status,
                        to_status=S.VERIFYING.value)
    if not (reason or "").strip():
        raise RuleError("complaint.required", "reason")
    old_due = complaint.resolve_due_at
    complaint.status = S.VERIFYING.value
    complaint.closed_at = None
    complaint.escalation_level = 0
    complaint.resolve_due_at = workdays.add_working_days(now, resolve_days(complaint.severity), overrides())
    event = _event(complaint, actor, ComplaintEventKind.REOPENED, now, text=reason.strip(),
                   from_status=S.CLOSED.value, to_status=S.VERIFYING.value, old_due=old_due,
                   new_due=complaint.resolve_due_at)
    audit.record(actor, "complaint.reopen", "complaint", complaint.id, params={"number": complaint.number})
    db.session.flush()
    _keep_handler_on_client(complaint, event)
    return event


@_conflict_if_changed_meanwhile
def add_note(complaint: Complaint, actor: User, text: str, now: datetime | None = None) -> ComplaintEvent:
    """Add a note to the history."""
    if not (text or "").strip():
        raise RuleError("complaint.required", "text")
    event = _event(complaint, actor, ComplaintEventKind.NOTE, now or utcnow(), text=text.strip())
    db.session.flush()
    return event


@_conflict_if_changed_meanwhile
def handover(complaint: Complaint, actor: User, to_user: User, reason: str,
             now: datetime | None = None) -> ComplaintEvent:
    """Hand the complaint to another handler (首办负责 ends only here), who is notified."""
    now = now or utcnow()
    if not (reason or "").strip():
        raise RuleError("complaint.required", "reason")
    if to_user.id == complaint.owner_id:
        raise RuleError("complaint.same_owner", "owner_id")
    before = complaint.owner
    complaint.owner_id = to_user.id
    complaint.owner = to_user
    for followup in _open_followups(complaint):
        followup.assignee_id = to_user.id
    event = _event(complaint, actor, ComplaintEventKind.HANDOVER, now,
                   text=f"{before.display_name} → {to_user.display_name}: {reason.strip()}")
    db.session.flush()
    _keep_handler_on_client(complaint, event)
    followups.notify(to_user, _handover_text(to_user, complaint.number),
                     path_for("complaints.show", complaint_id=complaint.id), email_template="complaint_handover",
                     dedupe_key=f"complaint-handover:{complaint.id}:{event.id}", complaint=complaint,
                     actor=actor, reason=reason.strip())
    audit.record(actor, "complaint.handover", "complaint", complaint.id,
                 params={"number": complaint.number, "from": before.display_name, "to": to_user.display_name})
    db.session.flush()
    return event


@_conflict_if_changed_meanwhile
def extend(complaint: Complaint, actor: User, new_due: datetime, reason: str,
           now: datetime | None = None) -> ComplaintEvent:
    """Move the resolve deadline later, with a reason; the event keeps the old and new deadlines."""
    now = now or utcnow()
    refused = []
    if not complaint.is_open:
        refused.append(RuleError("complaint.closed", "new_due"))
    elif new_due.tzinfo is None or new_due <= complaint.resolve_due_at or new_due <= now:
        refused.append(RuleError("complaint.not_later", "new_due"))
    if not (reason or "").strip():
        refused.append(RuleError("complaint.required", "reason"))
    _refuse(refused)
    old_due = complaint.resolve_due_at
    complaint.resolve_due_at = new_due.astimezone(timezone.utc)
    if not is_overdue(complaint, now):
        complaint.escalation_level = 0  # a later miss escalates again from the team lead
    event = _event(complaint, actor, ComplaintEventKind.EXTENSION, now, text=reason.strip(), old_due=old_due,
                   new_due=complaint.resolve_due_at)
    audit.record(actor, "complaint.extend", "complaint", complaint.id, params={
        "number": complaint.number, "from_day": old_due.astimezone(SHANGHAI).date().isoformat(),
        "to_day": complaint.resolve_due_at.astimezone(SHANGHAI).date().isoformat()})
    db.session.flush()
    return event


# ------------------------------------------------------------------ escalation

def _missed_deadline(complaint: Complaint, now: datetime) -> datetime:
    """The deadline that made the complaint overdue (the earliest one missed)."""
    missed = [complaint.resolve_due_at] if complaint.resolve_due_at < now else []
    if complaint.acknowledged_at is None and complaint.ack_due_at < now:
        missed.append(complaint.ack_due_at)
    return min(missed)


def _team_leads(user: User) -> list[User]:
    if user.team_id is None:
        return []
    return list(db.session.execute(sa.select(User).where(
        User.team_id == user.team_id, User.role == Role.LEAD.value, User.active.is_(True))
        .order_by(User.id)).scalars())


def _admins() -> list[User]:
    return list(db.session.execute(sa.select(User).where(
        User.role == Role.ADMIN.value, User.active.is_(True)).order_by(User.id)).scalars())


def escalate_overdue(now: datetime | None = None) -> str:
    """Escalate overdue open complaints one level per run: 0 → 1 the owner's team lead, 1 → 2 compliance.

    Level 2 comes once the complaint is still overdue one more working day after the missed deadline.
    Each step writes an 'escalation' event and notifies by app and email; the dedupe keys (complaint,
    level, missed deadline, recipient) make a re-run send nothing twice. Flushes; the caller commits.
    """
    now = now or utcnow()
    candidates = list(db.session.execute(
        sa.select(Complaint).options(so.joinedload(Complaint.owner))
        .where(overdue_condition(now), Complaint.escalation_level < 2).order_by(Complaint.id)).scalars())
    calendar, admins = (overrides(), _admins()) if candidates else ({}, [])
    leads: dict[int | None, list[User]] = {}
    counts = {1: 0, 2: 0}
    for complaint in candidates:
        missed = _missed_deadline(complaint, now)
        if complaint.escalation_level == 0:
            team_id = complaint.owner.team_id
            if team_id not in leads:
                leads[team_id] = _team_leads(complaint.owner)
            level, recipients = 1, leads[team_id] or admins
        elif now > workdays.add_working_days(missed, 1, calendar):
            level, recipients = 2, admins
        else:
            continue
        if not _claim_escalation(complaint, level):
            continue  # an overlapping pass (another scheduler) escalated it first
        complaint.escalation_level = level
        complaint.escalated_at = now
        names = ", ".join(r.display_name for r in recipients)
        _event(complaint, None, ComplaintEventKind.ESCALATION, now, text=f"{level}: {names}", old_due=missed)
        for recipient in recipients:
            followups.notify(
                recipient, _escalation_text(recipient, complaint.number),
                path_for("complaints.show", complaint_id=complaint.id), email_template="complaint_escalated",
                dedupe_key=f"complaint-esc:{complaint.id}:{level}:{missed:%Y%m%d%H%M%S}:{recipient.id}",
                complaint=complaint, level=level, deadline=missed)
        counts[level] += 1
    db.session.flush()
    return f"complaints escalated: {counts[1]} to team leads, {counts[2]} to compliance"


def _claim_escalation(complaint: Complaint, level: int) -> bool:
    """Raise the complaint's level from the one this pass read, in one conditional UPDATE.

    Two overlapping passes (a slow pass and the next slot's, or two schedulers) both read the same
    overdue complaint; only one UPDATE finds the old level, so only one writes the event and notifies.
    """
    return db.session.execute(
        sa.update(Complaint).where(Complaint.id == complaint.id,
                                   Complaint.escalation_level == complaint.escalation_level)
        .values(escalation_level=level).execution_options(synchronize_session=False)).rowcount == 1


# ------------------------------------------------------------------ workday overrides

def add_override(actor: User, day: date, is_working_day: bool, note: str = "") -> WorkdayOverride:
    """Mark a date as a working day or a day off (replaces an override of the same date)."""
    row = db.session.execute(sa.select(WorkdayOverride).where(WorkdayOverride.day == day)).scalar_one_or_none()
    if row is None:
        row = WorkdayOverride(day=day, created_by_id=actor.id, created_at=utcnow())
        db.session.add(row)
    row.is_working_day, row.note = bool(is_working_day), note[:200]
    audit.record(actor, "workday.override", "workday_override", None,
                 params={"day": day.isoformat(), "kind": "working_day" if is_working_day else "day_off"})
    db.session.flush()
    return row


def remove_override(actor: User, override: WorkdayOverride) -> None:
    """Drop an override: the date follows the calendar again (existing deadlines are not recomputed)."""
    audit.record(actor, "workday.override.remove", "workday_override", override.id,
                 params={"day": override.day.isoformat()})
    db.session.delete(override)
    db.session.flush()


def all_overrides() -> list[WorkdayOverride]:
    """Every override, latest date first."""
    return list(db.session.execute(sa.select(WorkdayOverride).order_by(WorkdayOverride.day.desc())).scalars())
