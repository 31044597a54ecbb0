"""Follow-ups: create (idempotently for generated ones), complete, snooze, assign; Today and the team board."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy import orm as so
from sqlalchemy.exc import IntegrityError

from crm.domain.clock import SHANGHAI
from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.models import (
    Client,
    FollowUp,
    FollowUpKind,
    FollowUpSource,
    FollowUpStatus,
    Notification,
    User,
    VisitLog,
    utcnow,
)
from crm.services import audit, dialect, followup_sources, mail
from crm.services.access import answers_for, assignable_owners, followup_visibility
from crm.services.links import absolute, path_for

WORKDAY_START = time(9, 0)


def local_morning(day: date) -> datetime:
    """09:00 Asia/Shanghai on `day`, as an aware datetime."""
    return datetime.combine(day, WORKDAY_START, SHANGHAI)


def create(client: Client, assignee: User | int, due_at: datetime, kind: FollowUpKind | str,
           source: FollowUpSource | str = FollowUpSource.MANUAL, creator: User | None = None,
           title: str = "", priority: int = 2, origin: Mapping[str, object] | None = None, note: str = "",
           notify_assignee: bool = False) -> FollowUp:
    """Add a follow-up; a generated one (`origin` from crm.services.followup_sources, which gives its source,
    key and the record it refers to) is created once, whatever the retries."""
    assignee_id = assignee if isinstance(assignee, int) else assignee.id
    origin = dict(origin or {"source": str(source)})
    source, source_key = str(origin["source"]), origin.get("source_key")
    if source_key is not None:
        existing = db.session.execute(sa.select(FollowUp).where(
            FollowUp.source == source, FollowUp.source_key == source_key)).scalar_one_or_none()
        if existing is not None:
            return existing
    followup = FollowUp(client_id=client.id, assignee_id=assignee_id, creator_id=creator.id if creator else None,
                        due_at=due_at, kind=str(kind), **origin,
                        title=title[:200], priority=priority, note=note, status=FollowUpStatus.OPEN.value,
                        reminder_at=due_at - timedelta(minutes=30), created_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(followup)
            db.session.flush()
    except IntegrityError:
        # A concurrent run created the same generated follow-up first.
        return db.session.execute(sa.select(FollowUp).where(
            FollowUp.source == source, FollowUp.source_key == source_key)).scalar_one()
    if notify_assignee and assignee_id != (creator.id if creator else None):
        notify_assignment(followup, creator)
    return followup


def insert_ignoring_twins():
    """INSERT INTO follow_ups ... ON CONFLICT (source, source_key) DO NOTHING: for set-based generation
    (scan flags, plan occurrences, the call-back sample); a row another run inserted first is skipped."""
    return dialect.insert(FollowUp.__table__).on_conflict_do_nothing(index_elements=["source", "source_key"])


def from_visit(visit: VisitLog, actor: User) -> FollowUp | None:
    """A visit's next-contact date becomes a follow-up for the client's owner."""
    if visit.next_contact_on is None:
        return None
    client = visit.client
    return create(client, client.owner_id, local_morning(visit.next_contact_on), FollowUpKind.CALL,
                  creator=actor, title=visit.next_step or "", origin=followup_sources.visit(visit.id))


def callback_for_new_account(client: Client, actor: User | None, opened_at: datetime) -> FollowUp:
    """A call-back (回访) within one month of account opening (DOMAIN.md §11): due after two weeks."""
    due = local_morning((opened_at.astimezone(SHANGHAI) + timedelta(days=14)).date())
    return create(client, client.owner_id, due, FollowUpKind.CALLBACK, creator=actor, priority=1,
                  origin=followup_sources.new_account(client.id))


def complete(followup: FollowUp, visit: VisitLog | None, at: datetime | None = None) -> None:
    """Mark done, linked to the visit log that did it (if a visit did it)."""
    followup.status = FollowUpStatus.DONE.value
    followup.completed_visit_id = visit.id if visit else None
    followup.completed_at = at or utcnow()
    db.session.flush()


def snooze(followup: FollowUp, actor: User, until: datetime, reason: str) -> None:
    """Put off a follow-up to a later time, with the reason kept; someone outside the client's book only
    by `MAX_ASSIGNEE_SNOOZE` (refused with the field `until`)."""
    if not answers_for(actor, followup.client) and until > utcnow() + MAX_ASSIGNEE_SNOOZE:
        raise RuleError("followup.snooze_too_far", "until", days=MAX_ASSIGNEE_SNOOZE.days)
    followup.status = FollowUpStatus.SNOOZED.value
    followup.snoozed_until = until
    followup.due_at = until
    followup.snooze_reason = reason[:200]
    followup.reminder_at = until - timedelta(minutes=30)
    followup.reminded_at = None
    db.session.flush()


def cancel(followup: FollowUp, actor: User) -> None:
    """Drop a follow-up that is no longer needed."""
    followup.status = FollowUpStatus.CANCELLED.value
    db.session.flush()


# Someone outside the client's book holds a follow-up (and with it the client) for a while only:
# they may put it off this far at most; the owner or the lead can give it more time.
MAX_ASSIGNEE_SNOOZE = timedelta(days=30)


def assign(followups: Iterable[FollowUp], actor: User, assignee: User) -> int:
    """Give follow-ups to another member of the team; the assignee is notified of each one moved."""
    moved = 0
    for followup in followups:
        if followup.assignee_id == assignee.id or followup.status in (FollowUpStatus.DONE, FollowUpStatus.CANCELLED):
            continue
        audit.record(actor, "followup.assign", "follow_up", followup.id,
                     params={"from": followup.assignee.display_name, "to": assignee.display_name})
        followup.assignee_id = assignee.id
        followup.assignee = assignee
        if followup.due_at > utcnow():
            followup.reminded_at = None  # the new assignee gets the reminder before the due time
        notify_assignment(followup, actor)
        moved += 1
    db.session.flush()
    return moved


def notify(user: User, text: str, link: str, email_template: str | None = None,
           dedupe_key: str | None = None, **context) -> None:
    """Tell a user in the app and, when a template is given, by email through the outbox."""
    db.session.add(Notification(user_id=user.id, text=text[:300], link=link, created_at=utcnow()))
    if email_template:
        mail.queue(user, email_template, dedupe_key=dedupe_key, url=absolute(link), **context)


def notify_assignment(followup: FollowUp, actor: User | None) -> None:
    """The assignee hears about a follow-up handed to them."""
    from flask_babel import force_locale, gettext

    assignee = db.session.get(User, followup.assignee_id)
    with force_locale(assignee.locale or "zh_CN"):
        text = gettext("New follow-up on %(client)s", client=followup.client.name)
    notify(assignee, text, path_for("followups.show", followup_id=followup.id),
           email_template="followup_assigned", dedupe_key=f"assign:{followup.id}:{assignee.id}:{followup.version}",
           followup=followup, actor=actor)


# ---------------------------------------------------------------- reading

def overdue_before(now: datetime) -> datetime:
    """The one meaning of overdue (Today, Team, both digests): still open or snoozed, and due before the
    start of the current Asia/Shanghai day. Work due earlier today is today's work, not yet overdue."""
    return datetime.combine(now.astimezone(SHANGHAI).date(), time(0), SHANGHAI)


def overdue_filter(now: datetime) -> sa.ColumnElement[bool]:
    """`overdue_before` as a query condition."""
    return sa.and_(FollowUp.status.in_([FollowUpStatus.OPEN.value, FollowUpStatus.SNOOZED.value]),
                   FollowUp.due_at < overdue_before(now))


@dataclass
class TodayView:
    """A manager's work: overdue, due today, due in the next 7 days."""

    overdue: list[FollowUp]
    today: list[FollowUp]
    upcoming: list[FollowUp]


def today_view(user: User, now: datetime | None = None) -> TodayView:
    """Open and snoozed follow-ups assigned to the user: overdue (see `overdue_before`), due today and in
    the next 7 days, by Shanghai calendar day."""
    now = now or utcnow()
    start = overdue_before(now)
    end_today, end_week = start + timedelta(days=1), start + timedelta(days=8)
    rows = list(db.session.execute(
        sa.select(FollowUp).options(so.joinedload(FollowUp.client))
        .where(FollowUp.assignee_id == user.id,
               FollowUp.status.in_([FollowUpStatus.OPEN, FollowUpStatus.SNOOZED]),
               FollowUp.due_at < end_week)
        .order_by(FollowUp.due_at, FollowUp.priority, FollowUp.id)).scalars())
    return TodayView(overdue=[f for f in rows if f.due_at < start],
                     today=[f for f in rows if start <= f.due_at < end_today],
                     upcoming=[f for f in rows if f.due_at >= end_today])


@dataclass
class BoardRow:
    """One manager's load on the lead's board."""

    user: User
    open: int
    overdue: int
    flagged: int


def team_board(lead: User, now: datetime | None = None) -> list[BoardRow]:
    """Open and overdue follow-ups and flagged clients per member, in three grouped queries."""
    from crm.models import ClientFlag

    now = now or utcnow()
    members = assignable_owners(lead)
    ids = [m.id for m in members]
    open_states = [FollowUpStatus.OPEN.value, FollowUpStatus.SNOOZED.value]
    counts = dict(db.session.execute(
        sa.select(FollowUp.assignee_id, sa.func.count()).where(FollowUp.assignee_id.in_(ids),
                                                               FollowUp.status.in_(open_states))
        .group_by(FollowUp.assignee_id)).all())
    overdue = dict(db.session.execute(
        sa.select(FollowUp.assignee_id, sa.func.count()).where(FollowUp.assignee_id.in_(ids), overdue_filter(now))
        .group_by(FollowUp.assignee_id)).all())
    flagged = dict(db.session.execute(
        sa.select(Client.owner_id, sa.func.count(sa.distinct(Client.id))).join(ClientFlag, ClientFlag.client_id == Client.id)
        .where(Client.owner_id.in_(ids), ClientFlag.cleared_at.is_(None)).group_by(Client.owner_id)).all())
    return [BoardRow(m, counts.get(m.id, 0), overdue.get(m.id, 0), flagged.get(m.id, 0)) for m in members]


def team_followups(lead: User, assignee_id: int | None = None, overdue_only: bool = False,
                   now: datetime | None = None, limit: int = 200, offset: int = 0) -> list[FollowUp]:
    """Open follow-ups of the lead's team, soonest first (one query; `offset` for the next page)."""
    now = now or utcnow()
    query = (sa.select(FollowUp).options(so.joinedload(FollowUp.client), so.joinedload(FollowUp.assignee))
             .where(followup_visibility(lead),
                    FollowUp.status.in_([FollowUpStatus.OPEN.value, FollowUpStatus.SNOOZED.value])))
    if assignee_id:
        query = query.where(FollowUp.assignee_id == assignee_id)
    if overdue_only:
        query = query.where(overdue_filter(now))
    return list(db.session.execute(query.order_by(FollowUp.due_at, FollowUp.id).offset(offset).limit(limit))
                .scalars())


def unread_notifications(user: User, limit: int = 20) -> list[Notification]:
    """The user's unread notifications, newest first."""
    return list(db.session.execute(
        sa.select(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .order_by(Notification.created_at.desc()).limit(limit)).scalars())
