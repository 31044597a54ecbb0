"""Rules and thresholds an admin may change at run time (expiry months, service levels...)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.models.base import Base, utcnow


class Setting(Base):
    """One named setting; absent means the built-in default applies."""

    __tablename__ = "settings"

    key: so.Mapped[str] = so.mapped_column(sa.String(60), primary_key=True)
    value: so.Mapped[str] = so.mapped_column(sa.String(200))
    updated_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
