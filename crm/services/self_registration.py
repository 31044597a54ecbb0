"""A visitor's registration through a manager's QR card (扫码登记): the same dedupe and ownership rules as capture.

The visitor is told the same thing whatever it became (no oracle for whose number it is). The card's
manager gets a call-back follow-up due within one working hour unless the number is another manager's
client: that client is not reassigned, its owner is told, and the card's manager only hears that a
registration matched someone else's client (no name, no number).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale, gettext

from crm.domain.workdays import add_working_hour
from crm.extensions import db
from crm.labels.qr import QR_CONTACT_TIMES, QR_INTERESTS
from crm.models import (
    Client,
    FollowUpKind,
    QrCard,
    RegistrationOutcome,
    SelfRegistration,
    SourceChannel,
    User,
)
from crm.services import audit, clients, complaints, followup_sources, followups, pool
from crm.services.links import path_for

# A second submission of the same number on the same card within this time is the same registration.
TWIN_WINDOW = timedelta(minutes=10)


@dataclass
class Registered:
    """What a submission gave: the registration (the first one for a twin) and whether it is new."""

    registration: SelfRegistration
    created: bool


def register(card: QrCard, data: dict[str, Any], locale: str, now: datetime) -> Registered:
    """Record the visitor's registration and hand it to the card's manager (or tell the number's owner).

    `data` holds name, mobile (normalized), interest, preferred_time and consent_version.
    """
    twin = _recent_twin(card, data["mobile"], now)
    if twin is not None:
        return Registered(twin, False)
    manager = card.manager
    client = clients.find_by_mobile(data["mobile"])
    if client is None:
        client, outcome = _new_prospect(card, data, now), RegistrationOutcome.NEW
    elif client.pool_team_id is not None and client.pool_team_id == manager.team_id:
        # The pool's own claim (first claim wins); a claim a moment earlier leaves it someone else's.
        if pool.claim_on_capture(manager, client, now):
            outcome = RegistrationOutcome.POOL_CLAIMED
        else:
            db.session.refresh(client)
            outcome = _existing_outcome(client, manager)
    else:
        outcome = _existing_outcome(client, manager)
    registration = SelfRegistration(card_id=card.id, client_id=client.id, name=data["name"][:60],
                                    mobile=data["mobile"], interest=data.get("interest") or "",
                                    preferred_time=data.get("preferred_time") or "",
                                    consent_version=data["consent_version"], consent_at=now,
                                    locale=locale[:10], outcome=outcome.value, created_at=now)
    db.session.add(registration)
    db.session.flush()
    audit.record(None, "qr.register", "client", client.id, client_id=client.id,
                 params={"card": card.id, "manager": manager.display_name, "became": outcome.value,
                         "consent_version": registration.consent_version})
    if outcome == RegistrationOutcome.OTHER_OWNER:
        _tell_owner(client, card)
        _tell_manager_of_clash(card, registration)
    else:
        _call_back(client, card, registration, now)
    db.session.flush()
    return Registered(registration, True)


def _recent_twin(card: QrCard, mobile: str, now: datetime) -> SelfRegistration | None:
    return db.session.execute(
        sa.select(SelfRegistration).where(SelfRegistration.card_id == card.id, SelfRegistration.mobile == mobile,
                                          SelfRegistration.created_at >= now - TWIN_WINDOW)
        .order_by(SelfRegistration.id).limit(1)).scalar_one_or_none()


def _existing_outcome(client: Client, manager: User) -> RegistrationOutcome:
    if client.owner_id == manager.id and client.pool_team_id is None:
        return RegistrationOutcome.OWN
    return RegistrationOutcome.OTHER_OWNER


def _interests_line(data: dict[str, Any], manager: User) -> str:
    """What the visitor asked for, in the manager's language, for the prospect's interests."""
    with force_locale(manager.locale or "zh_CN"):
        interest = str(QR_INTERESTS.get(data.get("interest") or "", ""))
        when = str(QR_CONTACT_TIMES.get(data.get("preferred_time") or "", ""))
        parts = [gettext("Interested in: %(what)s", what=interest) if interest else "",
                 gettext("Best time to call: %(when)s", when=when) if when else ""]
    return "; ".join(p for p in parts if p)


def _new_prospect(card: QrCard, data: dict[str, Any], now: datetime) -> Client:
    """A prospect of the card's manager at the card's outlet, consenting to be contacted."""
    client = clients.capture_prospect(card.manager, {
        "name": data["name"], "mobile": data["mobile"], "source_channel": SourceChannel.QR.value,
        "outlet_id": card.outlet_id, "interests": _interests_line(data, card.manager), "consent_contact": True,
    })
    client.qr_card_id = card.id
    client.created_at = client.updated_at = client.last_activity_at = now
    client.protection_started_at = client.consent_at = now
    db.session.flush()
    return client


def _call_back(client: Client, card: QrCard, registration: SelfRegistration, now: datetime) -> None:
    """The card manager's call, due within one working hour, and a note in the app and by email."""
    manager = card.manager
    due = add_working_hour(now, complaints.overrides())
    with force_locale(manager.locale or "zh_CN"):
        title = gettext("QR registration: call back")
        text = gettext("%(name)s registered through your QR card: call back by %(time)s",
                       name=client.name, time=due.strftime("%m-%d %H:%M"))
    followup = followups.create(client, manager, due, FollowUpKind.CALL, title=title, priority=1,
                                origin=followup_sources.self_registration(registration.id))
    followups.notify(manager, text, path_for("followups.show", followup_id=followup.id),
                     email_template="qr_registration", dedupe_key=f"qr-registration:{registration.id}",
                     client=client, due=due, outlet=card.outlet)


def _tell_owner(client: Client, card: QrCard) -> None:
    """The number's owner hears that their client registered on another manager's card."""
    owner = client.owner
    with force_locale(owner.locale or "zh_CN"):
        text = gettext("Your client %(client)s registered through %(manager)s's QR card; the client stays yours.",
                       client=client.name, manager=card.manager.display_name)
    followups.notify(owner, text, path_for("clients.show", client_id=client.id))


def _tell_manager_of_clash(card: QrCard, registration: SelfRegistration) -> None:
    """The card's manager hears only that a registration matched someone else's client."""
    manager = card.manager
    with force_locale(manager.locale or "zh_CN"):
        text = gettext("A registration through your QR card at %(outlet)s matched another manager's client: "
                       "its owner has been told.", outlet=card.outlet.label)
    followups.notify(manager, text, path_for("qr_cards.show", card_id=card.id))
