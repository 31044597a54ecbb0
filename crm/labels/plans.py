"""Labels of service plans: the services promised, how they repeat, the holidays, a plan's status."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.domain.cadence import Cadence
from crm.labels.maps import EnumLabels
from crm.models import PlanItemKind, PlanStatus

PLAN_ITEM_KINDS = EnumLabels(PlanItemKind, {
    PlanItemKind.REVIEW_CALL: _l("Regular review call (定期回访)"),
    PlanItemKind.RESEARCH_PUSH: _l("Research and news push (资讯推送)"),
    PlanItemKind.SEMINAR: _l("Seminar invitation (投资讲座)"),
    PlanItemKind.PORTFOLIO_REVIEW: _l("Portfolio review (组合检视)"),
    PlanItemKind.CARE: _l("Birthday or holiday care (关怀)"),
    PlanItemKind.PRODUCT: _l("Product recommendation"),
})

CADENCES = EnumLabels(Cadence, {
    Cadence.DAYS: _l("Every N days"),
    Cadence.WEEKS: _l("Every N weeks"),
    Cadence.MONTHS: _l("Every N months"),
    Cadence.BIRTHDAY: _l("On the client's birthday"),
    Cadence.HOLIDAYS: _l("On holidays"),
    Cadence.ONCE: _l("Once"),
})

# Keyed like crm.domain.cadence.HOLIDAYS (tests/test_labels.py checks both hold the same codes).
HOLIDAYS = {
    "new_year": _l("New Year's Day (元旦)"),
    "spring_festival": _l("Spring Festival (春节)"),
    "dragon_boat": _l("Dragon Boat Festival (端午)"),
    "mid_autumn": _l("Mid-Autumn Festival (中秋)"),
    "double_ninth": _l("Double Ninth Festival (重阳)"),
    "national_day": _l("National Day (国庆)"),
}

PLAN_STATUSES = EnumLabels(PlanStatus, {PlanStatus.ACTIVE: _l("Active"), PlanStatus.ENDED: _l("Ended")})

# The parts crm/labels/settings.py and crm/labels/audit.py assemble.
SETTINGS = {
    "plan_lead_days": _l("Create service-plan follow-ups this many days ahead"),
    "plan_grace_days": _l("A plan occurrence counts as missed this many days after it was due"),
}
ACTIONS = {
    "plan_template.save": _l("Plan template saved"),
    "plan_template.add_item": _l("Service added to a plan template"),
    "plan_template.remove_item": _l("Service removed from a plan template"),
    "plan.start": _l("Service plan started"),
    "plan.add_item": _l("Service added to a plan"),
    "plan.remove_item": _l("Service removed from a plan"),
    "plan.update": _l("Service plan revised"),
    "plan.end": _l("Service plan ended"),
}
DETAILS = {
    "plan_template.save": _l("%(name)s"),
    "plan_template.add_item": _l("%(item_kind)s"),
    "plan_template.remove_item": _l("%(item_kind)s"),
    "plan.start": _l("From template %(template)s"),
    "plan.add_item": _l("%(item_kind)s"),
    "plan.remove_item": _l("%(item_kind)s; %(cancelled)s follow-ups cancelled"),
    "plan.update": _l("Changed: %(changed)s"),
    "plan.end": _l("%(reason)s"),
}
PARAM_MAPS = {"item_kind": "PLAN_ITEM_KINDS"}
