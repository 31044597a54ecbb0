"""Complaint tickets (客户投诉), their append-only history, and the admin's working-day overrides."""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.models.base import Base, utcnow
from crm.models.client import Client
from crm.models.user import User


class ComplaintStatus(enum.StrEnum):
    """Lifecycle (DOMAIN.md §9): 受理登记 → 核实 → 责任认定 → 方案 → 反馈 → 结案归档, with reopen."""

    REGISTERED = "registered"
    VERIFYING = "verifying"
    RESPONSIBILITY_DECIDED = "responsibility_decided"
    REMEDY_PROPOSED = "remedy_proposed"
    CLIENT_ANSWERED = "client_answered"
    CLOSED = "closed"


class ComplaintChannel(enum.StrEnum):
    """How the complaint reached the firm."""

    OUTLET = "outlet"
    PHONE = "phone"
    LETTER = "letter"
    EMAIL = "email"
    ONLINE = "online"
    REGULATOR = "regulator"  # passed on from the CSRC 12386 hotline or a regulator


class ComplaintCategory(enum.StrEnum):
    """What the complaint is about."""

    SERVICE_ATTITUDE = "service_attitude"
    TRADING_SYSTEM = "trading_system"
    FEES = "fees"
    PRODUCT_SALE = "product_sale"
    DISCLOSURE = "disclosure"
    TRANSFER_OBSTRUCTION = "transfer_obstruction"
    OTHER = "other"


class ComplaintSeverity(enum.StrEnum):
    """How serious: sets the deadlines."""

    NORMAL = "normal"
    SERIOUS = "serious"
    MAJOR = "major"


class ComplaintEventKind(enum.StrEnum):
    """What a history entry records."""

    CREATED = "created"
    STATUS = "status"
    NOTE = "note"
    HANDOVER = "handover"
    ESCALATION = "escalation"
    EXTENSION = "extension"
    CLOSED = "closed"
    REOPENED = "reopened"


class Complaint(Base):
    """A complaint ticket, owned by its first handler until handed over (首办负责制); never deleted."""

    __tablename__ = "complaints"
    __table_args__ = (
        sa.Index("ix_complaints_status_resolve_due", "status", "resolve_due_at"),
        sa.Index("ix_complaints_owner_status", "owner_id", "status"),
        sa.Index("ix_complaints_client", "client_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    number: so.Mapped[str] = so.mapped_column(sa.String(20), unique=True)
    complainant_name: so.Mapped[str] = so.mapped_column(sa.String(60))
    complainant_contact: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    client_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("clients.id"))
    account_ref: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    channel: so.Mapped[str] = so.mapped_column(sa.String(20))
    category: so.Mapped[str] = so.mapped_column(sa.String(30))
    severity: so.Mapped[str] = so.mapped_column(sa.String(10), default=ComplaintSeverity.NORMAL.value)
    facts: so.Mapped[str] = so.mapped_column(sa.Text)
    evidence: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    staff_involved: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    client_request: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    first_handler_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    owner_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    status: so.Mapped[str] = so.mapped_column(sa.String(30), default=ComplaintStatus.REGISTERED.value)
    ack_due_at: so.Mapped[datetime]
    resolve_due_at: so.Mapped[datetime]
    acknowledged_at: so.Mapped[datetime | None]
    escalation_level: so.Mapped[int] = so.mapped_column(default=0)  # 0 none, 1 team lead, 2 compliance
    escalated_at: so.Mapped[datetime | None]
    resolution: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    accepted: so.Mapped[bool | None]
    satisfaction: so.Mapped[int | None]  # 1..5
    closed_at: so.Mapped[datetime | None]
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    version: so.Mapped[int] = so.mapped_column(default=1)

    client: so.Mapped[Client | None] = so.relationship()
    first_handler: so.Mapped[User] = so.relationship(foreign_keys=[first_handler_id])
    owner: so.Mapped[User] = so.relationship(foreign_keys=[owner_id])
    created_by: so.Mapped[User] = so.relationship(foreign_keys=[created_by_id])
    # Append-only history: no cascade, so nothing the ORM does to a complaint removes an event.
    events: so.WriteOnlyMapped[ComplaintEvent] = so.relationship(
        back_populates="complaint", cascade="save-update", passive_deletes="all",
        order_by="ComplaintEvent.id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        """Not closed."""
        return self.status != ComplaintStatus.CLOSED.value


class ComplaintEvent(Base):
    """One entry of a complaint's history; written once, never changed or deleted by the app."""

    __tablename__ = "complaint_events"
    __table_args__ = (sa.Index("ix_complaint_events_complaint_at", "complaint_id", "at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    complaint_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("complaints.id"))
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))  # None: the scheduler
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))
    from_status: so.Mapped[str | None] = so.mapped_column(sa.String(30))
    to_status: so.Mapped[str | None] = so.mapped_column(sa.String(30))
    text: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    old_due: so.Mapped[datetime | None]
    new_due: so.Mapped[datetime | None]

    complaint: so.Mapped[Complaint] = so.relationship(back_populates="events")
    actor: so.Mapped[User | None] = so.relationship()


class WorkdayOverride(Base):
    """An admin's correction of the holiday calendar: this date is (or is not) a working day."""

    __tablename__ = "workday_overrides"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    day: so.Mapped[date] = so.mapped_column(sa.Date, unique=True)
    is_working_day: so.Mapped[bool]
    note: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
