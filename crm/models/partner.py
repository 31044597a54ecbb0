"""Channel partners (渠道伙伴): people who bring clients without being clients, and the contacts kept with them."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.models.base import Base, utcnow
from crm.models.user import Outlet, User


class PartnerRole(enum.StrEnum):
    """What the partner does where the manager meets them (DOMAIN.md, "Channel partners")."""

    TELLER = "teller"
    LOBBY_MANAGER = "lobby_manager"
    BRANCH_MANAGER = "branch_manager"
    CORPORATE_FINANCE = "corporate_finance"
    OTHER = "other"


class Partner(Base):
    """A bank teller, lobby manager, branch manager, corporate finance person or other introducer.

    Owned by one manager (who keeps the relationship) and usually met at one outlet; seen by the same
    rule as clients (`crm.services.access.partner_visibility`). The mobile is optional (not every
    teller gives one) and, when given, masked like a client's.
    """

    __tablename__ = "partners"
    __table_args__ = (
        # One manager does not keep the same person twice; two managers may both know a teller.
        sa.UniqueConstraint("owner_id", "mobile", name="uq_partners_owner_id"),
        sa.Index("ix_partners_owner_name", "owner_id", "name_initials"),
        sa.Index("ix_partners_name_initials", "name_initials",
                 postgresql_ops={"name_initials": "varchar_pattern_ops"}),
        sa.Index("ix_partners_name_pinyin", "name_pinyin",
                 postgresql_ops={"name_pinyin": "varchar_pattern_ops"}),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(60))
    name_initials: so.Mapped[str] = so.mapped_column(sa.String(30), default="")
    name_pinyin: so.Mapped[str] = so.mapped_column(sa.String(160), default="")
    role: so.Mapped[str] = so.mapped_column(sa.String(30), default=PartnerRole.TELLER.value)
    # The bank branch, or the company of a corporate finance person.
    organisation: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    mobile: so.Mapped[str | None] = so.mapped_column(sa.String(11))
    mobile_reversed: so.Mapped[str | None] = so.mapped_column(sa.String(11))
    notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    consent_contact: so.Mapped[bool] = so.mapped_column(default=False)
    consent_at: so.Mapped[datetime | None]
    # Keep in touch at least every this many days; a lapse shows on Today (crm.services.partners).
    cadence_days: so.Mapped[int] = so.mapped_column(default=30)
    last_contact_at: so.Mapped[datetime | None]
    active: so.Mapped[bool] = so.mapped_column(default=True)
    outlet_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("outlets.id"), index=True)
    owner_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    updated_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    version: so.Mapped[int] = so.mapped_column(default=1)

    owner: so.Mapped[User] = so.relationship(foreign_keys=[owner_id])
    updated_by: so.Mapped[User | None] = so.relationship(foreign_keys=[updated_by_id])
    outlet: so.Mapped[Outlet | None] = so.relationship()

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Partner {self.id} {self.name}>"


class PartnerContact(Base):
    """One contact with a partner, logged like a visit: when, how, what was said, what comes next."""

    __tablename__ = "partner_contacts"
    __table_args__ = (sa.Index("ix_partner_contacts_partner_occurred", "partner_id", "occurred_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partner_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("partners.id"))
    author_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    occurred_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    channel: so.Mapped[str] = so.mapped_column(sa.String(20))  # a VisitChannel
    summary: so.Mapped[str] = so.mapped_column(sa.Text)
    next_step: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    partner: so.Mapped[Partner] = so.relationship()
    author: so.Mapped[User] = so.relationship()
