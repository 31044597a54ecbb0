"""Translated labels for stored codes (stages, channels, roles, outcomes...)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from crm.models import Role, SourceChannel, Stage, VisitChannel, VisitOutcome

STAGES = {
    Stage.PROSPECT: _l("Prospect"),
    Stage.CONTACTED: _l("Contacted"),
    Stage.ACCOUNT_OPENED: _l("Account opened"),
    Stage.ACTIVE: _l("Active"),
    Stage.DORMANT: _l("Dormant"),
    Stage.LOST: _l("Lost"),
}

SOURCE_CHANNELS = {
    SourceChannel.BANK_STAFF: _l("Bank staff"),
    SourceChannel.CORPORATE_FINANCE: _l("Corporate finance staff"),
    SourceChannel.WALK_IN: _l("Walk-in"),
    SourceChannel.REFERRAL: _l("Referral by a client"),
    SourceChannel.SEMINAR: _l("Seminar"),
    SourceChannel.ONLINE: _l("Online"),
    SourceChannel.OTHER: _l("Other"),
}

VISIT_CHANNELS = {
    VisitChannel.OUTLET: _l("Outlet conversation"),
    VisitChannel.PHONE: _l("Phone call"),
    VisitChannel.WECHAT: _l("WeChat"),
    VisitChannel.VISIT: _l("Visit at home or office"),
    VisitChannel.SEMINAR: _l("Seminar"),
    VisitChannel.OTHER: _l("Other"),
}

VISIT_OUTCOMES = {
    VisitOutcome.INTERESTED: _l("Interested"),
    VisitOutcome.CONSIDERING: _l("Considering"),
    VisitOutcome.NOT_INTERESTED: _l("Not interested"),
    VisitOutcome.SERVED: _l("Served / request handled"),
    VisitOutcome.UNREACHABLE: _l("Could not reach"),
}

ROLES = {
    Role.MANAGER: _l("Client manager"),
    Role.LEAD: _l("Team lead"),
    Role.ADMIN: _l("Compliance / admin"),
}

GENDERS = {"male": _l("Male"), "female": _l("Female")}

AGE_BANDS = {
    "u25": _l("Under 25"),
    "25_34": _l("25–34"),
    "35_44": _l("35–44"),
    "45_54": _l("45–54"),
    "55_64": _l("55–64"),
    "65p": _l("65 and over"),
}

CONSENT_CHANNELS = {
    "phone": _l("Phone"),
    "sms": _l("SMS"),
    "wechat": _l("WeChat"),
    "email": _l("Email"),
}

LOCALES = {"zh_CN": "简体中文", "en": "English"}

FIELD_NAMES = {
    "name": _l("Name"),
    "mobile": _l("Mobile"),
    "id_number": _l("ID number"),
    "gender": _l("Gender"),
    "age_band": _l("Age band"),
    "source_channel": _l("Source channel"),
    "referrer": _l("Referrer"),
    "outlet_id": _l("Outlet"),
    "interests": _l("Interests"),
    "consent_contact": _l("Consents to be contacted"),
    "consent_channel": _l("Consent channel"),
}

FORMAT_ERRORS = {
    "mobile.empty": _l("Enter a mobile number."),
    "mobile.chars": _l("A mobile number has only digits (spaces, dashes and +86 are fine)."),
    "mobile.length": _l("A mainland mobile number has 11 digits."),
    "mobile.prefix": _l("A mainland mobile number starts with 13 to 19."),
    "id.empty": _l("Enter the ID number."),
    "id.length": _l("A resident ID number has 18 characters."),
    "id.chars": _l("A resident ID number has 17 digits and a final digit or X."),
    "id.birthdate": _l("The birth date inside this ID number is not a real past date."),
    "id.checksum": _l("The check digit does not match: please re-check the ID number."),
    "uscc.length": _l("A unified social credit code has 18 characters."),
    "uscc.chars": _l("A unified social credit code uses digits and capital letters except I, O, S, V, Z."),
    "money.format": _l("Enter an amount in yuan with at most two decimals, e.g. 1234.50."),
}


def choices(mapping: dict, blank: str | None = None) -> list[SelectChoice]:
    """WTForms choices from a code → label mapping, optionally led by an empty option."""
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(str(code), label) for code, label in mapping.items()]
