"""Labels of the team pool (公海) and protection periods (保护期)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.labels.maps import EnumLabels
from crm.models import PoolEventKind, PoolReleaseReason

POOL_EVENT_KINDS = EnumLabels(PoolEventKind, {
    PoolEventKind.RELEASE: _l("Released to the team pool"),
    PoolEventKind.CLAIM: _l("Claimed from the team pool"),
    PoolEventKind.ASSIGN: _l("Assigned from the team pool"),
    PoolEventKind.EXTEND: _l("Protection extended"),
})
POOL_RELEASE_REASONS = EnumLabels(PoolReleaseReason, {
    PoolReleaseReason.NOT_CONTACTED: _l("No contact within the protection period"),
})

# The parts crm/labels/settings.py and crm/labels/audit.py assemble.
SETTINGS = {"protection_days": _l("Protection period of a prospect without contact (calendar days)")}
ACTIONS = {
    "pool.release": _l("Prospect released to the team pool (公海)"),
    "pool.claim": _l("Prospect claimed from the team pool"),
    "pool.assign": _l("Prospect assigned from the team pool"),
    "pool.extend": _l("Protection period extended (保护期)"),
}
DETAILS = {
    "pool.release": _l("From %(from)s: %(release_reason)s"),
    "pool.claim": _l("Now with %(to)s"),
    "pool.assign": _l("Given to %(to)s"),
    "pool.extend": _l("Protected until %(until)s: %(note)s"),
}
PARAM_MAPS = {"release_reason": "POOL_RELEASE_REASONS"}
