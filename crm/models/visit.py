"""Visit logs: every call, meeting, WeChat message or seminar with a client."""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.models.base import Base, utcnow
from crm.models.client import Client
from crm.models.user import User


class VisitChannel(enum.StrEnum):
    """How the contact happened."""

    OUTLET = "outlet"
    PHONE = "phone"
    WECHAT = "wechat"
    VISIT = "visit"
    SEMINAR = "seminar"
    OTHER = "other"


class VisitOutcome(enum.StrEnum):
    """What came of the contact."""

    INTERESTED = "interested"
    CONSIDERING = "considering"
    NOT_INTERESTED = "not_interested"
    SERVED = "served"
    UNREACHABLE = "unreachable"


class Intent(enum.StrEnum):
    """An intent to leave recorded during a contact."""

    TRANSFER_OUT = "transfer_out"
    CLOSE_ACCOUNT = "close_account"


class VisitLog(Base):
    """One logged contact with a client."""

    __tablename__ = "visit_logs"
    __table_args__ = (sa.Index("ix_visit_logs_client_occurred", "client_id", "occurred_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    client_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clients.id"))
    author_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    occurred_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    channel: so.Mapped[str] = so.mapped_column(sa.String(20))
    summary: so.Mapped[str] = so.mapped_column(sa.Text)
    outcome: so.Mapped[str] = so.mapped_column(sa.String(20))
    next_step: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    next_contact_on: so.Mapped[date | None]
    # What the client said about leaving (转户/销户): a retention follow-up, never a block.
    intent: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    satisfaction: so.Mapped[int | None]  # 1..5 when asked (call-backs)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    client: so.Mapped[Client] = so.relationship()
    author: so.Mapped[User] = so.relationship()
