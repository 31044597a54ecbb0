"""The team pool (公海) and protection periods (保护期): release, claim, a lead's assignment and extension.

- `release_lapsed(now)` (the `release-prospects` job): every prospect whose protection lapsed
  (`crm.domain.protection`) goes to its owner's team pool in batched conditional UPDATEs; the former
  owner's open follow-ups on it are cancelled and the owner is told once per run how many left.
  A second run at the same instant releases nothing: a pooled prospect is no longer selected.
- `claim` / `assign`: one conditional UPDATE on (id, pool team): of two claims at once exactly one
  changes the row (rowcount 1) and wins; the other is told `pool.already_claimed`.
- `extend`: a lead protects a prospect of the team until a date within 90 days.
Every release, claim, assignment and extension is a PoolEvent (the client's timeline) and an audit row.
Services flush; the route or the job commits.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import force_locale, gettext
from sqlalchemy import orm as so

from crm.domain import protection
from crm.domain.clock import SHANGHAI
from crm.domain.refusals import NotAllowed, NotFound, RuleError
from crm.extensions import db
from crm.models import (
    Client,
    FollowUp,
    FollowUpStatus,
    PoolEvent,
    PoolEventKind,
    PoolReleaseReason,
    Role,
    User,
    utcnow,
)
from crm.models.followup import OPEN_FOLLOWUP_STATES
from crm.services import access, audit, followups, settings
from crm.services.links import path_for

BATCH = 500  # prospects released per UPDATE


@dataclass
class ReleaseReport:
    """What one release run did."""

    released: int = 0
    followups_cancelled: int = 0
    owners_told: int = 0

    def __str__(self) -> str:
        return (f"released {self.released} prospects to their team pools, cancelled {self.followups_cancelled} "
                f"follow-ups, told {self.owners_told} former owners")


# ---------------------------------------------------------------- the rule as a query

def lapsed_condition(now: datetime, days: int) -> sa.ColumnElement[bool]:
    """SQL for `protection.lapsed` at `now`, plus: not in a pool yet, and the owner has a team."""
    cutoff = protection.release_cutoff(now, days)
    owner_has_team = sa.select(User.id).where(User.id == Client.owner_id, User.team_id.is_not(None)).exists()
    return sa.and_(
        Client.stage.in_(protection.RELEASABLE_STAGES),
        Client.account_opened_at.is_(None),
        Client.pool_team_id.is_(None),
        sa.func.coalesce(Client.protection_started_at, Client.created_at) <= cutoff,
        sa.or_(Client.last_contact_at.is_(None), Client.last_contact_at <= cutoff),
        sa.or_(Client.protected_until.is_(None), Client.protected_until <= now),
        owner_has_team,
    )


def protection_end(client: Client, now: datetime | None = None) -> datetime | None:
    """When the client's protection ends, for a prospect that can lapse; None otherwise (or when in a pool)."""
    if (client.stage not in protection.RELEASABLE_STAGES or client.account_opened_at is not None
            or client.pool_team_id is not None):
        return None
    return protection.protected_until(client.protection_started_at, client.created_at, client.last_contact_at,
                                      client.protected_until, settings.get_int("protection_days"))


# ---------------------------------------------------------------- release (the scheduler)

def release_lapsed(now: datetime | None = None) -> ReleaseReport:
    """Release every lapsed prospect to its owner's team pool; idempotent. Flushes; the job commits."""
    now = now or utcnow()
    db.session.flush()
    condition = lapsed_condition(now, settings.get_int("protection_days"))
    team_of_owner = sa.select(User.team_id).where(User.id == Client.owner_id).scalar_subquery()
    report = ReleaseReport()
    per_owner: Counter[int] = Counter()
    while True:
        batch = sa.select(Client.id).where(condition).order_by(Client.id).limit(BATCH)
        rows = db.session.execute(
            sa.update(Client).where(Client.id.in_(batch.scalar_subquery()))
            .values(pool_team_id=team_of_owner, pooled_at=now, version=Client.version + 1)
            .returning(Client.id, Client.owner_id, Client.pool_team_id, Client.name)
            .execution_options(synchronize_session=False)
        ).all()
        if not rows:
            break
        report.followups_cancelled += _cancel_owners_followups([r.id for r in rows])
        names = dict(db.session.execute(
            sa.select(User.id, User.display_name).where(User.id.in_({r.owner_id for r in rows}))).all())
        db.session.execute(sa.insert(PoolEvent), [
            {"client_id": r.id, "kind": PoolEventKind.RELEASE.value, "team_id": r.pool_team_id,
             "from_user_id": r.owner_id, "reason": PoolReleaseReason.NOT_CONTACTED.value, "at": now, "note": ""}
            for r in rows])
        for r in rows:
            audit.record(None, "pool.release", "client", r.id,
                         params={"release_reason": PoolReleaseReason.NOT_CONTACTED.value, "from": names.get(r.owner_id, "")})
            per_owner[r.owner_id] += 1
        report.released += len(rows)
        db.session.flush()
    _tell_former_owners(per_owner)
    report.owners_told = len(per_owner)
    db.session.expire_all()  # the UPDATEs bypassed the identity map
    return report


def _cancel_owners_followups(client_ids: list[int]) -> int:
    """Cancel the former owner's open follow-ups on these released prospects (one UPDATE)."""
    owner = sa.select(Client.owner_id).where(Client.id == FollowUp.client_id).scalar_subquery()
    return db.session.execute(
        sa.update(FollowUp).where(FollowUp.client_id.in_(client_ids), FollowUp.assignee_id == owner,
                                  FollowUp.status.in_(OPEN_FOLLOWUP_STATES))
        .values(status=FollowUpStatus.CANCELLED.value, version=FollowUp.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount or 0


def _tell_former_owners(per_owner: Counter[int]) -> None:
    """One notification per former owner: how many of their prospects went to the team pool."""
    if not per_owner:
        return
    owners = db.session.execute(sa.select(User).where(User.id.in_(list(per_owner)))).scalars()
    link = path_for("pool.index")
    for owner in owners:
        count = per_owner[owner.id]
        with force_locale(owner.locale or "zh_CN"):
            text = gettext("Prospects of yours with no contact within the protection period went to the "
                           "team pool: %(count)s", count=count)
        followups.notify(owner, text, link)


# ---------------------------------------------------------------- the pool page

def pool_query(user: User, team_id: int | None = None) -> sa.Select:
    """The pooled prospects the user may see (an admin may narrow to one team), newest release first."""
    query = (sa.select(Client).options(so.joinedload(Client.outlet), so.joinedload(Client.owner),
                                       so.joinedload(Client.pool_team))
             .where(access.pool_visibility(user)))
    if team_id is not None and user.role == Role.ADMIN:
        query = query.where(Client.pool_team_id == team_id)
    return query.order_by(Client.pooled_at.desc(), Client.id.desc())


def pool_clients(user: User, team_id: int | None = None, limit: int = 100) -> list[Client]:
    """A page of the pool."""
    return list(db.session.execute(pool_query(user, team_id).limit(limit)).scalars())


def pool_count(user: User) -> int:
    """How many prospects wait in the user's pool (the lead's Today and Team summary)."""
    return db.session.execute(
        sa.select(sa.func.count()).select_from(Client).where(access.pool_visibility(user))).scalar_one()


# ---------------------------------------------------------------- claim and assign

def _take(client_id: int, team_id: int, new_owner: User, actor: User, kind: PoolEventKind,
          now: datetime) -> Client:
    """Give a pooled prospect to `new_owner` if it is still in `team_id`'s pool: exactly one taker wins."""
    former = db.session.execute(sa.select(Client.owner_id).where(Client.id == client_id)).scalar_one_or_none()
    won = db.session.execute(
        sa.update(Client).where(Client.id == client_id, Client.pool_team_id == team_id)
        .values(owner_id=new_owner.id, pool_team_id=None, pooled_at=None, protection_started_at=now,
                protected_until=None, updated_at=now, updated_by_id=actor.id, version=Client.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise RuleError("pool.already_claimed")
    db.session.add(PoolEvent(client_id=client_id, kind=kind.value, team_id=team_id, from_user_id=former,
                             to_user_id=new_owner.id, actor_id=actor.id, at=now))
    client = db.session.get(Client, client_id)
    db.session.refresh(client)  # the UPDATE bypassed the identity map
    return client


def _was_in_pool_of(client_id: int, team_id: int | None) -> bool:
    return team_id is not None and db.session.execute(
        sa.select(PoolEvent.id).where(PoolEvent.client_id == client_id, PoolEvent.team_id == team_id,
                                      PoolEvent.kind == PoolEventKind.RELEASE.value).limit(1)).first() is not None


def claim(client_id: int, user: User, now: datetime | None = None) -> Client:
    """A manager (or lead) of the team takes a pooled prospect; a second claimer gets `pool.already_claimed`."""
    now = now or utcnow()
    if user.role not in (Role.MANAGER, Role.LEAD):
        # Compliance sees every pool but owns no prospects.
        access.find_pool_client(client_id, user)
        raise NotAllowed("client")
    if user.team_id is None:
        raise NotFound("client")
    try:
        client = _take(client_id, user.team_id, user, user, PoolEventKind.CLAIM, now)
    except RuleError:
        if _was_in_pool_of(client_id, user.team_id):
            raise
        raise NotFound("client") from None
    audit.record(user, "pool.claim", "client", client.id, params={"to": user.display_name})
    db.session.flush()
    return client


def assign(client_id: int, lead: User, manager: User, now: datetime | None = None) -> Client:
    """A lead gives a pooled prospect of the team to one of its managers (an admin: to anyone); notified."""
    now = now or utcnow()
    pooled = access.find_pool_client(client_id, lead)
    if lead.role not in (Role.LEAD, Role.ADMIN):
        raise NotAllowed("client")
    if (not manager.active or manager.role not in (Role.MANAGER, Role.LEAD)
            or (lead.role == Role.LEAD and manager.team_id != lead.team_id)):
        raise RuleError("pool.not_assignable", "manager_id")
    client = _take(pooled.id, pooled.pool_team_id, manager, lead, PoolEventKind.ASSIGN, now)
    audit.record(lead, "pool.assign", "client", client.id, params={"to": manager.display_name})
    with force_locale(manager.locale or "zh_CN"):
        text = gettext("%(client)s from the team pool is now your client", client=client.name)
    followups.notify(manager, text, path_for("clients.show", client_id=client.id))
    db.session.flush()
    return client


def claim_on_capture(actor: User, client: Client, now: datetime | None = None) -> bool:
    """A manager of the team typing a pooled prospect's mobile claims it (True) instead of a clash."""
    if (client.pool_team_id is None or actor.team_id != client.pool_team_id
            or actor.role not in (Role.MANAGER, Role.LEAD)):
        return False
    try:
        claim(client.id, actor, now)
    except (RuleError, NotFound):
        return False  # someone claimed it a moment before: the ordinary clash answer follows
    return True


def leave_pool_on_reassign(client: Client, actor: User, new_owner: User, now: datetime) -> None:
    """A lead's reassignment restarts the protection and takes a pooled prospect out of the pool."""
    if client.pool_team_id is not None:
        db.session.add(PoolEvent(client_id=client.id, kind=PoolEventKind.ASSIGN.value, team_id=client.pool_team_id,
                                 from_user_id=client.owner_id, to_user_id=new_owner.id, actor_id=actor.id, at=now))
        client.pool_team_id = None
        client.pooled_at = None
    client.protection_started_at = now
    client.protected_until = None


# ---------------------------------------------------------------- a lead's extension

def extend(client: Client, lead: User, until: datetime, note: str = "", now: datetime | None = None) -> PoolEvent:
    """Protect a prospect of the lead's team until `until` (at most 90 days ahead); audited."""
    now = now or utcnow()
    if lead.role not in (Role.LEAD, Role.ADMIN) or not access.answers_for(lead, client):
        raise NotAllowed("client")
    if client.pool_team_id is not None:
        raise RuleError("pool.extend_pooled")
    if client.stage not in protection.RELEASABLE_STAGES or client.account_opened_at is not None:
        raise RuleError("pool.extend_not_prospect")
    if until <= now:
        raise RuleError("pool.extend_past", "until")
    if until > now + protection.MAX_EXTENSION:
        raise RuleError("pool.extend_too_far", "until", days=protection.MAX_EXTENSION.days)
    client.protected_until = until
    event = PoolEvent(client_id=client.id, kind=PoolEventKind.EXTEND.value, team_id=client.owner.team_id,
                      to_user_id=client.owner_id, actor_id=lead.id, until=until, note=note[:200], at=now)
    db.session.add(event)
    audit.record(lead, "pool.extend", "client", client.id,
                 params={"until": until.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"), "note": note[:200]})
    db.session.flush()
    return event


def events_of(client_id: int, limit: int = 100) -> list[PoolEvent]:
    """The client's releases, claims, assignments and extensions, newest first (the timeline)."""
    return list(db.session.execute(
        sa.select(PoolEvent).options(so.joinedload(PoolEvent.from_user), so.joinedload(PoolEvent.to_user),
                                     so.joinedload(PoolEvent.actor))
        .where(PoolEvent.client_id == client_id).order_by(PoolEvent.at.desc(), PoolEvent.id.desc()).limit(limit)
    ).scalars())
