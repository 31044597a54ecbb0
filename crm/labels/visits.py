"""Labels of a logged contact: how it happened, what came of it, an intent to leave, satisfaction."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.labels.maps import EnumLabels
from crm.models import Intent, VisitChannel, VisitOutcome

VISIT_CHANNELS = EnumLabels(VisitChannel, {
    VisitChannel.OUTLET: _l("Outlet conversation"),
    VisitChannel.PHONE: _l("Phone call"),
    VisitChannel.WECHAT: _l("WeChat"),
    VisitChannel.VISIT: _l("Visit at home or office"),
    VisitChannel.SEMINAR: _l("Seminar"),
    VisitChannel.OTHER: _l("Other"),
})

VISIT_OUTCOMES = EnumLabels(VisitOutcome, {
    VisitOutcome.INTERESTED: _l("Interested"),
    VisitOutcome.CONSIDERING: _l("Considering"),
    VisitOutcome.NOT_INTERESTED: _l("Not interested"),
    VisitOutcome.SERVED: _l("Served / request handled"),
    VisitOutcome.UNREACHABLE: _l("Could not reach"),
})

INTENTS = EnumLabels(Intent, {
    Intent.TRANSFER_OUT: _l("Wants to transfer out (转户)"),
    Intent.CLOSE_ACCOUNT: _l("Wants to close the account (销户)"),
})

SATISFACTION = {5: _l("5 Very satisfied"), 4: _l("4 Satisfied"), 3: _l("3 Neutral"), 2: _l("2 Dissatisfied"),
                1: _l("1 Very dissatisfied")}
