"""The audit trail: sensitive reads and privileged changes, append-only."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.models.base import Base, utcnow
from crm.models.user import User


class AuditEvent(Base):
    """One audited action: who did what to which object, when and from where.

    `params` holds the structured details of rows written since it exists (rendered in the reader's
    language); older rows keep only `detail`, English text. `source` says where the action came from:
    "web" (with the address), "scheduler" or "cli".
    """

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_object", "object_type", "object_id"),
                      sa.Index("ix_audit_events_client_id_id", "client_id", "id"),
                      sa.Index("ix_audit_events_actor_id_id", "actor_id", "id"))

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow, index=True)
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    action: so.Mapped[str] = so.mapped_column(sa.String(40), index=True)
    object_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    object_id: so.Mapped[int | None]
    detail: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    remote_addr: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    source: so.Mapped[str] = so.mapped_column(sa.String(20), default="", server_default="")
    # The client the action concerns (also for complaints and follow-ups), for the trail's client filter.
    client_id: so.Mapped[int | None]
    params: so.Mapped[dict | None] = so.mapped_column(sa.JSON(none_as_null=True))

    actor: so.Mapped[User | None] = so.relationship()


class FormSubmission(Base):
    """A one-time form token already used, and what it created, so a retry finds the first result."""

    __tablename__ = "form_submissions"

    token: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    kind: so.Mapped[str] = so.mapped_column(sa.String(30))
    object_id: so.Mapped[int]
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
