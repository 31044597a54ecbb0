"""Follow-ups (the work a manager must do), client flags, in-app notifications."""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.models.base import Base, utcnow
from crm.models.client import Client
from crm.models.user import User


class FollowUpKind(enum.StrEnum):
    """What the follow-up asks for."""

    CALL = "call"
    VISIT = "visit"
    REVIEW = "review"
    CALLBACK = "callback"
    PLAN_ITEM = "plan_item"
    FLAG = "flag"
    COMPLAINT = "complaint"


class FollowUpStatus(enum.StrEnum):
    """Where the follow-up stands."""

    OPEN = "open"
    DONE = "done"
    SNOOZED = "snoozed"
    CANCELLED = "cancelled"


# While a follow-up is in one of these states its assignee has business with the client (docs/access.md).
OPEN_FOLLOWUP_STATES = (FollowUpStatus.OPEN.value, FollowUpStatus.SNOOZED.value)


class FollowUpSource(enum.StrEnum):
    """Why the follow-up exists."""

    MANUAL = "manual"
    VISIT = "visit"
    FLAG = "flag"
    PLAN = "plan"
    COMPLAINT = "complaint"
    CALLBACK = "callback"
    QR = "qr"  # a visitor registered through a QR card and asked to be contacted


class FlagKind(enum.StrEnum):
    """Why the scan flagged a client: gone quiet, or likely to leave."""

    DORMANT = "dormant"
    AT_RISK = "at_risk"


class FollowUp(Base):
    """A dated piece of work on one client for one assignee."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        sa.Index("ix_follow_ups_assignee_status_due", "assignee_id", "status", "due_at"),
        sa.Index("ix_follow_ups_client", "client_id", "status"),
        sa.Index("ix_follow_ups_reminder", "status", "reminder_at"),
        # One follow-up per generated source (a visit's next step, a flag, a plan occurrence...).
        sa.UniqueConstraint("source", "source_key", name="uq_follow_ups_source_key"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    client_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clients.id"))
    assignee_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    creator_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    due_at: so.Mapped[datetime]
    kind: so.Mapped[str] = so.mapped_column(sa.String(20), default=FollowUpKind.CALL.value)
    priority: so.Mapped[int] = so.mapped_column(default=2)  # 1 high, 2 normal, 3 low
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default=FollowUpStatus.OPEN.value)
    source: so.Mapped[str] = so.mapped_column(sa.String(20), default=FollowUpSource.MANUAL.value)
    source_key: so.Mapped[str | None] = so.mapped_column(sa.String(80))
    title: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    snoozed_until: so.Mapped[datetime | None]
    snooze_reason: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    reminder_at: so.Mapped[datetime | None]
    reminded_at: so.Mapped[datetime | None]
    completed_visit_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("visit_logs.id"), index=True)
    # What a generated follow-up refers to, written with its source_key by crm.services.followup_sources
    # and the only thing queries read (the key stays the opaque exactly-once guard). Plain foreign keys,
    # as everywhere: none of these records is ever deleted.
    plan_item_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("plan_items.id"), index=True)
    plan_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("service_plans.id"), index=True)
    occurs_on: so.Mapped[date | None]  # the plan occurrence's day, or the review date a reminder is for
    flag_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("client_flags.id"), index=True)
    visit_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("visit_logs.id"))
    complaint_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("complaints.id"), index=True)
    complaint_event_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("complaint_events.id"))
    sample_year: so.Mapped[int | None]  # the year of the call-back sample that chose the client
    self_registration_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("self_registrations.id"))
    completed_at: so.Mapped[datetime | None]
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    version: so.Mapped[int] = so.mapped_column(default=1)

    client: so.Mapped[Client] = so.relationship()
    assignee: so.Mapped[User] = so.relationship(foreign_keys=[assignee_id])
    creator: so.Mapped[User | None] = so.relationship(foreign_keys=[creator_id])

    __mapper_args__ = {"version_id_col": version}


class ClientFlag(Base):
    """A dormant or at-risk flag raised by the scan, with its reasons; cleared when they go away."""

    __tablename__ = "client_flags"
    __table_args__ = (
        sa.Index("ix_client_flags_open", "kind", "cleared_at"),
        sa.Index("ix_client_flags_client", "client_id", "kind", "cleared_at"),
        # At most one open flag per client and kind, whatever runs the scan.
        sa.Index("uq_client_flags_open", "client_id", "kind", unique=True,
                 sqlite_where=sa.text("cleared_at IS NULL"), postgresql_where=sa.text("cleared_at IS NULL")),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    client_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clients.id"))
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))  # dormant / at_risk
    reasons: so.Mapped[str] = so.mapped_column(sa.String(200))  # comma-separated reason codes
    since: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    cleared_at: so.Mapped[datetime | None]

    client: so.Mapped[Client] = so.relationship()


class Notification(Base):
    """A message to a user inside the app (assignment, reassignment, escalation)."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    text: so.Mapped[str] = so.mapped_column(sa.String(300))
    link: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    read_at: so.Mapped[datetime | None]


class OutboxEmail(Base):
    """An email written in the same transaction as its event, delivered later by the sender."""

    __tablename__ = "outbox_emails"
    __table_args__ = (sa.Index("ix_outbox_emails_due", "status", "next_attempt_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # Stable across retries: a receiver that sees the same Message-ID twice can drop the copy.
    message_id: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    dedupe_key: so.Mapped[str | None] = so.mapped_column(sa.String(120), unique=True)
    to_address: so.Mapped[str] = so.mapped_column(sa.String(254))
    subject: so.Mapped[str] = so.mapped_column(sa.String(200))
    text_body: so.Mapped[str] = so.mapped_column(sa.Text)
    html_body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default="queued")  # queued/sending/sent/failed
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    lease_until: so.Mapped[datetime | None]
    last_error: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    sent_at: so.Mapped[datetime | None]


class JobRun(Base):
    """One run of a scheduled job; the unique key lets only one process claim each run."""

    __tablename__ = "job_runs"
    __table_args__ = (sa.UniqueConstraint("job", "run_key", name="uq_job_runs_job_run_key"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    job: so.Mapped[str] = so.mapped_column(sa.String(60))
    run_key: so.Mapped[str] = so.mapped_column(sa.String(60))
    owner: so.Mapped[str] = so.mapped_column(sa.String(120))
    started_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    finished_at: so.Mapped[datetime | None]
    outcome: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
