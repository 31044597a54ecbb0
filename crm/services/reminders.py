"""Follow-up reminder emails: which follow-ups a reminder pass reminds, once each, delivered by the same pass."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import orm as so

from crm.extensions import db
from crm.models import FollowUp, utcnow
from crm.models.followup import OPEN_FOLLOWUP_STATES
from crm.services import mail, outbox, settings
from crm.services.job_runs import reminder_interval
from crm.services.links import absolute_url


def reminder_cutoff(now: datetime, every: timedelta, lead: timedelta) -> datetime:
    """The latest due time whose reminder this pass sends.

    A reminder is due `lead` before the follow-up (the `reminder_lead_minutes` setting). Passes run
    every `every`, so the pass at `now` sends each reminder due no later than the next pass (`now +
    every`): waiting for that pass would hand it to the mail server too late. Hence: due_at <= now +
    every + lead.
    """
    return now + every + lead


def send_reminders(now: datetime | None = None) -> str:
    """Queue a reminder email for each follow-up whose reminder falls before the next pass, then deliver them.

    A follow-up wants a reminder when it has a `reminder_at` (plan follow-ups have none: they come in
    the morning digest); its time is `due_at - reminder_lead_minutes`, whatever `reminder_at` holds, so
    that the setting applies to every follow-up, snoozed ones included (a snooze moves `due_at` and
    clears `reminded_at`). Emails are queued due at `now`, so this same pass delivers them.
    """
    now = now or utcnow()
    lead = timedelta(minutes=settings.get_int("reminder_lead_minutes"))
    cutoff = reminder_cutoff(now, reminder_interval(current_app.config), lead)
    due = list(db.session.execute(
        sa.select(FollowUp).options(so.joinedload(FollowUp.client), so.joinedload(FollowUp.assignee))
        .where(FollowUp.status.in_(OPEN_FOLLOWUP_STATES),
               FollowUp.reminder_at.is_not(None), FollowUp.reminded_at.is_(None), FollowUp.due_at <= cutoff)
        .order_by(FollowUp.due_at).limit(500)).scalars())
    due = _claim_reminders(due, now)
    for followup in due:
        mail.queue(followup.assignee, "followup_reminder", send_after=now,
                   dedupe_key=f"reminder:{followup.id}:{followup.assignee_id}:{followup.due_at.isoformat()}",
                   followup=followup, url=absolute_url("followups.show", followup_id=followup.id))
    # Committed before delivery, on purpose: the outbox sender claims rows in its own transactions, and
    # a reminder must be queued for good before any email of this pass goes out.
    db.session.commit()
    report = outbox.deliver_due(now=now)
    return f"reminders queued {len(due)}; {report}"


def _claim_reminders(due: list[FollowUp], now: datetime) -> list[FollowUp]:
    """Mark these follow-ups reminded; keep those that no overlapping pass marked first.

    Passes overlap when one outlasts the interval or several schedulers run. The conditional UPDATE
    is the pass's first write: a second pass waits for the first to commit, then finds the rows taken
    (instead of queueing the same reminders and failing on the outbox's unique dedupe key).
    """
    if not due:
        return []
    taken = set(db.session.execute(
        sa.update(FollowUp).where(FollowUp.id.in_([f.id for f in due]), FollowUp.reminded_at.is_(None))
        .values(reminded_at=now).returning(FollowUp.id)
        .execution_options(synchronize_session=False)).scalars())
    return [f for f in due if f.id in taken]
