"""Referral attribution: find a referrer (a client or a channel partner) by search, resolve the choice,
and list the prospects a client or a partner brought, with how many opened an account and when.

A choice travels as "client:<id>" or "partner:<id>". Everything here goes through the viewer's
visibility (`access.client_visibility`, `access.partner_visibility`): a record the viewer may not see is
refused exactly like one that does not exist, and the lists and counts of what someone brought cover
only the prospects the viewer may see (docs/access.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from crm.domain.formats import mask_mobile, parse_id
from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.models import Client, Partner, PartnerRole, SourceChannel, User
from crm.services.access import client_visibility, partner_visibility
from crm.services.search import matches

CLIENT, PARTNER = "client", "partner"
BROUGHT_SHOWN = 50  # the lists show the latest this many; the totals count them all

# A prospect brought by a partner comes through the partner's channel (when capture left walk_in).
_PARTNER_CHANNELS = {
    PartnerRole.TELLER: SourceChannel.BANK_STAFF,
    PartnerRole.LOBBY_MANAGER: SourceChannel.BANK_STAFF,
    PartnerRole.BRANCH_MANAGER: SourceChannel.BANK_STAFF,
    PartnerRole.CORPORATE_FINANCE: SourceChannel.CORPORATE_FINANCE,
    PartnerRole.OTHER: SourceChannel.OTHER,
}


@dataclass(frozen=True)
class Match:
    """One referrer a search found: what it is, its choice value and what the chooser shows."""

    kind: str  # CLIENT or PARTNER
    id: int
    name: str
    masked_mobile: str
    detail: str = ""  # a partner's role code; a client's stage code

    @property
    def value(self) -> str:
        """The choice value the form posts."""
        return f"{self.kind}:{self.id}"


@dataclass
class Brought:
    """The prospects one referrer brought that the viewer may see, newest first, with the totals."""

    clients: list[Client] = field(default_factory=list)
    brought: int = 0
    opened: int = 0
    last_opened_at: datetime | None = None


@dataclass(frozen=True)
class ReferredBy:
    """Who referred a client, as this viewer may know it: `record` is None when the viewer may not see it."""

    kind: str
    record: Client | Partner | None


def search(user: User, q: str, limit: int = 8) -> list[Match]:
    """Up to `limit` referrers matching `q` among the partners and clients the user may see (two queries)."""
    # A NUL can be in no name (and PostgreSQL refuses it in a bound text): it matches nothing.
    q = (q or "").replace("\x00", "").strip()[:40]
    if not q:
        return []
    partners = db.session.execute(
        sa.select(Partner).where(partner_visibility(user), Partner.active.is_(True), matches(Partner, q))
        .order_by(Partner.name_pinyin, Partner.id).limit(limit)).scalars()
    clients = db.session.execute(
        sa.select(Client).where(client_visibility(user), matches(Client, q))
        .order_by(Client.last_activity_at.desc(), Client.id.desc()).limit(limit)).scalars()
    found = [Match(PARTNER, p.id, p.name, mask_mobile(p.mobile) if p.mobile else "", p.role) for p in partners]
    found += [Match(CLIENT, c.id, c.name, mask_mobile(c.mobile), c.stage) for c in clients]
    return found[:limit]


def parse(value: str | None) -> tuple[str, int] | None:
    """("client" | "partner", id) from a choice value, or None when it is not one."""
    kind, sep, ident = (value or "").partition(":")
    record_id = parse_id(ident) if sep else None
    if kind not in (CLIENT, PARTNER) or record_id is None:
        return None
    return kind, record_id


def resolve(user: User, value: str | None, for_client: Client | None = None) -> tuple[Client | None, Partner | None]:
    """The referrer a choice value names, if the user may see it; (None, None) for an empty choice.

    Raises RuleError("referrals.unknown", "referrer") for a malformed value, an unknown id and an id the
    user may not see alike; RuleError("referrals.self", "referrer") when a client would refer itself.
    """
    if not (value or "").strip():
        return None, None
    parsed = parse(value.strip())
    if parsed is None:
        raise RuleError("referrals.unknown", "referrer")
    kind, record_id = parsed
    if kind == CLIENT:
        if for_client is not None and for_client.id == record_id:
            raise RuleError("referrals.self", "referrer")
        found = db.session.execute(
            sa.select(Client).where(Client.id == record_id, client_visibility(user))).scalar_one_or_none()
        if found is None:
            raise RuleError("referrals.unknown", "referrer")
        return found, None
    partner = db.session.execute(
        sa.select(Partner).where(Partner.id == record_id, partner_visibility(user))).scalar_one_or_none()
    if partner is None:
        raise RuleError("referrals.unknown", "referrer")
    return None, partner


def match_of(client: Client | None, partner: Partner | None) -> Match | None:
    """The chooser's chip for a resolved referrer."""
    if partner is not None:
        return Match(PARTNER, partner.id, partner.name, mask_mobile(partner.mobile) if partner.mobile else "",
                     partner.role)
    if client is not None:
        return Match(CLIENT, client.id, client.name, mask_mobile(client.mobile), client.stage)
    return None


def value_of_ids(referrer_client_id: int | None, referrer_partner_id: int | None) -> str:
    """The choice value of a referrer given by its ids, or "" for none."""
    if referrer_partner_id is not None:
        return f"{PARTNER}:{referrer_partner_id}"
    if referrer_client_id is not None:
        return f"{CLIENT}:{referrer_client_id}"
    return ""


def value_of(client: Client) -> str:
    """The choice value of the referrer on a client's file, or "" when none was chosen."""
    return value_of_ids(client.referrer_client_id, client.referrer_partner_id)


def channel_for(referrer_client_id: int | None, referrer_partner_id: int | None) -> SourceChannel | None:
    """The source channel a chosen referrer stands for: a client's referral, a partner's role's channel."""
    if referrer_partner_id is not None:
        partner = db.session.get(Partner, referrer_partner_id)
        try:
            return _PARTNER_CHANNELS[PartnerRole(partner.role)] if partner else None
        except ValueError:
            return SourceChannel.OTHER
    if referrer_client_id is not None:
        return SourceChannel.REFERRAL
    return None


def attribute_channel(client: Client) -> None:
    """Set the source channel from the referrer when it was left at its default (walk-in)."""
    if client.source_channel in (None, SourceChannel.WALK_IN.value):
        channel = channel_for(client.referrer_client_id, client.referrer_partner_id)
        if channel is not None:
            client.source_channel = channel.value


def referred_by(client: Client, viewer: User) -> ReferredBy | None:
    """Who referred the client, the record only if the viewer may see it (else only "a client"/"a partner")."""
    if client.referrer_partner_id is not None:
        seen = db.session.execute(sa.select(Partner).where(
            Partner.id == client.referrer_partner_id, partner_visibility(viewer))).scalar_one_or_none()
        return ReferredBy(PARTNER, seen)
    if client.referrer_client_id is not None:
        seen = db.session.execute(sa.select(Client).where(
            Client.id == client.referrer_client_id, client_visibility(viewer))).scalar_one_or_none()
        return ReferredBy(CLIENT, seen)
    return None


def _brought(condition: sa.ColumnElement[bool], viewer: User) -> Brought:
    """The viewer's visible clients matching `condition`: the latest BROUGHT_SHOWN and the totals (two queries)."""
    visible = sa.and_(condition, client_visibility(viewer))
    brought, opened, last_opened = db.session.execute(
        sa.select(sa.func.count(Client.id), sa.func.count(Client.account_opened_at),
                  sa.func.max(Client.account_opened_at)).where(visible)).one()
    if not brought:
        return Brought()
    rows = list(db.session.execute(
        sa.select(Client).where(visible).order_by(Client.created_at.desc(), Client.id.desc())
        .limit(BROUGHT_SHOWN)).scalars())
    return Brought(rows, brought, opened, last_opened)


def brought_by_client(client: Client, viewer: User) -> Brought:
    """The prospects this client referred that the viewer may see, with how many opened an account and when."""
    return _brought(Client.referrer_client_id == client.id, viewer)


def brought_by_partner(partner: Partner, viewer: User) -> Brought:
    """The prospects this partner brought that the viewer may see, with how many opened an account and when."""
    return _brought(Client.referrer_partner_id == partner.id, viewer)
