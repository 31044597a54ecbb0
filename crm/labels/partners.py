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

# The fields of a partner, as an edit's audit event and the conflict notice name them.
PARTNER_FIELD_NAMES = {
    "name": _l("Name"),
    "role": _l("Role"),
    "organisation": _l("Organisation"),
    "mobile": _l("Mobile"),
    "outlet_id": _l("Outlet"),
    "notes": _l("Relationship notes"),
    "consent_contact": _l("Agrees to be contacted"),
    "cadence_days": _l("Keep in touch every (days)"),
    "active": _l("Still in touch"),
}

# The parts crm/labels/settings.py and crm/labels/audit.py assemble.
SETTINGS = {"partner_cadence_days": _l("Days between contacts with a new channel partner")}
ACTIONS = {
    "partner.create": _l("Channel partner added"),
    "partner.edit": _l("Channel partner edited"),
    "partner.contact": _l("Contact with a channel partner logged"),
    "reveal.partner_mobile": _l("Channel partner's mobile number revealed"),
}
DETAILS = {
    "partner.create": _l("%(name)s (%(partner_role)s)"),
    "partner.edit": _l("Changed: %(partner_fields)s"),
    "partner.contact": _l("%(name)s: %(contact_channel)s"),
}
PARAM_MAPS = {"partner_role": "PARTNER_ROLES", "partner_fields": "PARTNER_FIELD_NAMES",
              "contact_channel": "VISIT_CHANNELS"}
