"""What each running process (web worker, scheduler, cron command) runs with, and when it was last seen."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.models.base import Base, utcnow


class ProcessHeartbeat(Base):
    """One process's email settings (never the SMTP password), version and last sign of life."""

    __tablename__ = "process_heartbeats"
    __table_args__ = (sa.Index("ix_process_heartbeats_kind_seen", "kind", "seen_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    owner: so.Mapped[str] = so.mapped_column(sa.String(120), unique=True)  # host:pid
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))  # web / scheduler / command
    version: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    base_url: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    mail_from: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    smtp_host: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    smtp_port: so.Mapped[int] = so.mapped_column(default=25)
    smtp_tls: so.Mapped[str] = so.mapped_column(sa.String(20), default="none")
    smtp_user: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    started_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    seen_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    # The last reminder/delivery pass this process ran, and what it did.
    pass_at: so.Mapped[datetime | None]
    pass_outcome: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
