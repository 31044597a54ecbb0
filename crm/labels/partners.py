"""Labels of channel partners (渠道伙伴): their roles, the partner settings and audited actions."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.labels.maps import EnumLabels
from crm.models import PartnerRole

PARTNER_ROLES = EnumLabels(PartnerRole, {
    PartnerRole.TELLER: _l("Bank teller"),
    PartnerRole.LOBBY_MANAGER: _l("Lobby manager"),
    PartnerRole.BRANCH_MANAGER: _l("Branch manager"),
    PartnerRole.CORPORATE_FINANCE: _l("Corporate finance staff"),
    PartnerRole.OTHER: _l("Other introducer"),
})

# The parts crm/labels/settings.py and crm/labels/audit.py assemble.
SETTINGS = {"partner_cadence_days": _l("Days between contacts with a new channel partner")}
ACTIONS: dict = {}
DETAILS: dict = {}
PARAM_MAPS: dict = {}
