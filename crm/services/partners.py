"""Channel partner workflows (渠道伙伴): add one, edit without lost updates, log contacts, search, who is due."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.domain.formats import parse_id
from crm.domain.pinyin import name_initials, name_pinyin
from crm.domain.refusals import Conflict, RuleError
from crm.extensions import db
from crm.models import Partner, PartnerContact, User, utcnow
from crm.services import audit
from crm.services import settings as run_settings
from crm.services.access import partner_visibility
from crm.services.search import matches

# Fields of a partner a manager may edit; the audit names the ones an edit changed.
EDITABLE_FIELDS = ("name", "role", "organisation", "mobile", "outlet_id", "notes", "consent_contact",
                   "cadence_days", "active")
# A contact a few minutes ahead of the server's clock is a phone's clock skew, not the future.
CLOCK_SKEW = timedelta(minutes=5)


class EditConflict(Conflict):
    """Someone saved the partner since the form was loaded: nothing was saved; the current values go back."""

    def __init__(self, partner: Partner):
        super().__init__("partners.edited_meanwhile")
        self.current_version = partner.version
        self.current_values = snapshot(partner)
        self.updated_by = partner.updated_by.display_name if partner.updated_by else ""
        self.updated_at = partner.updated_at


def snapshot(partner: Partner) -> dict[str, Any]:
    """The editable fields of a partner as plain values."""
    return {name: getattr(partner, name) for name in EDITABLE_FIELDS}


def set_name(partner: Partner, name: str) -> None:
    """Set the name and the pinyin keys the search uses."""
    partner.name = name
    partner.name_initials = name_initials(name)
    partner.name_pinyin = name_pinyin(name)


def set_mobile(partner: Partner, mobile: str | None) -> None:
    """Set the normalized mobile (or none) and its reversed search key."""
    partner.mobile = mobile or None
    partner.mobile_reversed = mobile[::-1] if mobile else None


def _check_mobile_free(owner_id: int, mobile: str | None, except_id: int | None) -> None:
    """One manager keeps a person once: the same mobile twice in one owner's partners is refused."""
    if not mobile:
        return
    query = sa.select(Partner.id).where(Partner.owner_id == owner_id, Partner.mobile == mobile)
    if except_id is not None:
        query = query.where(Partner.id != except_id)
    if db.session.execute(query).first() is not None:
        raise RuleError("partners.mobile_taken", "mobile")


def add_partner(actor: User, data: dict[str, Any]) -> Partner:
    """A new partner kept by the actor; the cadence defaults to the `partner_cadence_days` setting."""
    _check_mobile_free(actor.id, data.get("mobile"), None)
    now = utcnow()
    partner = Partner(owner_id=actor.id, created_by_id=actor.id, updated_by_id=actor.id, created_at=now,
                      updated_at=now, cadence_days=run_settings.get_int("partner_cadence_days"))
    set_name(partner, data["name"])
    set_mobile(partner, data.get("mobile"))
    for name in EDITABLE_FIELDS:
        if name not in ("name", "mobile") and data.get(name) is not None:
            setattr(partner, name, data[name])
    if partner.consent_contact:
        partner.consent_at = now
    db.session.add(partner)
    db.session.flush()
    audit.record(actor, "partner.create", "partner", partner.id,
                 params={"name": partner.name, "partner_role": partner.role})
    return partner


def edit_partner(partner: Partner, actor: User, data: dict[str, Any], loaded_version: int) -> list[str]:
    """Save the actor's changes, or raise EditConflict if someone saved the partner since `loaded_version`.

    Returns the names of the fields changed (none: nothing is written or audited). The row is locked
    first (PostgreSQL), so of two saves from the same version the second waits, then is refused.
    """
    on_file = db.session.execute(sa.select(Partner.version).where(Partner.id == partner.id)
                                 .with_for_update()).scalar_one()
    if on_file != partner.version:  # saved by someone else since this request loaded it
        db.session.refresh(partner)
    if partner.version != loaded_version:
        raise EditConflict(partner)
    current = snapshot(partner)
    changed = [name for name in EDITABLE_FIELDS if name in data and data[name] != current[name]]
    if "mobile" in changed:
        _check_mobile_free(partner.owner_id, data["mobile"], partner.id)
    for name in changed:
        if name == "name":
            set_name(partner, data[name])
        elif name == "mobile":
            set_mobile(partner, data[name])
        else:
            setattr(partner, name, data[name])
    if not changed:
        return []
    now = utcnow()
    if "consent_contact" in changed:
        partner.consent_at = now if partner.consent_contact else None
    partner.updated_by_id = actor.id
    partner.updated_at = now
    db.session.flush()
    audit.record(actor, "partner.edit", "partner", partner.id, params={"partner_fields": changed})
    return changed


def log_contact(partner: Partner, actor: User, data: dict[str, Any]) -> PartnerContact:
    """Record a contact with the partner; the partner's last contact becomes the latest one logged.

    The last contact is moved by a conditional UPDATE that leaves the partner's version alone, so an
    edit form open meanwhile is not told of a conflict, and two contacts saved at once keep the later.
    """
    occurred = data.get("occurred_at") or utcnow()
    if occurred > utcnow() + CLOCK_SKEW:
        raise RuleError("partners.contact_in_future", "occurred_at")
    contact = PartnerContact(partner_id=partner.id, author_id=actor.id, occurred_at=occurred,
                             channel=data["channel"], summary=data["summary"],
                             next_step=data.get("next_step") or "")
    db.session.add(contact)
    db.session.execute(
        sa.update(Partner).where(Partner.id == partner.id,
                                 sa.or_(Partner.last_contact_at.is_(None), Partner.last_contact_at < occurred))
        .values(last_contact_at=occurred).execution_options(synchronize_session="fetch"))
    db.session.flush()
    audit.record(actor, "partner.contact", "partner", partner.id,
                 params={"name": partner.name, "contact_channel": contact.channel})
    return contact


def contacts(partner: Partner, limit: int = 100) -> list[PartnerContact]:
    """The partner's contacts, newest first."""
    return list(db.session.execute(
        sa.select(PartnerContact).options(so.joinedload(PartnerContact.author))
        .where(PartnerContact.partner_id == partner.id)
        .order_by(PartnerContact.occurred_at.desc(), PartnerContact.id.desc()).limit(limit)).scalars())


def due_at(partner: Partner) -> datetime:
    """When the partner is next due a contact: the last contact (or the day added) plus the cadence."""
    return (partner.last_contact_at or partner.created_at) + timedelta(days=partner.cadence_days)


def is_due(partner: Partner, now: datetime) -> bool:
    """True once the cadence has run out (exactly at the cadence counts as due)."""
    return partner.active and due_at(partner) <= now


def due_for_contact(user: User, now: datetime, limit: int | None = None) -> list[tuple[Partner, int]]:
    """The user's own active partners whose cadence has run out, most overdue first, with the whole days
    overdue (0 on the day it falls due). A manager keeps tens of partners, so the date sum is done here."""
    own = db.session.execute(
        sa.select(Partner).options(so.joinedload(Partner.outlet))
        .where(Partner.owner_id == user.id, Partner.active.is_(True))).scalars()
    due = sorted(((p, due_at(p)) for p in own if due_at(p) <= now), key=lambda pair: (pair[1], pair[0].id))
    found = [(partner, (now - when).days) for partner, when in due]
    return found[:limit] if limit is not None else found


@dataclass
class PartnerPage:
    """One page of the partner list, with the cursor of the next page if there is one."""

    partners: list[Partner]
    next_cursor: str | None


def search_partners(user: User, q: str = "", outlet_id: int | None = None, cursor: str | None = None,
                    limit: int = 20) -> PartnerPage:
    """The user's visible partners in pinyin order, filtered and keyset-paginated.

    `q` matches the start of the pinyin initials or full pinyin (letters), the last digits of the
    mobile (digits) or part of the name or organisation (anything else). The cursor is the id of the
    last partner shown.
    """
    query = (sa.select(Partner).options(so.joinedload(Partner.outlet), so.joinedload(Partner.owner))
             .where(partner_visibility(user)))
    found = matches(Partner, q, Partner.organisation)
    if found is not None:
        query = query.where(found)
    if outlet_id:
        query = query.where(Partner.outlet_id == outlet_id)
    after = parse_id(cursor or "")
    if after is not None:
        last_pinyin = sa.select(Partner.name_pinyin).where(Partner.id == after).scalar_subquery()
        query = query.where(sa.tuple_(Partner.name_pinyin, Partner.id) > sa.tuple_(last_pinyin, after))
    query = query.order_by(Partner.name_pinyin, Partner.id).limit(limit + 1)
    rows = list(db.session.execute(query).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = str(rows[-1].id)
    return PartnerPage(rows, next_cursor)


def reveal_mobile(partner: Partner, actor: User) -> str:
    """The partner's full mobile, shown on purpose: the reveal is audited."""
    audit.record(actor, "reveal.partner_mobile", "partner", partner.id)
    return partner.mobile or ""
