"""Client workflows: capture a prospect, edit without lost updates, move stages, log visits, search."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale, gettext
from sqlalchemy import orm as so

from crm.domain.formats import parse_id
from crm.domain.pinyin import name_initials, name_pinyin
from crm.domain.refusals import Conflict, RuleError
from crm.extensions import db
from crm.models import (
    AuditEvent,
    Client,
    FollowUp,
    OwnerChange,
    ServicePlan,
    Stage,
    StageChange,
    TierChange,
    User,
    VisitLog,
    VisitOutcome,
    utcnow,
)
from crm.models.followup import OPEN_FOLLOWUP_STATES
from crm.services import audit, followups, referrals
from crm.services.access import client_visibility
from crm.services.links import path_for
from crm.services.pool import events_of, leave_pool_on_reassign
from crm.services.search import matches

# Fields a manager may edit on the client file; the conflict check compares exactly these.
EDITABLE_FIELDS = (
    "name", "mobile", "id_number", "gender", "age_band", "source_channel",
    "referrer_client_id", "referrer_partner_id",  # chosen (crm.services.referrals); the legacy text is read-only
    "outlet_id", "interests", "consent_contact", "consent_channel",
)
_REFERRER_FIELDS = {"referrer_client_id", "referrer_partner_id"}


class DuplicateMobile(RuleError):
    """The mobile number is already on file (撞单); `client` is the one holding it.

    What the person is told depends on who they are (`crm.services.capture_clash.refusal`).
    """

    def __init__(self, client: Client):
        super().__init__("clients.mobile_on_file", "mobile")
        self.client = client


class DuplicateIdNumber(RuleError):
    """The ID number is already on another client's file."""

    def __init__(self):
        super().__init__("clients.id_number_taken", "id_number")


class EditConflict(Conflict):
    """Someone else saved the client since it was loaded and changed fields this edit also changed."""

    def __init__(self, changes: list[FieldChange], current_version: int, current_values: dict[str, Any],
                 updated_by: str, updated_at: datetime | None):
        super().__init__("clients.edited_meanwhile")
        self.changes = changes
        self.current_version = current_version
        self.current_values = current_values
        self.updated_by = updated_by
        self.updated_at = updated_at


@dataclass
class FieldChange:
    """One field someone else changed: what it was when loaded, what it is now, what this edit wants."""

    name: str
    loaded: Any
    theirs: Any
    mine: Any = None


@dataclass
class EditResult:
    """What an edit did: the fields saved and the fields another person had changed meanwhile."""

    saved: list[str] = field(default_factory=list)
    merged_from_others: list[str] = field(default_factory=list)


def snapshot(client: Client) -> dict[str, Any]:
    """The editable fields of a client as plain values, for conflict detection."""
    return {name: getattr(client, name) for name in EDITABLE_FIELDS}


def set_name(client: Client, name: str) -> None:
    """Set the name and the pinyin keys the search uses."""
    client.name = name
    client.name_initials = name_initials(name)
    client.name_pinyin = name_pinyin(name)


def set_mobile(client: Client, mobile: str) -> None:
    """Set the normalized mobile and its reversed search key."""
    client.mobile = mobile
    client.mobile_reversed = mobile[::-1]


def find_by_mobile(mobile: str) -> Client | None:
    """The client holding this normalized mobile number, whoever owns it."""
    return db.session.execute(sa.select(Client).where(Client.mobile == mobile)).scalar_one_or_none()


def capture_prospect(actor: User, data: dict[str, Any]) -> Client:
    """Create a prospect owned by the actor, or raise DuplicateMobile if the number is on file.

    A referrer's ids come resolved through the actor's visibility (`referrals.resolve`, in the form); a
    chosen referrer sets the source channel when it was left at walk-in.
    """
    existing = find_by_mobile(data["mobile"])
    if existing is not None:
        raise DuplicateMobile(existing)
    if data.get("id_number") and _id_number_taken(data["id_number"], None):
        raise DuplicateIdNumber()
    now = utcnow()
    client = Client(owner_id=actor.id, created_by_id=actor.id, updated_by_id=actor.id,
                    created_at=now, updated_at=now, last_activity_at=now, protection_started_at=now,
                    stage=Stage.PROSPECT.value)
    set_name(client, data["name"])
    set_mobile(client, data["mobile"])
    for name in EDITABLE_FIELDS:
        if name not in ("name", "mobile") and name in data:
            setattr(client, name, data[name])
    if client.consent_contact:
        client.consent_at = now
    referrals.attribute_channel(client)
    db.session.add(client)
    db.session.flush()
    db.session.add(StageChange(client_id=client.id, from_stage=None, to_stage=Stage.PROSPECT.value,
                               changed_by_id=actor.id, changed_at=now))
    return client


def _id_number_taken(id_number: str, except_client_id: int | None) -> bool:
    query = sa.select(Client.id).where(Client.id_number == id_number)
    if except_client_id is not None:
        query = query.where(Client.id != except_client_id)
    return db.session.execute(query).first() is not None


def edit_client(client: Client, actor: User, wanted: dict[str, Any], loaded: dict[str, Any],
                loaded_version: int) -> EditResult:
    """Save the actor's changes unless they collide with changes saved by someone else meanwhile.

    `loaded` holds the values the actor's form was built from. Fields the actor did not touch
    keep whatever the other person saved; fields both changed raise EditConflict.
    """
    current = snapshot(client)
    mine = {k: v for k, v in wanted.items() if k in EDITABLE_FIELDS and v != loaded.get(k)}
    theirs = {k: v for k, v in current.items() if k in loaded and v != loaded[k]}
    if client.version != loaded_version:
        clashes = [FieldChange(k, loaded[k], theirs[k], mine[k])
                   for k in mine if k in theirs and theirs[k] != mine[k]]
        if clashes:
            raise EditConflict(clashes, client.version, current,
                               client.updated_by.display_name if client.updated_by else "",
                               client.updated_at)
    if "mobile" in mine:
        other = find_by_mobile(mine["mobile"])
        if other is not None and other.id != client.id:
            raise DuplicateMobile(other)
    if mine.get("id_number") and _id_number_taken(mine["id_number"], client.id):
        raise DuplicateIdNumber()
    for name, value in mine.items():
        if name == "name":
            set_name(client, value)
        elif name == "mobile":
            set_mobile(client, value)
        else:
            setattr(client, name, value)
    if mine.get("consent_contact"):
        client.consent_at = utcnow()
    if _REFERRER_FIELDS & mine.keys():
        referrals.attribute_channel(client)
    if mine:
        client.updated_by_id = actor.id
        client.updated_at = utcnow()
    db.session.flush()
    return EditResult(saved=sorted(mine), merged_from_others=sorted(k for k in theirs if k not in mine))


def change_stage(client: Client, actor: User, to_stage: Stage, note: str = "",
                 at: datetime | None = None) -> StageChange | None:
    """Move a client to a lifecycle stage and keep the change; no-op when already there."""
    if client.stage == to_stage.value:
        return None
    at = at or utcnow()
    change = StageChange(client_id=client.id, from_stage=client.stage, to_stage=to_stage.value,
                         changed_by_id=actor.id, changed_at=at, note=note[:200])
    client.stage = to_stage.value
    if to_stage == Stage.ACCOUNT_OPENED and client.account_opened_at is None:
        client.account_opened_at = at
        followups.callback_for_new_account(client, actor, at)
    client.last_activity_at = max(client.last_activity_at, at)
    client.updated_by_id = actor.id
    client.updated_at = utcnow()
    db.session.add(change)
    db.session.flush()
    return change


def log_visit(client: Client, actor: User, data: dict[str, Any], completes=None) -> VisitLog:
    """Record a contact, update the client's last contact, and mark a reached prospect contacted.

    A next-contact date becomes a follow-up; `completes` is the follow-up this contact carried out.
    """
    visit = VisitLog(client_id=client.id, author_id=actor.id, **data)
    db.session.add(visit)
    if client.last_contact_at is None or visit.occurred_at >= client.last_contact_at:
        client.last_contact_at = visit.occurred_at
        # The latest contact says whether the client still intends to leave.
        client.last_intent = visit.intent
    if visit.satisfaction is not None:
        client.last_satisfaction = visit.satisfaction
    client.last_activity_at = max(client.last_activity_at, visit.occurred_at, utcnow())
    if client.stage == Stage.PROSPECT and visit.outcome != VisitOutcome.UNREACHABLE:
        change_stage(client, actor, Stage.CONTACTED, at=visit.occurred_at)
    db.session.flush()
    visit.client = client
    followups.from_visit(visit, actor)
    if completes is not None:
        followups.complete(completes, visit)
    return visit


@dataclass
class TimelineEntry:
    """One line of the client's timeline."""

    at: datetime
    kind: str  # "visit", "stage", "tier", "owner", "handover", "plan_start", "plan_end" or "pool"
    item: Any


def timeline(client: Client, limit: int = 100) -> list[TimelineEntry]:
    """Visits, stage, tier and owner changes, follow-ups handed over, plans started and ended, pool releases,
    claims, assignments and extensions, newest first (seven queries, merged in memory). Hand-overs come from the audit trail's structured parameters."""
    visits = db.session.execute(
        sa.select(VisitLog).options(so.joinedload(VisitLog.author))
        .where(VisitLog.client_id == client.id)
        .order_by(VisitLog.occurred_at.desc(), VisitLog.id.desc()).limit(limit)
    ).scalars()
    stages = db.session.execute(
        sa.select(StageChange).options(so.joinedload(StageChange.changed_by))
        .where(StageChange.client_id == client.id)
        .order_by(StageChange.changed_at.desc(), StageChange.id.desc()).limit(limit)
    ).scalars()
    tiers = db.session.execute(
        sa.select(TierChange).options(so.joinedload(TierChange.from_tier), so.joinedload(TierChange.to_tier))
        .where(TierChange.client_id == client.id)
        .order_by(TierChange.changed_at.desc(), TierChange.id.desc()).limit(limit)
    ).scalars()
    owners = db.session.execute(
        sa.select(OwnerChange).options(so.joinedload(OwnerChange.from_owner), so.joinedload(OwnerChange.to_owner),
                                       so.joinedload(OwnerChange.changed_by))
        .where(OwnerChange.client_id == client.id)
        .order_by(OwnerChange.changed_at.desc(), OwnerChange.id.desc()).limit(limit)
    ).scalars()
    handovers = db.session.execute(
        sa.select(AuditEvent).options(so.joinedload(AuditEvent.actor))
        .where(AuditEvent.client_id == client.id, AuditEvent.action == "followup.assign",
               AuditEvent.params.is_not(None))
        .order_by(AuditEvent.id.desc()).limit(limit)
    ).scalars()
    service_plans = db.session.execute(
        sa.select(ServicePlan).options(so.joinedload(ServicePlan.template), so.joinedload(ServicePlan.created_by))
        .where(ServicePlan.client_id == client.id).order_by(ServicePlan.id.desc()).limit(limit)
    ).scalars().all()
    entries = [TimelineEntry(v.occurred_at, "visit", v) for v in visits]
    entries += [TimelineEntry(s.changed_at, "stage", s) for s in stages]
    entries += [TimelineEntry(t.changed_at, "tier", t) for t in tiers]
    entries += [TimelineEntry(o.changed_at, "owner", o) for o in owners]
    entries += [TimelineEntry(h.at, "handover", h) for h in handovers]
    entries += [TimelineEntry(p.created_at, "plan_start", p) for p in service_plans]
    entries += [TimelineEntry(p.ended_at, "plan_end", p) for p in service_plans if p.ended_at is not None]
    entries += [TimelineEntry(e.at, "pool", e) for e in events_of(client.id, limit)]
    entries.sort(key=lambda e: (e.at, e.kind == "visit"), reverse=True)
    return entries[:limit]


@dataclass
class ClientPage:
    """One page of a client list, with the cursor of the next page if there is one."""

    clients: list[Client]
    next_cursor: str | None


def _parse_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """The "<activity time>_<id>" of the last client shown; None when malformed (a naive time, an id no
    column can hold), so a doctored cursor shows the first page instead of a server error."""
    if not cursor:
        return None
    stamp, _, ident = cursor.partition("_")
    try:
        at = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    client_id = parse_id(ident)
    if at.tzinfo is None or client_id is None:
        return None
    return at, client_id


def search_clients(user: User, q: str = "", stage: str | None = None, outlet_id: int | None = None,
                   cursor: str | None = None, limit: int = 20) -> ClientPage:
    """The user's visible clients, most recent activity first, filtered and keyset-paginated.

    `q` matches the start of the pinyin initials or full pinyin (letters), the last digits of the
    mobile (digits) or part of the name (anything else).
    """
    query = (sa.select(Client).options(so.joinedload(Client.outlet), so.joinedload(Client.owner))
             .where(client_visibility(user)))
    found = matches(Client, q)
    if found is not None:
        query = query.where(found)
    if stage:
        query = query.where(Client.stage == stage)
    if outlet_id:
        query = query.where(Client.outlet_id == outlet_id)
    after = _parse_cursor(cursor)
    if after is not None:
        stamp, ident = after
        # A row comparison is an index bound, not a filter over every skipped row.
        query = query.where(sa.tuple_(Client.last_activity_at, Client.id) < (stamp, ident))
    query = query.order_by(Client.last_activity_at.desc(), Client.id.desc()).limit(limit + 1)
    rows = list(db.session.execute(query).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = f"{last.last_activity_at.isoformat()}_{last.id}"
    return ClientPage(rows, next_cursor)


def reassign(client: Client, actor: User, new_owner: User, reason: str) -> OwnerChange | None:
    """Hand a client (and the previous owner's open follow-ups on it) to another owner; kept on the
    timeline, audited, notified. A third person's open follow-ups stay with them (and so does their access).
    It restarts the protection period and takes a pooled prospect out of the team pool."""
    if new_owner.id == client.owner_id and client.pool_team_id is None:
        return None
    previous = client.owner
    moved = db.session.execute(sa.update(FollowUp).where(
        FollowUp.client_id == client.id, FollowUp.assignee_id == previous.id,
        FollowUp.status.in_(OPEN_FOLLOWUP_STATES)
    ).values(assignee_id=new_owner.id,
             # The new owner gets the reminders of work still ahead.
             reminded_at=sa.case((FollowUp.due_at > utcnow(), None), else_=FollowUp.reminded_at))
     .execution_options(synchronize_session="fetch")).rowcount
    change = OwnerChange(client_id=client.id, from_owner_id=previous.id, to_owner_id=new_owner.id,
                         changed_by_id=actor.id, changed_at=utcnow(), reason=reason[:200],
                         followups_moved=moved or 0)
    db.session.add(change)
    leave_pool_on_reassign(client, actor, new_owner, utcnow())
    client.owner_id = new_owner.id
    client.owner = new_owner
    client.updated_by_id = actor.id
    client.updated_at = utcnow()
    audit.record(actor, "client.reassign", "client", client.id,
                 params={"from": previous.display_name, "to": new_owner.display_name, "reason": reason})
    with force_locale(new_owner.locale or "zh_CN"):
        text = gettext("%(client)s is now your client", client=client.name)
    followups.notify(new_owner, text, path_for("clients.show", client_id=client.id),
                     email_template="client_reassigned", dedupe_key=f"reassign:{client.id}:{client.version}",
                     client=client, actor=actor, reason=reason)
    db.session.flush()
    return change
