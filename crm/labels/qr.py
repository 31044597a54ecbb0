"""Labels of QR self-registration (扫码登记): what a registration became, and audited actions."""
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

# The parts crm/labels/settings.py and crm/labels/audit.py assemble.
SETTINGS: dict = {}
ACTIONS: dict = {}
DETAILS: dict = {}
PARAM_MAPS: dict = {}
