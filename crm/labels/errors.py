"""Refusal words still read through crm.labels until their features use crm/routes/refusals.py (then deleted)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

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

COMPLAINT_ERRORS = {
    "required": _l("This field is required."),
    "not_allowed": _l("This status change is not allowed."),
    "not_later": _l("Choose a day after the current deadline."),
    "closed": _l("The complaint is closed."),
    "same_owner": _l("The complaint is already with this person."),
}

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
