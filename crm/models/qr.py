"""QR self-registration (扫码登记): a manager's printed card per outlet, and what visitors sent through it."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.models.base import Base, utcnow
from crm.models.user import Outlet, User


class QrCard(Base):
    """A printed card pointing to the public form for one manager at one outlet.

    Its URL carries a signed token over the card's id and `nonce` (crm.services.qr_cards): no guessable
    id, and a revoked card (or a re-issued one, which gets a new nonce) stops at once.
    """

    __tablename__ = "qr_cards"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    manager_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    outlet_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("outlets.id"))
    nonce: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    revoked_at: so.Mapped[datetime | None]
    revoked_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))

    manager: so.Mapped[User] = so.relationship(foreign_keys=[manager_id])
    outlet: so.Mapped[Outlet] = so.relationship()


class RegistrationOutcome(enum.StrEnum):
    """What a self-registration became (the visitor is told the same thing whatever it is)."""

    NEW = "new"                  # a new prospect of the card's manager
    OWN = "own"                  # the number was already the card's manager's client
    POOL_CLAIMED = "pool_claimed"  # it was in the manager's team pool: the manager claimed it
    OTHER_OWNER = "other_owner"  # another manager's client: not reassigned, its owner told


class SelfRegistration(Base):
    """One visitor's submission of the public form: what they gave and the consent text they agreed to."""

    __tablename__ = "self_registrations"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    card_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("qr_cards.id"), index=True)
    client_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("clients.id"), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(60))
    mobile: so.Mapped[str] = so.mapped_column(sa.String(11))
    interest: so.Mapped[str] = so.mapped_column(sa.String(30), default="")
    preferred_time: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    consent_version: so.Mapped[str] = so.mapped_column(sa.String(20))
    consent_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    locale: so.Mapped[str] = so.mapped_column(sa.String(10), default="zh_CN")
    outcome: so.Mapped[str] = so.mapped_column(sa.String(20))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    card: so.Mapped[QrCard] = so.relationship()
