"""The client file: prospects and clients, and every change of their lifecycle stage."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.models.base import Base, utcnow
from crm.models.partner import Partner
from crm.models.user import Outlet, Team, User

if TYPE_CHECKING:
    from crm.models.tier import Tier


class Stage(enum.StrEnum):
    """Lifecycle stage of a client, in order."""

    PROSPECT = "prospect"
    CONTACTED = "contacted"
    ACCOUNT_OPENED = "account_opened"
    ACTIVE = "active"
    DORMANT = "dormant"
    LOST = "lost"


class SourceChannel(enum.StrEnum):
    """Where a prospect came from (DOMAIN.md, developing clients)."""

    BANK_STAFF = "bank_staff"
    CORPORATE_FINANCE = "corporate_finance"
    WALK_IN = "walk_in"
    REFERRAL = "referral"
    SEMINAR = "seminar"
    ONLINE = "online"
    QR = "qr_self_registration"  # the visitor registered through a manager's QR card
    OTHER = "other"


class Client(Base):
    """A person a manager develops or serves, from first capture onwards."""

    __tablename__ = "clients"
    __table_args__ = (
        sa.Index("ix_clients_owner_activity", "owner_id", "last_activity_at", "id"),
        sa.Index("ix_clients_activity", "last_activity_at", "id"),
        # Prefix searches (LIKE 'zs%') need pattern ops on PostgreSQL with a non-C collation.
        sa.Index(
            "ix_clients_name_initials", "name_initials",
            postgresql_ops={"name_initials": "varchar_pattern_ops"},
        ),
        sa.Index(
            "ix_clients_name_pinyin", "name_pinyin",
            postgresql_ops={"name_pinyin": "varchar_pattern_ops"},
        ),
        sa.Index(
            "ix_clients_mobile_reversed", "mobile_reversed",
            postgresql_ops={"mobile_reversed": "varchar_pattern_ops"},
        ),
        # A referral names a client or a partner, never both.
        sa.CheckConstraint("referrer_client_id IS NULL OR referrer_partner_id IS NULL", name="one_referrer"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(60))
    name_initials: so.Mapped[str] = so.mapped_column(sa.String(30), default="")
    name_pinyin: so.Mapped[str] = so.mapped_column(sa.String(160), default="")
    mobile: so.Mapped[str] = so.mapped_column(sa.String(11), unique=True)
    # The mobile read backwards, so "last digits" searches are index prefix scans.
    mobile_reversed: so.Mapped[str] = so.mapped_column(sa.String(11))
    id_number: so.Mapped[str | None] = so.mapped_column(sa.String(18), unique=True)
    gender: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    age_band: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    source_channel: so.Mapped[str] = so.mapped_column(sa.String(30), default=SourceChannel.WALK_IN.value)
    # Free text from before referrals were chosen (still shown); new referrals name a record below.
    referrer: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    referrer_client_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("clients.id"), index=True)
    referrer_partner_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("partners.id"), index=True)
    # The QR card a self-registration came through (crm.models.qr).
    qr_card_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("qr_cards.id"), index=True)
    interests: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    consent_contact: so.Mapped[bool] = so.mapped_column(default=False)
    consent_channel: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    consent_at: so.Mapped[datetime | None]
    stage: so.Mapped[str] = so.mapped_column(sa.String(20), default=Stage.PROSPECT.value, index=True)
    account_opened_at: so.Mapped[datetime | None]
    # The back office's client number (客户号/资金账号), used to match imported files.
    account_no: so.Mapped[str | None] = so.mapped_column(sa.String(30), unique=True)
    investor_type: so.Mapped[str] = so.mapped_column(sa.String(20), default="ordinary",
                                                     server_default="ordinary")
    tier_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("tiers.id"), index=True)
    # Copied from the latest risk assessment so lists and dashboards need no per-client lookups.
    risk_level: so.Mapped[int | None]
    risk_lowest: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    risk_expires_at: so.Mapped[datetime | None] = so.mapped_column(index=True)
    # Copied from the latest contact that recorded them, for the at-risk scan.
    last_intent: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    last_satisfaction: so.Mapped[int | None]
    outlet_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("outlets.id"), index=True)
    owner_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    updated_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    last_contact_at: so.Mapped[datetime | None]
    last_activity_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    # Protection period (保护期, crm.services.pool): it runs from the later of this (capture, claim,
    # assignment) and the last contact; a lead's extension protects it until `protected_until`.
    protection_started_at: so.Mapped[datetime | None]
    protected_until: so.Mapped[datetime | None]
    # In the team pool (公海) of this team since `pooled_at`; `owner_id` then names the former owner.
    pool_team_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("teams.id"), index=True)
    pooled_at: so.Mapped[datetime | None]
    version: so.Mapped[int] = so.mapped_column(default=1)

    owner: so.Mapped[User] = so.relationship(foreign_keys=[owner_id])
    updated_by: so.Mapped[User | None] = so.relationship(foreign_keys=[updated_by_id])
    outlet: so.Mapped[Outlet | None] = so.relationship()
    tier: so.Mapped[Tier | None] = so.relationship()
    referrer_client: so.Mapped[Client | None] = so.relationship(remote_side="Client.id",
                                                                foreign_keys=[referrer_client_id])
    referrer_partner: so.Mapped[Partner | None] = so.relationship(foreign_keys=[referrer_partner_id])
    pool_team: so.Mapped[Team | None] = so.relationship(foreign_keys=[pool_team_id])

    # The database refuses a write made from a stale copy: the last line of lost-update defence.
    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Client {self.id} {self.name}>"


class StageChange(Base):
    """One move of a client from one lifecycle stage to another, with who and when."""

    __tablename__ = "stage_changes"
    __table_args__ = (sa.Index("ix_stage_changes_client_at", "client_id", "changed_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    client_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clients.id"))
    from_stage: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    to_stage: so.Mapped[str] = so.mapped_column(sa.String(20))
    changed_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    changed_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    note: so.Mapped[str] = so.mapped_column(sa.String(200), default="")

    changed_by: so.Mapped[User] = so.relationship()


class OwnerChange(Base):
    """One reassignment of a client from one owner to another: by whom, why and when."""

    __tablename__ = "owner_changes"
    __table_args__ = (sa.Index("ix_owner_changes_client_at", "client_id", "changed_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    client_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clients.id"))
    from_owner_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    to_owner_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    changed_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    changed_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    reason: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    # Open follow-ups of the previous owner that moved with the client.
    followups_moved: so.Mapped[int] = so.mapped_column(default=0)

    from_owner: so.Mapped[User] = so.relationship(foreign_keys=[from_owner_id])
    to_owner: so.Mapped[User] = so.relationship(foreign_keys=[to_owner_id])
    changed_by: so.Mapped[User] = so.relationship(foreign_keys=[changed_by_id])
