"""Labels of suitability: risk levels, product kinds and risks, the match outcome and its reasons."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

LEVEL_NAMES = {
    1: _l("C1 Conservative"),
    2: _l("C2 Moderately conservative"),
    3: _l("C3 Balanced"),
    4: _l("C4 Moderately aggressive"),
    5: _l("C5 Aggressive"),
}

RISK_NAMES = {
    1: _l("R1 Low risk"),
    2: _l("R2 Moderately low risk"),
    3: _l("R3 Medium risk"),
    4: _l("R4 Moderately high risk"),
    5: _l("R5 High risk"),
}

PRODUCT_KINDS = {
    "fund": _l("Mutual fund"),
    "bond": _l("Bond"),
    "wealth": _l("Asset management plan"),
    "private": _l("Private fund"),
    "structured": _l("Structured product"),
    "service": _l("Service (e.g. margin trading)"),
    "other": _l("Other"),
}

OUTCOMES = {"match": _l("Match"), "mismatch": _l("Mismatch, confirmed by the client"),
            "forbidden": _l("Forbidden")}

CONFIRMATION_METHODS = {"signed_form": _l("Signed confirmation form"), "recording": _l("Audio/video recording")}

SUITABILITY_REASONS = {
    "product.inactive": _l("The product is no longer offered."),
    "investor.professional": _l("Professional investor: not bound by the risk level match."),
    "assessment.missing": _l("No risk assessment on file: assess the client first."),
    "assessment.expired": _l("The risk assessment expired on %(expired_on)s: assess the client again."),
    "lowest_category.above_r1": _l(
        "The client is in the lowest risk tolerance category and may not buy %(product_risk)s products."),
    "level.covers_risk": _l("Risk level %(level)s covers product risk %(risk)s."),
    "level.below_risk": _l(
        "Product risk %(risk)s is above the client's level %(level)s: give the special risk warning "
        "and record the client's confirmation."),
}

# The parts crm/labels/settings.py and crm/labels/audit.py assemble.
SETTINGS = {
    "assessment_expiry_months": _l("Risk assessments expire after (months)"),
    "assessment_warning_days": _l("Warn about expiring assessments (days ahead)"),
}
ACTIONS = {
    "product.create": _l("Product created"),
    "product.risk": _l("Product risk rating changed"),
    "questionnaire.activate": _l("Questionnaire version put in use"),
    "export.recommendations": _l("Recommendations downloaded (CSV)"),
}
DETAILS = {
    "product.create": _l("%(code)s, R%(risk)s"),
    "product.risk": _l("%(code)s: R%(from)s → R%(to)s"),
    "questionnaire.activate": _l("Version %(version)s, %(title)s"),
    "export.recommendations": _l("Filters: result %(outcome)s, product %(product_id)s, from %(since_day)s to "
                                 "%(until_day)s: %(rows)s recommendations"),
}
PARAM_MAPS = {"outcome": "OUTCOMES"}
