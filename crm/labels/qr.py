"""Labels of QR self-registration (扫码登记): what a registration became, the form's choices, audited actions."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.labels.maps import EnumLabels
from crm.models import RegistrationOutcome

REGISTRATION_OUTCOMES = EnumLabels(RegistrationOutcome, {
    RegistrationOutcome.NEW: _l("New prospect"),
    RegistrationOutcome.OWN: _l("Already your client"),
    RegistrationOutcome.POOL_CLAIMED: _l("Taken from the team pool"),
    RegistrationOutcome.OTHER_OWNER: _l("Another manager's client (owner told)"),
})

# The public form's short choices (stored as these codes on the registration).
QR_INTERESTS = {
    "funds": _l("Funds"),
    "stocks": _l("Stocks"),
    "wealth": _l("Wealth management"),
    "retirement": _l("Retirement"),
    "other": _l("Other"),
}
QR_CONTACT_TIMES = {
    "morning": _l("Morning"),
    "afternoon": _l("Afternoon"),
    "evening": _l("Evening"),
    "any": _l("Any time"),
}

# The parts crm/labels/settings.py and crm/labels/audit.py assemble.
SETTINGS: dict = {}
ACTIONS: dict = {
    "qr.card_issue": _l("QR card issued"),
    "qr.card_revoke": _l("QR card revoked"),
    "qr.register": _l("Visitor registered through a QR card"),
}
DETAILS: dict = {
    "qr.card_issue": _l("Outlet %(outlet)s (an earlier card there is revoked)"),
    "qr.card_revoke": _l("%(manager)s's card at %(outlet)s"),
    "qr.register": _l("Card %(card)s of %(manager)s: %(became)s, consent %(consent_version)s"),
}
PARAM_MAPS: dict = {"became": "REGISTRATION_OUTCOMES"}
