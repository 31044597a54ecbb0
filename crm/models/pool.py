"""The team pool (公海): prospects released when their protection period (保护期) lapses, and who took them."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.models.base import Base, utcnow
from crm.models.user import User


class PoolEventKind(enum.StrEnum):
    """What happened to a prospect's protection or pool place."""

    RELEASE = "release"  # the scheduler put it in the team pool
    CLAIM = "claim"      # a manager took it from the pool (by the pool page or by capturing its mobile)
    ASSIGN = "assign"    # a lead gave it to a manager
    EXTEND = "extend"    # a lead extended its protection


class PoolReleaseReason(enum.StrEnum):
    """Why a prospect went to the pool (kept on the release)."""

    NOT_CONTACTED = "not_contacted"  # no contact logged within the protection period


class PoolEvent(Base):
    """One release, claim, assignment or extension: the client's timeline and the pool's history."""

    __tablename__ = "pool_events"
    __table_args__ = (sa.Index("ix_pool_events_client_at", "client_id", "at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    client_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clients.id"))
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))
    team_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("teams.id"))
    from_user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    to_user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))  # None: the scheduler
    reason: so.Mapped[str | None] = so.mapped_column(sa.String(30))  # a PoolReleaseReason for a release
    note: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    until: so.Mapped[datetime | None]  # an extension's new end of protection
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    from_user: so.Mapped[User | None] = so.relationship(foreign_keys=[from_user_id])
    to_user: so.Mapped[User | None] = so.relationship(foreign_keys=[to_user_id])
    actor: so.Mapped[User | None] = so.relationship(foreign_keys=[actor_id])
