"""Accounts: authentication, settings, and the admin's user, team and outlet management."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from crm.extensions import db
from crm.models import Outlet, Team, User
from crm.services import audit

# Checked against when the username is unknown, so a failed sign-in takes the same time either way.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def find_user(username: str) -> User | None:
    """The user with this username, ignoring case."""
    return db.session.execute(
        sa.select(User).where(sa.func.lower(User.username) == username.strip().lower())
    ).scalar_one_or_none()


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = find_user(username)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def set_password(user: User, password: str) -> None:
    """Hash and store a password with the configured method."""
    user.set_password(password, method=current_app.config["CRM_PASSWORD_HASH_METHOD"])


def update_settings(user: User, locale: str, new_password: str | None) -> None:
    """Change language and, when given, password."""
    user.locale = locale
    if new_password:
        set_password(user, new_password)
    db.session.flush()


def create_user(username: str, display_name: str, password: str, role: str, email: str = "",
                team: Team | None = None, outlet: Outlet | None = None, locale: str = "zh_CN") -> User:
    """Add a user with a hashed password."""
    user = User(username=username.strip(), display_name=display_name, email=email, role=role,
                team=team, outlet=outlet, locale=locale, active=True)
    set_password(user, password)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, actor: User, new_password: str | None = None, **fields) -> None:
    """Change an account (role, team, status...); the change is audited, a password reset noted."""
    before = f"{user.role}/{user.team_id}/{user.active}"
    for name, value in fields.items():
        setattr(user, name, value)
    if new_password:
        set_password(user, new_password)
    audit.record(actor, "user.update", "user", user.id,
                 detail=f"{before} → {user.role}/{user.team_id}/{user.active}"
                 + ("; password reset" if new_password else ""))
    db.session.flush()


def username_taken(username: str, except_id: int | None = None) -> bool:
    """Whether another user already has this username (case-insensitive)."""
    found = find_user(username)
    return found is not None and found.id != except_id


def all_teams() -> list[Team]:
    """Teams by name."""
    return list(db.session.execute(sa.select(Team).order_by(Team.name)).scalars())


def all_outlets(active_only: bool = False) -> list[Outlet]:
    """Outlets by bank and branch."""
    query = sa.select(Outlet).order_by(Outlet.bank, Outlet.branch)
    if active_only:
        query = query.where(Outlet.active.is_(True))
    return list(db.session.execute(query).scalars())
