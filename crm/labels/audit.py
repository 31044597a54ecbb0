"""The audit trail's labels: actions, details and coded parameters assembled from each feature's parts."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.labels import (
    admin,
    clients,
    complaints,
    coverage,
    followups,
    partners,
    plans,
    pool,
    profiles,
    qr,
    sessions,
    settings,
    suitability,
)

AUDIT_CHANGE_NAMES = {
    "username": _l("Username"), "display_name": _l("Display name"), "email": _l("Email"), "role": _l("Role"),
    "team_id": _l("Team"), "outlet_id": _l("Outlet"), "locale": _l("Language"), "active": _l("Account active"),
    "deactivated": _l("Deactivated"), "reactivated": _l("Reactivated"), "password": _l("Password reset"),
    "bank": _l("Bank"), "branch": _l("Branch"), "city": _l("City"), "taken_out_of_use": _l("Taken out of use"),
    "put_in_use": _l("Put back in use"), "goals": _l("Goals"), "review_on": _l("Review date"),
    "working_day": _l("A working day"), "day_off": _l("A day off"),
}

AUDIT_OBJECT_TYPES = {
    "client": _l("Client"), "user": _l("User"), "team": _l("Team"), "outlet": _l("Outlet"),
    "complaint": _l("Complaint"), "follow_up": _l("Follow-up"), "product": _l("Product"),
    "questionnaire": _l("Questionnaire"), "plan_template": _l("Plan template"), "setting": _l("Settings"),
    "workday_override": _l("Holiday calendar"), "asset_snapshots": _l("Asset import"),
    "client_flags": _l("Client flags"), "outbox_email": _l("Email"), "audit_trail": _l("Audit trail"),
    "recommendation": _l("Recommendations"),
    "partner": _l("Channel partner"),
    "qr_card": _l("QR card"),
}

AUDIT_SOURCES = {"web": _l("Web"), "scheduler": _l("System (scheduler)"), "cli": _l("Command line")}

# The trail's own action: downloading it.
ACTIONS = {"export.audit": _l("Audit trail downloaded (CSV)")}
DETAILS = {
    "export.audit": _l("Filters: action %(action)s, user %(user_id)s, client %(client_id)s, name %(client_name)s, "
                       "from %(since_day)s to %(until_day)s"),
}
PARAM_MAPS = {"changes": "AUDIT_CHANGE_NAMES", "changed": "AUDIT_CHANGE_NAMES", "kind": "AUDIT_CHANGE_NAMES"}

# Each feature's part in turn, then the trail's own; the action filter lists the actions in this order.
FEATURES = (clients, profiles, admin, complaints, settings, suitability, plans, followups, sessions, partners, pool,
            coverage, qr)


def _assembled(part: str, own: dict) -> dict:
    return {**{code: value for feature in FEATURES for code, value in getattr(feature, part, {}).items()}, **own}


AUDIT_ACTIONS = _assembled("ACTIONS", ACTIONS)
# Details of events with structured parameters (older events keep their English text).
AUDIT_DETAILS = _assembled("DETAILS", DETAILS)
# Parameters whose values are codes, and the label map (a name in crm.labels) that translates them.
AUDIT_PARAM_LABELS = _assembled("PARAM_MAPS", PARAM_MAPS)
