"""The one visibility rule: a manager sees their own clients, a lead their team's, an admin all."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from crm.extensions import db
from crm.models import Client, Role, User, VisitLog


def team_member_ids(user: User) -> sa.Select:
    """Ids of the users in this user's team, as a subquery."""
    return sa.select(User.id).where(User.team_id == user.team_id)


def client_visibility(user: User) -> sa.ColumnElement[bool]:
    """SQL condition that keeps only the clients this user may see."""
    if user.role == Role.ADMIN:
        return sa.true()
    if user.role == Role.LEAD and user.team_id is not None:
        return Client.owner_id.in_(team_member_ids(user))
    return Client.owner_id == user.id


def can_see_client(user: User, client: Client) -> bool:
    """Tell whether the user may see this client, by the same rule as the SQL condition."""
    if user.role == Role.ADMIN:
        return True
    if client.owner_id == user.id:
        return True
    return (
        user.role == Role.LEAD
        and user.team_id is not None
        and client.owner is not None
        and client.owner.team_id == user.team_id
    )


def get_client_or_404(client_id: int, user: User) -> Client:
    """Load a client the user may see; anything else is a 404, never a 403 that confirms it exists."""
    client = db.session.execute(
        sa.select(Client).where(Client.id == client_id, client_visibility(user))
    ).scalar_one_or_none()
    if client is None:
        abort(404)
    return client


def get_visit_or_404(visit_id: int, user: User) -> VisitLog:
    """Load a visit log whose client the user may see, else 404."""
    visit = db.session.execute(
        sa.select(VisitLog).join(Client).where(VisitLog.id == visit_id, client_visibility(user))
    ).scalar_one_or_none()
    if visit is None:
        abort(404)
    return visit


def assignable_owners(user: User) -> list[User]:
    """Managers and leads to whom this user may hand a client."""
    query = sa.select(User).where(User.active.is_(True), User.role.in_([Role.MANAGER, Role.LEAD]))
    if user.role != Role.ADMIN:
        query = query.where(User.team_id == user.team_id)
    return list(db.session.execute(query.order_by(User.display_name)).scalars())
