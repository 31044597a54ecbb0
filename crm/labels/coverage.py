"""Labels of outlet coverage (驻点排班): exceptions to the weekly pattern, and audited actions."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.labels.maps import EnumLabels
from crm.models import CoverageExceptionKind

COVERAGE_EXCEPTION_KINDS = EnumLabels(CoverageExceptionKind, {
    CoverageExceptionKind.LEAVE: _l("Away (leave, training)"),
    CoverageExceptionKind.ELSEWHERE: _l("At another outlet (swap, cover)"),
})

# The parts crm/labels/settings.py and crm/labels/audit.py assemble.
SETTINGS: dict = {}
ACTIONS: dict = {}
DETAILS: dict = {}
PARAM_MAPS: dict = {}
