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

INVESTOR_TYPES = {"ordinary": _l("Ordinary investor"), "professional": _l("Professional investor")}

INVESTOR_CRITERIA = {
    "financial_assets": _l("Financial assets of at least ¥5 million"),
    "income": _l("Average annual income of at least ¥500,000 over 3 years"),
    "applied_professional": _l("Ordinary investor applied to be treated as professional"),
    "applied_ordinary": _l("Professional investor asked to be treated as ordinary"),
    "institution": _l("Institution that qualifies as professional"),
    "other": _l("Other (see evidence)"),
}

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

SETTING_NAMES = {
    "assessment_expiry_months": _l("Risk assessments expire after (months)"),
    "assessment_warning_days": _l("Warn about expiring assessments (days ahead)"),
    "dormant_default_days": _l("Dormant after this many days without contact (clients without a tier)"),
    "dormant_asset_days": _l("Dormant after this many days without asset activity"),
    "at_risk_drop_percent": _l("At risk when assets fall by this percentage…"),
    "at_risk_drop_days": _l("…within this many days"),
    "at_risk_satisfaction_max": _l("At risk when the last satisfaction score is at most"),
    "callback_sample_percent": _l("Yearly call-back sample, percentage of active clients"),
    "flag_followups_per_day": _l("New dormant/at-risk follow-ups per manager per working day (the rest wait for "
                                 "the next working days)"),
}

QUESTIONNAIRE_ERRORS = {
    "title.missing": _l("The title line (标题: …) is missing."),
    "title.duplicate": _l("A second title line (the first is on line %(first_line)s)."),
    "title.too_long": _l("The title has %(length)s characters; at most %(max)s."),
    "bands.duplicate": _l("A second score bands line (the first is on line %(first_line)s)."),
    "bands.missing": _l("The score bands line (分档: four numbers) is missing."),
    "bands.format": _l("Score bands are four whole numbers (the lowest scores of C2, C3, C4 and C5), not “%(value)s”."),
    "bands.order": _l("Score bands must increase from C2 to C5: “%(value)s”."),
    "bands.unreachable": _l("The highest possible score is %(max_score)s, below the C5 band (%(c5_min)s)."),
    "option.before_question": _l("An option comes before any question."),
    "option.format": _l("An option is written as: - text | score (| 最低)."),
    "option.score": _l("An option's score must be a whole number of 0 or more, not “%(value)s”."),
    "option.flag": _l("The third column of an option can only be 最低 (lowest category), not “%(value)s”."),
    "option.too_long": _l("The option has %(length)s characters; at most %(max)s."),
    "question.no_options": _l("A question needs at least two options; this one has %(count)s."),
    "question.too_long": _l("The question has %(length)s characters; at most %(max)s."),
    "questions.missing": _l("The questionnaire has no questions."),
    "line.unknown": _l("This line is neither a title, bands, question nor option."),
}

INTENTS = {"transfer_out": _l("Wants to transfer out (转户)"), "close_account": _l("Wants to close the account (销户)")}

SATISFACTION = {5: _l("5 Very satisfied"), 4: _l("4 Satisfied"), 3: _l("3 Neutral"), 2: _l("2 Dissatisfied"),
                1: _l("1 Very dissatisfied")}

FOLLOWUP_KINDS = {
    "call": _l("Call"), "visit": _l("Visit"), "review": _l("Review"), "callback": _l("Call-back (回访)"),
    "plan_item": _l("Service plan item"), "flag": _l("Flagged client"), "complaint": _l("Complaint"),
}

FOLLOWUP_STATUSES = {"open": _l("Open"), "done": _l("Done"), "snoozed": _l("Snoozed"), "cancelled": _l("Cancelled")}

FOLLOWUP_SOURCES = {
    "manual": _l("Assigned"), "visit": _l("Next step of a visit"), "flag": _l("Scan flag"),
    "plan": _l("Service plan"), "complaint": _l("Complaint"), "callback": _l("Call-back rule"),
}

PRIORITIES = {1: _l("High"), 2: _l("Normal"), 3: _l("Low")}

FLAG_KINDS = {"dormant": _l("Dormant"), "at_risk": _l("At risk")}

FLAG_REASONS = {
    "no_contact": _l("No contact for longer than the tier allows"),
    "no_asset_activity": _l("No asset activity for a long time"),
    "assets_drop": _l("Assets fell sharply"),
    "low_satisfaction": _l("Low satisfaction"),
    "leaving_intent": _l("Mentioned transferring out or closing"),
    "complaint_overdue": _l("Overdue complaint"),
}

COMPLAINT_STATUSES = {
    "registered": _l("Registered (受理登记)"),
    "verifying": _l("Verifying (核实)"),
    "responsibility_decided": _l("Responsibility decided (责任认定)"),
    "remedy_proposed": _l("Remedy proposed (方案)"),
    "client_answered": _l("Client answered (反馈)"),
    "closed": _l("Closed and archived (结案归档)"),
}

COMPLAINT_CHANNELS = {
    "outlet": _l("In person at the outlet"),
    "phone": _l("Phone"),
    "letter": _l("Letter"),
    "email": _l("Email"),
    "online": _l("Online"),
    "regulator": _l("12386 hotline or a regulator"),
}

COMPLAINT_CATEGORIES = {
    "service_attitude": _l("Service attitude"),
    "trading_system": _l("Trading system"),
    "fees": _l("Fees and commission"),
    "product_sale": _l("Product sale and suitability"),
    "disclosure": _l("Information disclosure"),
    "transfer_obstruction": _l("Obstructed transfer-out or closing"),
    "other": _l("Other"),
}

COMPLAINT_SEVERITIES = {"normal": _l("Normal"), "serious": _l("Serious"), "major": _l("Major")}

COMPLAINT_EVENT_KINDS = {
    "created": _l("Registered"),
    "status": _l("Status changed"),
    "note": _l("Note"),
    "handover": _l("Handed over"),
    "escalation": _l("Escalated"),
    "extension": _l("Deadline extended"),
    "closed": _l("Closed"),
    "reopened": _l("Reopened"),
}

COMPLAINT_TABS = {"mine": _l("Mine"), "team": _l("Team"), "overdue": _l("Overdue"),
                  "regulator": _l("From a regulator")}

COMPLAINT_ERRORS = {
    "required": _l("This field is required."),
    "not_allowed": _l("This status change is not allowed."),
    "not_later": _l("Choose a day after the current deadline."),
    "closed": _l("The complaint is closed."),
    "same_owner": _l("The complaint is already with this person."),
}

SETTING_NAMES.update({
    "complaint_ack_days_normal": _l("Acknowledge a normal complaint within (working days)"),
    "complaint_ack_days_serious": _l("Acknowledge a serious complaint within (working days)"),
    "complaint_ack_days_major": _l("Acknowledge a major complaint within (working days)"),
    "complaint_resolve_days_normal": _l("Resolve a normal complaint within (working days)"),
    "complaint_resolve_days_serious": _l("Resolve a serious complaint within (working days)"),
    "complaint_resolve_days_major": _l("Resolve a major complaint within (working days)"),
})

PLAN_ITEM_KINDS = {
    "review_call": _l("Regular review call (定期回访)"),
    "research_push": _l("Research and news push (资讯推送)"),
    "seminar": _l("Seminar invitation (投资讲座)"),
    "portfolio_review": _l("Portfolio review (组合检视)"),
    "care": _l("Birthday or holiday care (关怀)"),
    "product": _l("Product recommendation"),
}

CADENCES = {
    "days": _l("Every N days"),
    "weeks": _l("Every N weeks"),
    "months": _l("Every N months"),
    "birthday": _l("On the client's birthday"),
    "holidays": _l("On holidays"),
    "once": _l("Once"),
}

HOLIDAYS = {
    "new_year": _l("New Year's Day (元旦)"),
    "spring_festival": _l("Spring Festival (春节)"),
    "dragon_boat": _l("Dragon Boat Festival (端午)"),
    "mid_autumn": _l("Mid-Autumn Festival (中秋)"),
    "double_ninth": _l("Double Ninth Festival (重阳)"),
    "national_day": _l("National Day (国庆)"),
}

PLAN_STATUSES = {"active": _l("Active"), "ended": _l("Ended")}

PLAN_ERRORS = {
    "exists": _l("The client already has an active plan: end it before starting another."),
    "every": _l("Enter how many days, weeks or months between occurrences (1 or more)."),
    "holidays": _l("Choose at least one holiday."),
    "product": _l("Choose the product to recommend."),
    "birthday_kind": _l("Birthdays and holidays go with the care item."),
    "no_birthday": _l("No birthday on file: add it to the needs profile or enter the ID number."),
    "review_on": _l("The review date must be after the plan's start."),
    "name_taken": _l("A template with this name exists."),
}

SETTING_NAMES.update({
    "plan_lead_days": _l("Create service-plan follow-ups this many days ahead"),
    "plan_grace_days": _l("A plan occurrence counts as missed this many days after it was due"),
})

SETTING_NAMES.update({
    "reminder_lead_minutes": _l("Send follow-up reminder emails this many minutes before the due time"),
})

SETTING_NAMES.update({
    "capture_clash_per_hour": _l("Numbers already on file (another person's client) one person may enter per hour"),
})

# 撞单 (crm.services.capture_clash): what the person entering a number already on file is told.
CAPTURE_CLASH_MESSAGES = {
    "team": _l("This mobile number belongs to a client of %(owner)s. "
               "Your team lead can reassign the client if needed."),
    "elsewhere": _l("This mobile number is already on file. If the client should be yours, "
                    "a team lead or compliance can help."),
    "edit": _l("This mobile number is already on another client's file."),
    "refused": _l("Too many numbers already on file were entered in the last hour. "
                  "Try again later or ask your team lead."),
}

# ...and how the audit trail names the answer and the form.
CAPTURE_CLASH_ANSWERS = {
    "visible": _l("taken to the client (may open it)"),
    "team": _l("told the owner (same team)"),
    "elsewhere": _l("told only that it is on file"),
    "refused": _l("refused: too many in an hour"),
}
CAPTURE_CLASH_FORMS = {"capture": _l("new prospect"), "edit": _l("client file edit")}

# ---------------------------------------------------------------- the audit trail

AUDIT_ACTIONS = {
    "reveal.mobile": _l("Mobile number revealed"),
    "reveal.id_number": _l("ID number revealed"),
    "reveal.mobile.call": _l("Mobile number dialled"),
    "client.reassign": _l("Client reassigned"),
    "client.investor_type": _l("Investor type changed"),
    "user.create": _l("User created"),
    "user.update": _l("User changed"),
    "auth.password_changed": _l("Password changed"),
    "team.create": _l("Team created"),
    "team.rename": _l("Team renamed"),
    "team.join": _l("Joined a team"),
    "team.leave": _l("Left a team"),
    "outlet.create": _l("Outlet added"),
    "outlet.update": _l("Outlet changed"),
    "complaint.register": _l("Complaint registered"),
    "complaint.close": _l("Complaint closed"),
    "complaint.reopen": _l("Complaint reopened"),
    "complaint.handover": _l("Complaint handed over"),
    "complaint.extend": _l("Complaint deadline extended"),
    "workday.override": _l("Calendar override saved"),
    "workday.override.remove": _l("Calendar override removed"),
    "assets.import": _l("Assets imported"),
    "setting.update": _l("Setting changed"),
    "product.create": _l("Product created"),
    "product.risk": _l("Product risk rating changed"),
    "questionnaire.activate": _l("Questionnaire version put in use"),
    "plan_template.save": _l("Plan template saved"),
    "plan_template.add_item": _l("Service added to a plan template"),
    "plan_template.remove_item": _l("Service removed from a plan template"),
    "plan.start": _l("Service plan started"),
    "plan.add_item": _l("Service added to a plan"),
    "plan.remove_item": _l("Service removed from a plan"),
    "plan.update": _l("Service plan revised"),
    "plan.end": _l("Service plan ended"),
    "flags.scan": _l("Dormant and at-risk scan"),
    "followup.assign": _l("Follow-up handed over"),
    "outbox.requeue": _l("Email sent again"),
    "export.audit": _l("Audit trail downloaded (CSV)"),
    "export.complaints": _l("Complaints downloaded (CSV)"),
    "export.recommendations": _l("Recommendations downloaded (CSV)"),
    "client.capture_clash": _l("Mobile number already on file entered (撞单)"),
}

# Details of events with structured parameters (older events keep their English text).
AUDIT_DETAILS = {
    "client.reassign": _l("%(from)s → %(to)s: %(reason)s"),
    "client.investor_type": _l("%(from_type)s → %(to_type)s (%(criterion)s; recording %(recording_ref)s)"),
    "user.create": _l("%(username)s, %(role)s"),
    "user.update": _l("%(username)s: %(changes)s"),
    "auth.password_changed": _l("%(username)s; set by an administrator: %(by_admin)s"),
    "team.create": _l("%(name)s"),
    "team.rename": _l("%(from)s → %(to)s"),
    "team.join": _l("%(user)s joined %(team)s"),
    "team.leave": _l("%(user)s left %(team)s"),
    "outlet.create": _l("%(name)s, %(city)s"),
    "outlet.update": _l("%(name)s: %(changes)s"),
    "complaint.register": _l("%(number)s"),
    "complaint.close": _l("%(number)s"),
    "complaint.reopen": _l("%(number)s"),
    "complaint.handover": _l("%(number)s: %(from)s → %(to)s"),
    "complaint.extend": _l("%(number)s: %(from_day)s → %(to_day)s"),
    "workday.override": _l("%(day)s: %(kind)s"),
    "workday.override.remove": _l("%(day)s"),
    "assets.import": _l("%(source)s: %(rows)s rows, %(inserted)s new, %(updated)s updated, %(unchanged)s unchanged, "
                        "%(tier_changes)s tier changes"),
    "setting.update": _l("%(setting)s: %(from)s → %(to)s"),
    "product.create": _l("%(code)s, R%(risk)s"),
    "product.risk": _l("%(code)s: R%(from)s → R%(to)s"),
    "questionnaire.activate": _l("Version %(version)s, %(title)s"),
    "plan_template.save": _l("%(name)s"),
    "plan_template.add_item": _l("%(item_kind)s"),
    "plan_template.remove_item": _l("%(item_kind)s"),
    "plan.start": _l("From template %(template)s"),
    "plan.add_item": _l("%(item_kind)s"),
    "plan.remove_item": _l("%(item_kind)s; %(cancelled)s follow-ups cancelled"),
    "plan.update": _l("Changed: %(changed)s"),
    "plan.end": _l("%(reason)s"),
    "flags.scan": _l("%(scanned)s clients scanned: %(raised_dormant)s dormant and %(raised_at_risk)s at risk raised, "
                     "%(updated)s updated, %(cleared)s cleared, %(followups)s follow-ups"),
    "followup.assign": _l("%(from)s → %(to)s"),
    "outbox.requeue": _l("To %(to)s"),
    "export.audit": _l("Filters: action %(action)s, user %(user_id)s, client %(client_id)s, name %(client_name)s, "
                       "from %(since_day)s to %(until_day)s"),
    "export.complaints": _l("Tab %(tab)s: %(rows)s complaints"),
    "export.recommendations": _l("Filters: result %(outcome)s, product %(product_id)s, from %(since_day)s to "
                                 "%(until_day)s: %(rows)s recommendations"),
    "client.capture_clash": _l("%(mobile)s in the %(form)s form: %(answer)s"),
}

# Parameters whose values are codes, and the label mapping (a name in this module) that translates them.
AUDIT_PARAM_LABELS = {
    "role": "ROLES", "from_type": "INVESTOR_TYPES", "to_type": "INVESTOR_TYPES", "criterion": "INVESTOR_CRITERIA",
    "setting": "SETTING_NAMES", "item_kind": "PLAN_ITEM_KINDS", "changes": "AUDIT_CHANGE_NAMES",
    "changed": "AUDIT_CHANGE_NAMES", "kind": "AUDIT_CHANGE_NAMES", "tab": "COMPLAINT_TABS", "outcome": "OUTCOMES",
    "answer": "CAPTURE_CLASH_ANSWERS", "form": "CAPTURE_CLASH_FORMS",
}

AUDIT_CHANGE_NAMES = {
    "username": _l("Username"), "display_name": _l("Display name"), "email": _l("Email"), "role": _l("Role"),
    "team_id": _l("Team"), "outlet_id": _l("Outlet"), "locale": _l("Language"), "active": _l("Account active"),
    "deactivated": _l("Deactivated"), "reactivated": _l("Reactivated"), "password": _l("Password reset"),
    "bank": _l("Bank"), "branch": _l("Branch"), "city": _l("City"), "taken_out_of_use": _l("Taken out of use"),
    "put_in_use": _l("Put back in use"), "goals": _l("Goals"), "review_on": _l("Review date"),
    "working_day": _l("A working day"), "day_off": _l("A day off"),
}

AUDIT_OBJECT_TYPES = {
    "client": _l("Client"), "user": _l("User"), "team": _l("Team"), "outlet": _l("Outlet"),
    "complaint": _l("Complaint"), "follow_up": _l("Follow-up"), "product": _l("Product"),
    "questionnaire": _l("Questionnaire"), "plan_template": _l("Plan template"), "setting": _l("Settings"),
    "workday_override": _l("Holiday calendar"), "asset_snapshots": _l("Asset import"),
    "client_flags": _l("Client flags"), "outbox_email": _l("Email"), "audit_trail": _l("Audit trail"),
    "recommendation": _l("Recommendations"),
}

AUDIT_SOURCES = {"web": _l("Web"), "scheduler": _l("System (scheduler)"), "cli": _l("Command line")}

# Sign-in throttling and failed sign-ins (crm.services.signin).
SIGN_IN_THROTTLE_SCOPES = {
    "account_address": _l("this username from this address"),
    "account": _l("this username from many addresses"),
    "address": _l("many usernames from this address"),
    "device": _l("this username from a browser it signed in on before"),
}
SIGN_IN_PLACES = {"login": _l("sign-in page"), "settings": _l("current password in Settings")}
AUDIT_ACTIONS.update({
    "auth.sign_in_failed": _l("Sign-in failed"),
    "auth.throttled": _l("Sign-in slowed down (too many failures)"),
    "auth.failures_notified": _l("User emailed about failed sign-ins"),
})
AUDIT_DETAILS.update({
    "auth.sign_in_failed": _l("Username %(username)s (%(where)s)"),
    "auth.throttled": _l("%(username)s: next try in %(seconds)s s (%(scope)s)"),
    "auth.failures_notified": _l("%(username)s: %(failures)s failed sign-ins in an hour, from %(addresses)s"),
})
AUDIT_PARAM_LABELS.update({"scope": "SIGN_IN_THROTTLE_SCOPES", "where": "SIGN_IN_PLACES"})

# Signed-in sessions (crm.services.sessions): why a session ended, and device names with a local form.
SESSION_END_REASONS = {
    "sign-out": _l("signed out"),
    "idle": _l("not used for too long"),
    "expired": _l("time limit reached"),
    "token-reuse": _l("an old copy of its remember cookie was used (possible theft)"),
    "user": _l("ended by the user"),
    "admin": _l("ended by an administrator"),
    "operator": _l("ended on the server's command line"),
    "password-change": _l("password changed"),
    "password-reset": _l("password reset by an administrator"),
    "deactivated": _l("account deactivated"),
}
DEVICE_BROWSERS = {
    "": _l("Unknown device"),
    "wechat": _l("WeChat"), "wecom": _l("WeCom"), "dingtalk": _l("DingTalk"), "alipay": _l("Alipay"),
    "qq": _l("QQ Browser"), "uc": _l("UC Browser"), "quark": _l("Quark"), "huawei": _l("Huawei Browser"),
    "xiaomi": _l("Xiaomi Browser"), "edge": "Edge", "opera": "Opera", "firefox": "Firefox", "chrome": "Chrome",
    "safari": "Safari",
}
AUDIT_ACTIONS.update({
    "auth.sign_in": _l("Signed in"),
    "auth.sign_out": _l("Signed out"),
    "auth.session_ended": _l("Session ended"),
    "auth.sessions_ended": _l("Signed out everywhere"),
})
AUDIT_DETAILS.update({
    "auth.sign_in": _l("%(device)s; kept signed in: %(remember)s"),
    "auth.sign_out": _l("%(device)s"),
    "auth.session_ended": _l("%(device)s: %(end_reason)s"),
    "auth.sessions_ended": _l("%(count)s sessions ended: %(end_reason)s"),
})
AUDIT_PARAM_LABELS.update({"end_reason": "SESSION_END_REASONS"})
