"""Needs profiles kept as versions, and the investor type decision with its basis."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm as so
from sqlalchemy.exc import IntegrityError

from crm.domain.refusals import Conflict
from crm.extensions import db
from crm.models import Client, InvestorType, InvestorTypeChange, NeedsProfile, User, utcnow
from crm.services import audit

PROFILE_FIELDS = (
    "income_band", "assets_band", "experience_years", "product_types", "goals", "horizon",
    "liquidity_need", "preference", "contact_channel", "contact_time", "birthday", "notes",
)


class ProfileConflict(Conflict):
    """Someone saved a newer version of the profile since this one was loaded; `current` is that version."""

    def __init__(self, current: NeedsProfile | None):
        super().__init__("profiles.newer_version", None, version=current.version if current else 0)
        self.current = current


@dataclass
class ProfileVersion:
    """A saved version and the fields it changed compared with the one before."""

    profile: NeedsProfile
    changed: list[tuple[str, Any, Any]]


def values(profile: NeedsProfile | None) -> dict[str, Any]:
    """The profile's fields as a dict (empty values when there is no profile yet)."""
    if profile is None:
        return {name: None for name in PROFILE_FIELDS}
    return {name: getattr(profile, name) for name in PROFILE_FIELDS}


def _blank(value: Any) -> Any:
    return None if value in ("", None) else value


def current_profile(client: Client) -> NeedsProfile | None:
    """The latest version of the client's needs profile."""
    return db.session.execute(
        sa.select(NeedsProfile).where(NeedsProfile.client_id == client.id)
        .order_by(NeedsProfile.version.desc()).limit(1)
    ).scalar_one_or_none()


def save_profile(client: Client, actor: User, data: dict[str, Any], loaded_version: int) -> NeedsProfile | None:
    """Save a new version unless nothing changed; raise ProfileConflict if a newer one exists."""
    current = current_profile(client)
    current_version = current.version if current else 0
    if current_version != loaded_version:
        raise ProfileConflict(current)
    new = {name: data.get(name) for name in PROFILE_FIELDS}
    if current is not None and all(_blank(new[k]) == _blank(getattr(current, k)) for k in PROFILE_FIELDS):
        return None
    profile = NeedsProfile(client_id=client.id, version=current_version + 1, saved_by_id=actor.id,
                           saved_at=utcnow(), **{k: (v if v is not None else _default(k)) for k, v in new.items()})
    db.session.add(profile)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        # A twin save took this version number first.
        raise ProfileConflict(current_profile(client)) from None
    client.last_activity_at = max(client.last_activity_at, profile.saved_at)
    return profile


def _default(name: str) -> Any:
    return "" if name in ("product_types", "goals", "contact_time", "notes") else None


def history(client: Client, limit: int = 20) -> list[ProfileVersion]:
    """Versions newest first, each with the fields it changed."""
    versions = list(db.session.execute(
        sa.select(NeedsProfile).options(so.joinedload(NeedsProfile.saved_by))
        .where(NeedsProfile.client_id == client.id).order_by(NeedsProfile.version.desc()).limit(limit + 1)
    ).scalars())
    result = []
    for i, profile in enumerate(versions[:limit]):
        before = values(versions[i + 1]) if i + 1 < len(versions) else values(None)
        after = values(profile)
        changed = [(k, before[k], after[k]) for k in PROFILE_FIELDS if _blank(before[k]) != _blank(after[k])]
        result.append(ProfileVersion(profile, changed))
    return result


def set_investor_type(client: Client, actor: User, to_type: InvestorType, criterion: str, evidence: str,
                      basis_date: date, recording_ref: str = "") -> InvestorTypeChange:
    """Record the decision that the client is an ordinary or professional investor (audited)."""
    change = InvestorTypeChange(client_id=client.id, from_type=client.investor_type, to_type=to_type.value,
                                criterion=criterion, evidence=evidence, basis_date=basis_date,
                                recording_ref=recording_ref, decided_by_id=actor.id, decided_at=utcnow())
    db.session.add(change)
    audit.record(actor, "client.investor_type", "client", client.id, params={
        "from_type": client.investor_type, "to_type": to_type.value, "criterion": criterion,
        "recording_ref": recording_ref})
    client.investor_type = to_type.value
    client.updated_by_id = actor.id
    client.updated_at = utcnow()
    db.session.flush()
    return change


def investor_type_history(client: Client) -> list[InvestorTypeChange]:
    """Investor type decisions, newest first."""
    return list(db.session.execute(
        sa.select(InvestorTypeChange).options(so.joinedload(InvestorTypeChange.decided_by))
        .where(InvestorTypeChange.client_id == client.id).order_by(InvestorTypeChange.decided_at.desc())
    ).scalars())
