"""SETTING_NAMES: the name of every rule on Admin → Rules, assembled from the parts each feature declares."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.labels import clients, complaints, coverage, followups, partners, plans, pool, qr, suitability

# Each feature's part, in the order Admin → Rules lists them.
FEATURES = (suitability, followups, complaints, plans, clients, pool, partners, coverage, qr)
SETTING_NAMES = {code: name for feature in FEATURES for code, name in feature.SETTINGS.items()}

# The part crm/labels/audit.py assembles.
ACTIONS = {"setting.update": _l("Setting changed")}
DETAILS = {"setting.update": _l("%(setting)s: %(from)s → %(to)s")}
PARAM_MAPS = {"setting": "SETTING_NAMES"}
