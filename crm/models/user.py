"""People and places: users with roles, teams and bank outlets."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy import orm as so
from werkzeug.security import check_password_hash, generate_password_hash

from crm.models.base import Base, utcnow


class Role(enum.StrEnum):
    """What a user may see and do."""

    MANAGER = "manager"
    LEAD = "lead"
    ADMIN = "admin"


class Team(Base):
    """A team of client managers under one team lead."""

    __tablename__ = "teams"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    members: so.Mapped[list[User]] = so.relationship(back_populates="team", order_by="User.display_name")

    def __repr__(self) -> str:
        return f"<Team {self.name}>"


class Outlet(Base):
    """A bank branch where managers are stationed (银行驻点)."""

    __tablename__ = "outlets"
    __table_args__ = (sa.UniqueConstraint("bank", "branch", name="uq_outlets_bank_branch"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    bank: so.Mapped[str] = so.mapped_column(sa.String(80))
    branch: so.Mapped[str] = so.mapped_column(sa.String(120))
    city: so.Mapped[str] = so.mapped_column(sa.String(60))
    active: so.Mapped[bool] = so.mapped_column(default=True)

    @property
    def label(self) -> str:
        """Short name shown in lists and selects."""
        return f"{self.bank} {self.branch}"

    def __repr__(self) -> str:
        return f"<Outlet {self.label}>"


class User(UserMixin, Base):
    """A person who signs in: client manager, team lead or compliance/admin."""

    __tablename__ = "users"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(40), unique=True)
    display_name: so.Mapped[str] = so.mapped_column(sa.String(60))
    email: so.Mapped[str] = so.mapped_column(sa.String(254), default="")
    role: so.Mapped[str] = so.mapped_column(sa.String(16), default=Role.MANAGER.value)
    team_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("teams.id"), index=True)
    outlet_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("outlets.id"))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    locale: so.Mapped[str] = so.mapped_column(sa.String(10), default="zh_CN")
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256), default="")
    # Set when the password in use no longer meets the rules: the next sign-in goes to "change password".
    password_change_required: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    password_changed_at: so.Mapped[datetime | None]
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    team: so.Mapped[Team | None] = so.relationship(back_populates="members")
    outlet: so.Mapped[Outlet | None] = so.relationship()

    def set_password(self, password: str, method: str = "scrypt") -> None:
        """Store a salted hash of the password, never the password."""
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        """Tell whether the password matches the stored hash."""
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_lead(self) -> bool:
        return self.role == Role.LEAD

    def __repr__(self) -> str:
        return f"<User {self.username}>"
