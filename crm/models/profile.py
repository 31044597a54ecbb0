"""Needs profiles (append-only versions) and the investor type with its history."""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.models.base import Base, utcnow
from crm.models.user import User


class InvestorType(enum.StrEnum):
    """Ordinary or professional investor (CSRC suitability measures)."""

    ORDINARY = "ordinary"
    PROFESSIONAL = "professional"


class NeedsProfile(Base):
    """One saved version of a client's needs profile; the highest version is current."""

    __tablename__ = "needs_profiles"
    __table_args__ = (sa.UniqueConstraint("client_id", "version", name="uq_needs_profiles_client_version"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    client_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clients.id"))
    version: so.Mapped[int]
    income_band: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    assets_band: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    experience_years: so.Mapped[int | None]
    product_types: so.Mapped[str] = so.mapped_column(sa.String(200), default="")  # comma-separated codes
    goals: so.Mapped[str] = so.mapped_column(sa.String(200), default="")           # comma-separated codes
    horizon: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    liquidity_need: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    preference: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    contact_channel: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    contact_time: so.Mapped[str] = so.mapped_column(sa.String(60), default="")
    birthday: so.Mapped[date | None]  # when the ID number does not say (or is not on file)
    notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    saved_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    saved_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    saved_by: so.Mapped[User] = so.relationship()


class InvestorTypeChange(Base):
    """A decision that a client is an ordinary or professional investor, with its basis."""

    __tablename__ = "investor_type_changes"
    __table_args__ = (sa.Index("ix_investor_type_changes_client", "client_id", "decided_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    client_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clients.id"))
    from_type: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    to_type: so.Mapped[str] = so.mapped_column(sa.String(20))
    criterion: so.Mapped[str] = so.mapped_column(sa.String(40))
    evidence: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    basis_date: so.Mapped[date]
    recording_ref: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    decided_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    decided_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    decided_by: so.Mapped[User] = so.relationship()
