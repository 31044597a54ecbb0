"""Labels of outlet coverage (驻点排班): exceptions to the weekly pattern, weekdays, and audited actions."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.labels.maps import EnumLabels
from crm.models import CoverageExceptionKind

COVERAGE_EXCEPTION_KINDS = EnumLabels(CoverageExceptionKind, {
    CoverageExceptionKind.LEAVE: _l("Away (leave, training)"),
    CoverageExceptionKind.ELSEWHERE: _l("At another outlet (swap, cover)"),
})

# A pattern's weekday as stored (0 Monday … 6 Sunday).
WEEKDAYS = {
    0: _l("Monday"), 1: _l("Tuesday"), 2: _l("Wednesday"), 3: _l("Thursday"), 4: _l("Friday"),
    5: _l("Saturday"), 6: _l("Sunday"),
}

# The parts crm/labels/settings.py and crm/labels/audit.py assemble.
SETTINGS: dict = {}
ACTIONS: dict = {
    "coverage.pattern_add": _l("Coverage pattern added"),
    "coverage.pattern_end": _l("Coverage pattern ended"),
    "coverage.exception_add": _l("Coverage exception added"),
    "coverage.exception_remove": _l("Coverage exception removed"),
    "coverage.check_in": _l("Checked in at an outlet"),
    "coverage.check_out": _l("Checked out of an outlet"),
}
DETAILS: dict = {
    "coverage.pattern_add": _l("%(member)s at %(outlet)s on weekdays %(weekdays)s (1 = Monday), "
                               "from %(starts_on)s until %(ends_on)s"),
    "coverage.pattern_end": _l("%(member)s at %(outlet)s on weekday %(weekdays)s (1 = Monday): last day %(ends_on)s"),
    "coverage.exception_add": _l("%(member)s on %(day)s: %(exception_kind)s, outlet %(outlet)s"),
    "coverage.exception_remove": _l("%(member)s on %(day)s: %(exception_kind)s"),
    "coverage.check_in": _l("%(outlet)s on %(day)s, approximate location kept: %(location)s"),
    "coverage.check_out": _l("%(outlet)s on %(day)s"),
}
PARAM_MAPS: dict = {"exception_kind": "COVERAGE_EXCEPTION_KINDS"}
