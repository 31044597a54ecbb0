"""Labels of the needs profile and of the investor type (ordinary or professional)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.labels.maps import EnumLabels
from crm.models import InvestorType

INCOME_BANDS = {
    "lt100k": _l("Under ¥100,000 a year"),
    "100k_300k": _l("¥100,000–300,000 a year"),
    "300k_500k": _l("¥300,000–500,000 a year"),
    "500k_1m": _l("¥500,000–1 million a year"),
    "gt1m": _l("Over ¥1 million a year"),
}

ASSETS_BANDS = {
    "lt500k": _l("Under ¥500,000"),
    "500k_1m": _l("¥500,000–1 million"),
    "1m_5m": _l("¥1–5 million"),
    "5m_10m": _l("¥5–10 million"),
    "gt10m": _l("Over ¥10 million"),
}

PRODUCT_TYPES = {
    "stocks": _l("Stocks"),
    "funds": _l("Mutual funds"),
    "bonds": _l("Bonds and repos"),
    "wealth": _l("Bank wealth products"),
    "margin": _l("Margin trading"),
    "options": _l("Options"),
    "futures": _l("Futures"),
    "private": _l("Private funds"),
}

GOALS = {
    "preserve": _l("Preserve capital"),
    "income": _l("Steady income"),
    "growth": _l("Long-term growth"),
    "retirement": _l("Retirement"),
    "education": _l("Children's education"),
    "speculation": _l("Short-term gains"),
}

HORIZONS = {
    "lt1y": _l("Under 1 year"),
    "1_3y": _l("1–3 years"),
    "3_5y": _l("3–5 years"),
    "gt5y": _l("Over 5 years"),
}

LIQUIDITY_NEEDS = {"high": _l("High"), "medium": _l("Medium"), "low": _l("Low")}

PREFERENCES = {
    "conservative": _l("Conservative"),
    "moderate": _l("Moderately conservative"),
    "balanced": _l("Balanced"),
    "growth": _l("Growth"),
    "aggressive": _l("Aggressive"),
}

CONTACT_CHANNELS = {
    "phone": _l("Phone"),
    "wechat": _l("WeChat"),
    "sms": _l("SMS"),
    "visit": _l("Visit"),
    "email": _l("Email"),
}

PROFILE_FIELD_NAMES = {
    "income_band": _l("Annual income"),
    "assets_band": _l("Investable assets"),
    "experience_years": _l("Years of investing"),
    "product_types": _l("Products used"),
    "goals": _l("Goals"),
    "horizon": _l("Investment horizon"),
    "liquidity_need": _l("Liquidity needs"),
    "preference": _l("Investment preference"),
    "contact_channel": _l("Preferred contact channel"),
    "contact_time": _l("Preferred contact time"),
    "birthday": _l("Birthday"),
    "notes": _l("Notes"),
}

INVESTOR_TYPES = EnumLabels(InvestorType, {
    InvestorType.ORDINARY: _l("Ordinary investor"),
    InvestorType.PROFESSIONAL: _l("Professional investor"),
})

INVESTOR_CRITERIA = {
    "financial_assets": _l("Financial assets of at least ¥5 million"),
    "income": _l("Average annual income of at least ¥500,000 over 3 years"),
    "applied_professional": _l("Ordinary investor applied to be treated as professional"),
    "applied_ordinary": _l("Professional investor asked to be treated as ordinary"),
    "institution": _l("Institution that qualifies as professional"),
    "other": _l("Other (see evidence)"),
}

# The parts crm/labels/audit.py assembles.
ACTIONS = {"client.investor_type": _l("Investor type changed")}
DETAILS = {
    "client.investor_type": _l("%(from_type)s → %(to_type)s (%(criterion)s; recording %(recording_ref)s)"),
}
PARAM_MAPS = {"from_type": "INVESTOR_TYPES", "to_type": "INVESTOR_TYPES", "criterion": "INVESTOR_CRITERIA"}
