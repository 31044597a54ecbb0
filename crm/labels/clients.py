"""Labels of the client file: stages, where prospects come from, the capture form and 撞单 on the trail."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.labels.maps import EnumLabels
from crm.models import SourceChannel, Stage

STAGES = EnumLabels(Stage, {
    Stage.PROSPECT: _l("Prospect"),
    Stage.CONTACTED: _l("Contacted"),
    Stage.ACCOUNT_OPENED: _l("Account opened"),
    Stage.ACTIVE: _l("Active"),
    Stage.DORMANT: _l("Dormant"),
    Stage.LOST: _l("Lost"),
})

SOURCE_CHANNELS = EnumLabels(SourceChannel, {
    SourceChannel.BANK_STAFF: _l("Bank staff"),
    SourceChannel.CORPORATE_FINANCE: _l("Corporate finance staff"),
    SourceChannel.WALK_IN: _l("Walk-in"),
    SourceChannel.REFERRAL: _l("Referral by a client"),
    SourceChannel.SEMINAR: _l("Seminar"),
    SourceChannel.ONLINE: _l("Online"),
    SourceChannel.QR: _l("QR self-registration"),
    SourceChannel.OTHER: _l("Other"),
})

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

FIELD_NAMES = {
    "name": _l("Name"),
    "mobile": _l("Mobile"),
    "id_number": _l("ID number"),
    "gender": _l("Gender"),
    "age_band": _l("Age band"),
    "source_channel": _l("Source channel"),
    "referrer": _l("Referrer"),
    "referrer_client_id": _l("Referred by (client)"),
    "referrer_partner_id": _l("Referred by (partner)"),
    "outlet_id": _l("Outlet"),
    "interests": _l("Interests"),
    "consent_contact": _l("Consents to be contacted"),
    "consent_channel": _l("Consent channel"),
}

# 撞单 (crm.services.capture_clash): how the audit trail names the answer and the form.
CAPTURE_CLASH_ANSWERS = {
    "visible": _l("taken to the client (may open it)"),
    "team": _l("told the owner (same team)"),
    "elsewhere": _l("told only that it is on file"),
    "refused": _l("refused: too many in an hour"),
}
CAPTURE_CLASH_FORMS = {"capture": _l("new prospect"), "edit": _l("client file edit")}

# The parts crm/labels/settings.py and crm/labels/audit.py assemble.
SETTINGS = {
    "capture_clash_per_hour": _l("Numbers already on file (another person's client) one person may enter per hour"),
}
ACTIONS = {
    "reveal.mobile": _l("Mobile number revealed"),
    "reveal.id_number": _l("ID number revealed"),
    "reveal.mobile.call": _l("Mobile number dialled"),
    "client.reassign": _l("Client reassigned"),
    "client.capture_clash": _l("Mobile number already on file entered (撞单)"),
}
DETAILS = {
    "client.reassign": _l("%(from)s → %(to)s: %(reason)s"),
    "client.capture_clash": _l("%(mobile)s in the %(form)s form: %(answer)s"),
}
PARAM_MAPS = {"answer": "CAPTURE_CLASH_ANSWERS", "form": "CAPTURE_CLASH_FORMS"}
