"""Client tiers by assets, asset snapshots and tier changes."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.models.base import Base, utcnow


class Tier(Base):
    """A client tier (普通/银卡/金卡/钻石): asset threshold and contact service level."""

    __tablename__ = "tiers"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(40), unique=True)
    min_assets_fen: so.Mapped[int] = so.mapped_column(sa.BigInteger, unique=True)
    max_days_between_contacts: so.Mapped[int]


class AssetSnapshot(Base):
    """A client's total assets on one date, entered by hand or imported from the back office."""

    __tablename__ = "asset_snapshots"
    __table_args__ = (sa.UniqueConstraint("client_id", "as_of", name="uq_asset_snapshots_client_date"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    client_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clients.id"))
    as_of: so.Mapped[date]
    total_assets_fen: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    source: so.Mapped[str] = so.mapped_column(sa.String(20), default="manual")
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class TierChange(Base):
    """A client moving from one tier to another, shown on the timeline."""

    __tablename__ = "tier_changes"
    __table_args__ = (sa.Index("ix_tier_changes_client", "client_id", "changed_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    client_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clients.id"))
    from_tier_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("tiers.id"))
    to_tier_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("tiers.id"))
    assets_fen: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    changed_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    source: so.Mapped[str] = so.mapped_column(sa.String(20), default="import")

    from_tier: so.Mapped[Tier | None] = so.relationship(foreign_keys=[from_tier_id])
    to_tier: so.Mapped[Tier | None] = so.relationship(foreign_keys=[to_tier_id])
