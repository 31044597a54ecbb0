"""Labels of complaints: where one stands, how it came in, what it is about, how serious, its history."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.labels.maps import EnumLabels
from crm.models import (
    ComplaintCategory,
    ComplaintChannel,
    ComplaintEventKind,
    ComplaintSeverity,
    ComplaintStatus,
)

COMPLAINT_STATUSES = EnumLabels(ComplaintStatus, {
    ComplaintStatus.REGISTERED: _l("Registered (受理登记)"),
    ComplaintStatus.VERIFYING: _l("Verifying (核实)"),
    ComplaintStatus.RESPONSIBILITY_DECIDED: _l("Responsibility decided (责任认定)"),
    ComplaintStatus.REMEDY_PROPOSED: _l("Remedy proposed (方案)"),
    ComplaintStatus.CLIENT_ANSWERED: _l("Client answered (反馈)"),
    ComplaintStatus.CLOSED: _l("Closed and archived (结案归档)"),
})

COMPLAINT_CHANNELS = EnumLabels(ComplaintChannel, {
    ComplaintChannel.OUTLET: _l("In person at the outlet"),
    ComplaintChannel.PHONE: _l("Phone"),
    ComplaintChannel.LETTER: _l("Letter"),
    ComplaintChannel.EMAIL: _l("Email"),
    ComplaintChannel.ONLINE: _l("Online"),
    ComplaintChannel.REGULATOR: _l("12386 hotline or a regulator"),
})

COMPLAINT_CATEGORIES = EnumLabels(ComplaintCategory, {
    ComplaintCategory.SERVICE_ATTITUDE: _l("Service attitude"),
    ComplaintCategory.TRADING_SYSTEM: _l("Trading system"),
    ComplaintCategory.FEES: _l("Fees and commission"),
    ComplaintCategory.PRODUCT_SALE: _l("Product sale and suitability"),
    ComplaintCategory.DISCLOSURE: _l("Information disclosure"),
    ComplaintCategory.TRANSFER_OBSTRUCTION: _l("Obstructed transfer-out or closing"),
    ComplaintCategory.OTHER: _l("Other"),
})

COMPLAINT_SEVERITIES = EnumLabels(ComplaintSeverity, {
    ComplaintSeverity.NORMAL: _l("Normal"),
    ComplaintSeverity.SERIOUS: _l("Serious"),
    ComplaintSeverity.MAJOR: _l("Major"),
})

COMPLAINT_EVENT_KINDS = EnumLabels(ComplaintEventKind, {
    ComplaintEventKind.CREATED: _l("Registered"),
    ComplaintEventKind.STATUS: _l("Status changed"),
    ComplaintEventKind.NOTE: _l("Note"),
    ComplaintEventKind.HANDOVER: _l("Handed over"),
    ComplaintEventKind.ESCALATION: _l("Escalated"),
    ComplaintEventKind.EXTENSION: _l("Deadline extended"),
    ComplaintEventKind.CLOSED: _l("Closed"),
    ComplaintEventKind.REOPENED: _l("Reopened"),
})

COMPLAINT_TABS = {"mine": _l("Mine"), "team": _l("Team"), "overdue": _l("Overdue"),
                  "regulator": _l("From a regulator")}

# The parts crm/labels/settings.py and crm/labels/audit.py assemble.
SETTINGS = {
    "complaint_ack_days_normal": _l("Acknowledge a normal complaint within (working days)"),
    "complaint_ack_days_serious": _l("Acknowledge a serious complaint within (working days)"),
    "complaint_ack_days_major": _l("Acknowledge a major complaint within (working days)"),
    "complaint_resolve_days_normal": _l("Resolve a normal complaint within (working days)"),
    "complaint_resolve_days_serious": _l("Resolve a serious complaint within (working days)"),
    "complaint_resolve_days_major": _l("Resolve a major complaint within (working days)"),
}
ACTIONS = {
    "complaint.register": _l("Complaint registered"),
    "complaint.close": _l("Complaint closed"),
    "complaint.reopen": _l("Complaint reopened"),
    "complaint.handover": _l("Complaint handed over"),
    "complaint.extend": _l("Complaint deadline extended"),
    "export.complaints": _l("Complaints downloaded (CSV)"),
}
DETAILS = {
    "complaint.register": _l("%(number)s"),
    "complaint.close": _l("%(number)s"),
    "complaint.reopen": _l("%(number)s"),
    "complaint.handover": _l("%(number)s: %(from)s → %(to)s"),
    "complaint.extend": _l("%(number)s: %(from_day)s → %(to_day)s"),
    "export.complaints": _l("Tab %(tab)s: %(rows)s complaints"),
}
PARAM_MAPS = {"tab": "COMPLAINT_TABS"}
