"""Who may see what, for every kind of record, side by side (the rules and their reasons: docs/access.md).

- clients (`client_visibility`): a manager their own, a lead their team's, an admin all; anyone also the
  clients on which they hold an open or snoozed follow-up. `client_book` is the same without those
  follow-ups: the clients one answers for (book lists, plans, who may change a client).
- visit logs: those of the clients one sees (`find_visit`).
- complaints (`complaint_visibility`): the ones a manager created, handles, handled first, or that are about
  their clients; a lead the same for the whole team; an admin all.
- follow-ups (`followup_visibility`): assigned to the manager, to the lead's team, or any for an admin.
- service plans (`plan_visibility`): the plans of the clients in one's book.
- channel partners (`partner_visibility`): like clients' book: a manager their own, a lead their team's,
  an admin all.
- outlet coverage (`coverage_people`): patterns, exceptions and check-ins of oneself for a manager, of
  the team for a lead, of everyone for an admin (only leads and admins plan patterns).
- the team pool (`pool_visibility`): prospects released to the pool of one's own team (masked numbers,
  a card only: claiming one makes it a client of one's own); an admin every team's. A pooled prospect
  has left its former owner's book (`client_book`), though `owner_id` still names them.
- QR cards (`qr_card_visibility`): a manager their own, a lead their team's, an admin all.

Each `find_*` loads one record through its condition and raises NotFound for a record the user has no
business with (never a refusal that would confirm it exists); `crm/routes/loaders.py` turns that into a 404.
"""
from __future__ import annotations

import sqlalchemy as sa

from crm.domain.refusals import NotAllowed, NotFound
from crm.extensions import db
from crm.models import Client, Complaint, FollowUp, Partner, PlanItem, Role, ServicePlan, User, VisitLog
from crm.models.coverage import CoverageException, CoveragePattern
from crm.models.followup import OPEN_FOLLOWUP_STATES
from crm.models.qr import QrCard
from crm.services import dialect


def team_member_ids(user: User) -> sa.Select:
    """Ids of the users in this user's team, as a subquery."""
    return sa.select(User.id).where(User.team_id == user.team_id)


def client_book(user: User) -> sa.ColumnElement[bool]:
    """SQL condition for the clients the user answers for: own, the team's for a lead, all for an admin.

    Lists about a book of clients (statistics, expiring assessments, plans) use this; opening a
    client uses `client_visibility`, which adds the clients of the user's open follow-ups.
    """
    if user.role == Role.ADMIN:
        return sa.true()
    if user.role == Role.LEAD and user.team_id is not None:
        return Client.owner_id.in_(team_member_ids(user))
    # A prospect released to the pool is no longer its former owner's (crm.services.pool).
    return sa.and_(Client.owner_id == user.id, Client.pool_team_id.is_(None))


def assigned_client_ids(user: User) -> sa.Select:
    """Ids of the clients on which the user holds an open or snoozed follow-up (served by
    ix_follow_ups_assignee_status_due), as a subquery."""
    return sa.select(FollowUp.client_id).where(FollowUp.assignee_id == user.id,
                                               FollowUp.status.in_(OPEN_FOLLOWUP_STATES))


def client_visibility(user: User) -> sa.ColumnElement[bool]:
    """SQL condition that keeps only the clients this user may see."""
    if user.role == Role.ADMIN:
        return sa.true()
    assigned = assigned_client_ids(user)
    if dialect.is_postgresql():
        # = ANY(ARRAY(subquery)) is read once before the scan, so the owner's index still serves the
        # list; with `OR id IN (subquery)` PostgreSQL walked every client in activity order instead.
        return sa.or_(client_book(user), Client.id == sa.any_(sa.func.array(assigned.scalar_subquery())))
    return sa.or_(client_book(user), Client.id.in_(assigned))


def answers_for(user: User, client: Client) -> bool:
    """Tell whether the client is in the user's book (owner, the owner's lead, admin): who may change
    the client file, its stage and its owner, and plan new work on it."""
    if user.role == Role.ADMIN or (client.owner_id == user.id and client.pool_team_id is None):
        return True
    return (
        user.role == Role.LEAD
        and user.team_id is not None
        and client.owner is not None
        and client.owner.team_id == user.team_id
    )


def _the_one(query: sa.Select, what: str):
    """The one record the query finds, else NotFound(what)."""
    found = db.session.execute(query).scalar_one_or_none()
    if found is None:
        raise NotFound(what)
    return found


def holds_open_followup(user: User, client: Client) -> bool:
    """Tell whether the user is the assignee of an open or snoozed follow-up on the client."""
    return db.session.execute(
        assigned_client_ids(user).where(FollowUp.client_id == client.id).limit(1)).first() is not None


def can_see_client(user: User, client: Client) -> bool:
    """Tell whether the user may see this client, by the same rule as the SQL condition."""
    return answers_for(user, client) or holds_open_followup(user, client)


def find_client(client_id: int, user: User) -> Client:
    """Load a client the user may see; anything else is NotFound (a 404, never a 403 that confirms it exists)."""
    return _the_one(sa.select(Client).where(Client.id == client_id, client_visibility(user)), "client")


def find_owned_client(client_id: int, user: User) -> Client:
    """Load a client in the user's book; NotFound if unseen, NotAllowed for an assignee, who knows it exists."""
    client = find_client(client_id, user)
    if not answers_for(user, client):
        raise NotAllowed("client")
    return client


def find_visit(visit_id: int, user: User) -> VisitLog:
    """Load a visit log whose client the user may see, else NotFound."""
    return _the_one(sa.select(VisitLog).join(Client).where(VisitLog.id == visit_id, client_visibility(user)),
                    "visit")


def complaint_visibility(user: User) -> sa.ColumnElement[bool]:
    """SQL condition for the complaints the user may see: a manager those they created, handle or handled
    first, or about their clients; a lead their team's (owner, first handler or client owner in the
    team, or created by the lead); an admin all."""
    if user.role == Role.ADMIN:
        return sa.true()
    if user.role == Role.LEAD and user.team_id is not None:
        team = team_member_ids(user)
        return sa.or_(Complaint.owner_id.in_(team), Complaint.first_handler_id.in_(team),
                      Complaint.created_by_id == user.id,
                      Complaint.client_id.in_(sa.select(Client.id).where(Client.owner_id.in_(team))))
    return sa.or_(Complaint.created_by_id == user.id, Complaint.owner_id == user.id,
                  Complaint.first_handler_id == user.id,
                  Complaint.client_id.in_(sa.select(Client.id).where(Client.owner_id == user.id)))


def find_complaint(complaint_id: int, user: User) -> Complaint:
    """Load a complaint the user may see, else NotFound."""
    return _the_one(sa.select(Complaint).where(Complaint.id == complaint_id, complaint_visibility(user)),
                    "complaint")


def followup_visibility(user: User) -> sa.ColumnElement[bool]:
    """SQL condition for the follow-ups the user may see: a manager those assigned to them, a lead their
    team's, an admin all."""
    if user.role == Role.ADMIN:
        return sa.true()
    if user.role == Role.LEAD and user.team_id is not None:
        return FollowUp.assignee_id.in_(team_member_ids(user))
    return FollowUp.assignee_id == user.id


def find_followup(followup_id: int, user: User) -> FollowUp:
    """Load a follow-up the user may see, else NotFound."""
    return _the_one(sa.select(FollowUp).where(FollowUp.id == followup_id, followup_visibility(user)),
                    "followup")


def plan_visibility(user: User) -> sa.ColumnElement[bool]:
    """SQL condition for the service plans the user may see: those of the clients in their book.

    It reads `Client`, so the query joins the plan's client (the plans list does, to sort and show it).
    """
    return client_book(user)


def find_plan_item(plan: ServicePlan, item_id: int) -> PlanItem:
    """Load an item of this plan (whose client the route has loaded already), else NotFound: items of
    other plans are not reachable through this one."""
    item = db.session.get(PlanItem, item_id)
    if item is None or item.plan_id != plan.id:
        raise NotFound("plan_item")
    return item


def partner_visibility(user: User) -> sa.ColumnElement[bool]:
    """SQL condition for the channel partners the user may see: own, the team's for a lead, all for an admin."""
    if user.role == Role.ADMIN:
        return sa.true()
    if user.role == Role.LEAD and user.team_id is not None:
        return Partner.owner_id.in_(team_member_ids(user))
    return Partner.owner_id == user.id


def find_partner(partner_id: int, user: User) -> Partner:
    """Load a partner the user may see, else NotFound."""
    return _the_one(sa.select(Partner).where(Partner.id == partner_id, partner_visibility(user)), "partner")


def pool_visibility(user: User) -> sa.ColumnElement[bool]:
    """SQL condition for the pooled prospects the user may see: their own team's pool; an admin every pool."""
    if user.role == Role.ADMIN:
        return Client.pool_team_id.is_not(None)
    if user.team_id is None:
        return sa.false()
    return Client.pool_team_id == user.team_id


def find_pool_client(client_id: int, user: User) -> Client:
    """Load a prospect in a pool the user may see, else NotFound (also once someone has claimed it)."""
    return _the_one(sa.select(Client).where(Client.id == client_id, pool_visibility(user)), "client")


def coverage_people(user: User) -> sa.ColumnElement[bool]:
    """SQL condition on `User` for whose coverage (patterns, exceptions, check-ins) the user may see and
    plan: a manager their own, a lead their team's, an admin everyone's."""
    if user.role == Role.ADMIN:
        return sa.true()
    if user.role == Role.LEAD and user.team_id is not None:
        return User.team_id == user.team_id
    return User.id == user.id


def find_coverage_pattern(pattern_id: int, user: User) -> CoveragePattern:
    """Load a weekly coverage pattern of someone whose coverage the user may see, else NotFound."""
    return _the_one(sa.select(CoveragePattern).join(User, User.id == CoveragePattern.user_id)
                    .where(CoveragePattern.id == pattern_id, coverage_people(user)), "coverage_pattern")


def find_coverage_exception(exception_id: int, user: User) -> CoverageException:
    """Load a coverage exception (leave, swap) of someone whose coverage the user may see, else NotFound."""
    return _the_one(sa.select(CoverageException).join(User, User.id == CoverageException.user_id)
                    .where(CoverageException.id == exception_id, coverage_people(user)), "coverage_exception")


def qr_card_visibility(user: User) -> sa.ColumnElement[bool]:
    """SQL condition for the QR cards the user may see: own, the team's for a lead, all for an admin."""
    if user.role == Role.ADMIN:
        return sa.true()
    if user.role == Role.LEAD and user.team_id is not None:
        return QrCard.manager_id.in_(team_member_ids(user))
    return QrCard.manager_id == user.id


def find_qr_card(card_id: int, user: User) -> QrCard:
    """Load a QR card the user may see, else NotFound."""
    return _the_one(sa.select(QrCard).where(QrCard.id == card_id, qr_card_visibility(user)), "qr_card")


def assignable_owners(user: User) -> list[User]:
    """Managers and leads to whom this user may hand a client."""
    query = sa.select(User).where(User.active.is_(True), User.role.in_([Role.MANAGER, Role.LEAD]))
    if user.role != Role.ADMIN:
        query = query.where(User.team_id == user.team_id)
    return list(db.session.execute(query.order_by(User.display_name)).scalars())
