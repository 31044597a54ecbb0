"""Labels of follow-ups and of the dormant/at-risk scan that raises some of them."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.labels.maps import EnumLabels
from crm.models import FlagKind, FollowUpKind, FollowUpSource, FollowUpStatus

FOLLOWUP_KINDS = EnumLabels(FollowUpKind, {
    FollowUpKind.CALL: _l("Call"),
    FollowUpKind.VISIT: _l("Visit"),
    FollowUpKind.REVIEW: _l("Review"),
    FollowUpKind.CALLBACK: _l("Call-back (回访)"),
    FollowUpKind.PLAN_ITEM: _l("Service plan item"),
    FollowUpKind.FLAG: _l("Flagged client"),
    FollowUpKind.COMPLAINT: _l("Complaint"),
})

FOLLOWUP_STATUSES = EnumLabels(FollowUpStatus, {
    FollowUpStatus.OPEN: _l("Open"),
    FollowUpStatus.DONE: _l("Done"),
    FollowUpStatus.SNOOZED: _l("Snoozed"),
    FollowUpStatus.CANCELLED: _l("Cancelled"),
})

FOLLOWUP_SOURCES = EnumLabels(FollowUpSource, {
    FollowUpSource.MANUAL: _l("Assigned"),
    FollowUpSource.VISIT: _l("Next step of a visit"),
    FollowUpSource.FLAG: _l("Scan flag"),
    FollowUpSource.PLAN: _l("Service plan"),
    FollowUpSource.COMPLAINT: _l("Complaint"),
    FollowUpSource.CALLBACK: _l("Call-back rule"),
    FollowUpSource.QR: _l("QR self-registration"),
})

PRIORITIES = {1: _l("High"), 2: _l("Normal"), 3: _l("Low")}

FLAG_KINDS = EnumLabels(FlagKind, {FlagKind.DORMANT: _l("Dormant"), FlagKind.AT_RISK: _l("At risk")})

FLAG_REASONS = {
    "no_contact": _l("No contact for longer than the tier allows"),
    "no_asset_activity": _l("No asset activity for a long time"),
    "assets_drop": _l("Assets fell sharply"),
    "low_satisfaction": _l("Low satisfaction"),
    "leaving_intent": _l("Mentioned transferring out or closing"),
    "complaint_overdue": _l("Overdue complaint"),
}

# The parts crm/labels/settings.py and crm/labels/audit.py assemble.
SETTINGS = {
    "dormant_default_days": _l("Dormant after this many days without contact (clients without a tier)"),
    "dormant_asset_days": _l("Dormant after this many days without asset activity"),
    "at_risk_drop_percent": _l("At risk when assets fall by this percentage…"),
    "at_risk_drop_days": _l("…within this many days"),
    "at_risk_satisfaction_max": _l("At risk when the last satisfaction score is at most"),
    "callback_sample_percent": _l("Yearly call-back sample, percentage of active clients"),
    "flag_followups_per_day": _l("New dormant/at-risk follow-ups per manager per working day (the rest wait for "
                                 "the next working days)"),
    "reminder_lead_minutes": _l("Send follow-up reminder emails this many minutes before the due time"),
}
ACTIONS = {
    "flags.scan": _l("Dormant and at-risk scan"),
    "followup.assign": _l("Follow-up handed over"),
}
DETAILS = {
    "flags.scan": _l("%(scanned)s clients scanned: %(raised_dormant)s dormant and %(raised_at_risk)s at risk raised, "
                     "%(updated)s updated, %(cleared)s cleared, %(followups)s follow-ups"),
    "followup.assign": _l("%(from)s → %(to)s"),
}
