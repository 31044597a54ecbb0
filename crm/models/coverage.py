"""Outlet coverage (驻点排班): who is stationed where on which days, the exceptions, and check-ins."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.models.base import Base, utcnow
from crm.models.user import Outlet, User


class CoveragePattern(Base):
    """A manager is stationed at an outlet on one weekday (0 Monday … 6 Sunday), from a day on, until a day."""

    __tablename__ = "coverage_patterns"
    __table_args__ = (
        sa.Index("ix_coverage_patterns_user_weekday", "user_id", "weekday"),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    outlet_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("outlets.id"), index=True)
    weekday: so.Mapped[int]
    starts_on: so.Mapped[date]
    ends_on: so.Mapped[date | None]  # the last day it applies; None: until changed
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    user: so.Mapped[User] = so.relationship(foreign_keys=[user_id])
    outlet: so.Mapped[Outlet] = so.relationship()


class CoverageExceptionKind(enum.StrEnum):
    """How one day differs from the weekly pattern."""

    LEAVE = "leave"          # not at any outlet that day (leave, training, sick)
    ELSEWHERE = "elsewhere"  # at another outlet that day (a swap, covering for a colleague)


class CoverageException(Base):
    """One day on which a manager is not where the pattern says: on leave, or at another outlet."""

    __tablename__ = "coverage_exceptions"
    __table_args__ = (sa.UniqueConstraint("user_id", "day", name="uq_coverage_exceptions_user_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    day: so.Mapped[date] = so.mapped_column(index=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))
    outlet_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("outlets.id"))  # ELSEWHERE only
    note: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    user: so.Mapped[User] = so.relationship(foreign_keys=[user_id])
    outlet: so.Mapped[Outlet | None] = so.relationship()


class CheckIn(Base):
    """A manager's arrival at an outlet on an Asia/Shanghai day, and their leaving.

    The location is kept only when the manager consented on that check-in, and only coarse (two
    decimals, about a kilometre): enough to say "at the branch", not where in it.
    """

    __tablename__ = "check_ins"
    __table_args__ = (sa.UniqueConstraint("user_id", "day", "outlet_id", name="uq_check_ins_user_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    outlet_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("outlets.id"))
    day: so.Mapped[date] = so.mapped_column(index=True)
    checked_in_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    checked_out_at: so.Mapped[datetime | None]
    location_consent: so.Mapped[bool] = so.mapped_column(default=False)
    latitude: so.Mapped[Decimal | None] = so.mapped_column(sa.Numeric(5, 2))
    longitude: so.Mapped[Decimal | None] = so.mapped_column(sa.Numeric(5, 2))

    user: so.Mapped[User] = so.relationship()
    outlet: so.Mapped[Outlet] = so.relationship()
