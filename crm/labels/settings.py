"""SETTING_NAMES: the name of every rule on Admin → Rules, assembled from the parts each feature declares."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.labels import clients, complaints, followups, plans, suitability

SETTING_NAMES = {**suitability.SETTINGS, **followups.SETTINGS, **complaints.SETTINGS, **plans.SETTINGS,
                 **clients.SETTINGS}

# The part crm/labels/audit.py assembles.
ACTIONS = {"setting.update": _l("Setting changed")}
DETAILS = {"setting.update": _l("%(setting)s: %(from)s → %(to)s")}
PARAM_MAPS = {"setting": "SETTING_NAMES"}
