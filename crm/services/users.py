"""Accounts: authentication, settings, and the admin's user, team and outlet management."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from crm.domain.passwords import password_problems
from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.models import Outlet, Team, User, utcnow
from crm.services import audit, sessions

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


def change_password(user: User, password: str, actor: User | None) -> None:
    """A new password, audited; one set by someone else (an admin's reset) must be replaced at next sign-in.

    The user's own choice clears "must change"; an admin's reset sets it, so only the user knows
    the password they go on with.
    """
    set_password(user, password)
    by_admin = actor is not None and actor.id != user.id
    user.password_change_required = by_admin
    user.password_changed_at = utcnow()
    audit.record(actor, "auth.password_changed", "user", user.id,
                 params={"username": user.username, "by_admin": by_admin})


def require_change_if_weak(user: User, password: str) -> str | None:
    """At sign-in: a password that no longer meets the rules must be changed. Why a change is due:
    "rules" (this password breaks them), "set-by-admin" (it was set by someone else), or None."""
    if password_problems(password, user.username, user.display_name):
        user.password_change_required = True
        return "rules"
    return "set-by-admin" if user.password_change_required else None


def update_settings(user: User, locale: str, new_password: str | None) -> None:
    """Change language and, when given, password (the user's own choice)."""
    user.locale = locale
    if new_password:
        change_password(user, new_password, actor=user)
        # Every other device is signed out; this one goes on under a new key (an old copied cookie stops).
        sessions.end_all(user, "password-change", user, keep=sessions.current(), record_none=False)
        sessions.rotate_current()
    db.session.flush()


def create_user(username: str, display_name: str, password: str, role: str, email: str = "",
                team: Team | None = None, outlet: Outlet | None = None, locale: str = "zh_CN",
                actor: User | None = None, audited: bool = True) -> User:
    """Add a user with a hashed password; audited (actor None: the command line), with the team joined.

    A password an admin chose on the admin page must be replaced at first sign-in, as after a reset.
    """
    user = User(username=username.strip(), display_name=display_name, email=email, role=role,
                team=team, outlet=outlet, locale=locale, active=True, password_change_required=actor is not None)
    set_password(user, password)
    db.session.add(user)
    db.session.flush()
    if audited:
        audit.record(actor, "user.create", "user", user.id, params={"username": user.username, "role": user.role})
        if team is not None:
            audit.record(actor, "team.join", "team", team.id, params={"user": user.display_name, "team": team.name})
    return user


def update_user(user: User, actor: User, new_password: str | None = None, **fields) -> None:
    """Change an account (role, team, status...); the change is audited, a password reset noted."""
    old_team = user.team
    changed = [name for name, value in fields.items() if getattr(user, name) != value]
    if "active" in changed:
        changed[changed.index("active")] = "reactivated" if fields["active"] else "deactivated"
    for name, value in fields.items():
        setattr(user, name, value)
    if new_password:
        change_password(user, new_password, actor)
        changed.append("password")
    db.session.flush()
    if new_password or "deactivated" in changed:
        # A reset or a deactivation signs the user out everywhere (an admin resetting their own
        # password stays signed in on this device, under a new key).
        own = actor is not None and actor.id == user.id
        sessions.end_all(user, "deactivated" if "deactivated" in changed else "password-reset", actor,
                         keep=sessions.current() if own else None, record_none=False)
        if own:
            sessions.rotate_current()
    new_team = db.session.get(Team, user.team_id) if user.team_id else None
    audit.record(actor, "user.update", "user", user.id, params={
        "username": user.username, "changes": changed, "role": user.role,
        "team": new_team.name if new_team else "", "active": bool(user.active)})
    if old_team is not None and old_team != new_team:
        audit.record(actor, "team.leave", "team", old_team.id, params={"user": user.display_name, "team": old_team.name})
    if new_team is not None and old_team != new_team:
        audit.record(actor, "team.join", "team", new_team.id, params={"user": user.display_name, "team": new_team.name})
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


class NameTaken(RuleError):
    """Another team (or outlet) already has this name: `code` says which, `field` where it was typed."""


def create_team(actor: User | None, name: str) -> Team:
    """Add a team; audited (actor None: the command line)."""
    name = name.strip()
    if db.session.execute(sa.select(Team.id).where(Team.name == name)).first():
        raise NameTaken("users.team_name_taken", "name", name=name)
    team = Team(name=name)
    db.session.add(team)
    db.session.flush()
    audit.record(actor, "team.create", "team", team.id, params={"name": name})
    return team


def rename_team(team: Team, actor: User | None, name: str) -> None:
    """Rename a team; audited."""
    name = name.strip()
    if db.session.execute(sa.select(Team.id).where(Team.name == name, Team.id != team.id)).first():
        raise NameTaken("users.team_name_taken", "name", name=name)
    if team.name != name:
        audit.record(actor, "team.rename", "team", team.id, params={"from": team.name, "to": name})
        team.name = name
    db.session.flush()


def _outlet_taken(bank: str, branch: str, except_id: int | None) -> bool:
    query = sa.select(Outlet.id).where(Outlet.bank == bank, Outlet.branch == branch)
    if except_id is not None:
        query = query.where(Outlet.id != except_id)
    return db.session.execute(query).first() is not None


def create_outlet(actor: User | None, bank: str, branch: str, city: str, active: bool = True) -> Outlet:
    """Add a bank outlet; audited (actor None: the command line)."""
    bank, branch, city = bank.strip(), branch.strip(), city.strip()
    if _outlet_taken(bank, branch, None):
        raise NameTaken("users.outlet_taken", "branch", name=f"{bank} {branch}")
    outlet = Outlet(bank=bank, branch=branch, city=city, active=active)
    db.session.add(outlet)
    db.session.flush()
    audit.record(actor, "outlet.create", "outlet", outlet.id, params={"name": outlet.label, "city": city})
    return outlet


def update_outlet(outlet: Outlet, actor: User | None, bank: str, branch: str, city: str, active: bool) -> None:
    """Change an outlet or take it out of use (deactivate); audited with what changed."""
    if _outlet_taken(bank, branch, outlet.id):
        raise NameTaken("users.outlet_taken", "branch", name=f"{bank} {branch}")
    changes = [name for name, value in (("bank", bank), ("branch", branch), ("city", city))
               if getattr(outlet, name) != value]
    if outlet.active != active:
        changes.append("put_in_use" if active else "taken_out_of_use")
    outlet.bank, outlet.branch, outlet.city, outlet.active = bank, branch, city, active
    if changes:
        audit.record(actor, "outlet.update", "outlet", outlet.id, params={"name": outlet.label, "changes": changes})
    db.session.flush()
