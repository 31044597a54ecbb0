"""The words for every refusal a rule can raise (`crm.domain.refusals.RuleError`), and the one helper
that shows a refusal: on its form field when the form has it, else as a flashed message.

Codes are `<feature>.<rule>`; the text may use the refusal's parameters as `%(name)s`. A test walks
every `RuleError(...)` raised under `crm/` and fails on a code that has no text here.
"""
from __future__ import annotations

from flask import flash
from flask_babel import lazy_gettext as _l

from crm.domain.refusals import NotAllowed, NotFound, RuleError

TEXT = {
    # ---------------------------------------------------------------- shared
    "not_found": _l("This page does not exist, or you do not have access to it."),
    "not_allowed": _l("You do not have access to this page."),
    # ---------------------------------------------------------------- clients, visits, profiles
    # The format of a mobile, an ID number, a credit code or an amount (crm.domain.formats.InvalidFormat).
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
    # A number already on file (撞单): what each person is told (crm.services.capture_clash.refusal).
    "clients.mobile_on_file": _l("This mobile number is already on file. If the client should be yours, "
                                 "a team lead or compliance can help."),
    "clients.mobile_on_file_visible": _l("This mobile number is already on file: here is the client."),
    "clients.mobile_on_file_team": _l("This mobile number belongs to a client of %(owner)s. "
                                      "Your team lead can reassign the client if needed."),
    "clients.mobile_on_another_file": _l("This mobile number is already on another client's file."),
    "clients.mobile_clashes_refused": _l("Too many numbers already on file were entered in the last hour. "
                                         "Try again later or ask your team lead."),
    "clients.id_number_taken": _l("This ID number is already on another client's file."),
    "clients.edited_meanwhile": _l("These fields were changed by both of you. Nothing of yours was saved yet: "
                                   "check each one, then save again to keep your version."),
    "profiles.newer_version": _l("Nothing of yours was saved yet. Compare with the history below, "
                                 "then save again to keep your version."),
    # ---------------------------------------------------------------- suitability
    "suitability.answers_missing": _l("%(count)s questions are not answered yet: they are marked below."),
    "suitability.product_forbidden": _l("This product may not be recommended to this client."),
    "suitability.warning_not_given": _l("The special risk warning must be given first."),
    "suitability.confirmation_needed": _l("Needed to record the client's confirmation."),
    "suitability.product_code_taken": _l("A product with this code exists."),
    # A questionnaire written as text (crm.domain.questionnaire_text.LineError, one per line at fault).
    "title.missing": _l("The title line (标题: …) is missing."),
    "title.duplicate": _l("A second title line (the first is on line %(first_line)s)."),
    "title.too_long": _l("The title has %(length)s characters; at most %(max)s."),
    "bands.duplicate": _l("A second score bands line (the first is on line %(first_line)s)."),
    "bands.missing": _l("The score bands line (分档: four numbers) is missing."),
    "bands.format": _l("Score bands are four whole numbers (the lowest scores of C2, C3, C4 and C5), "
                       "not “%(value)s”."),
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
    # ---------------------------------------------------------------- users and admin
    "users.team_name_taken": _l("A team with this name exists."),
    "users.outlet_taken": _l("This outlet is already on the list."),
    "auth.too_many_attempts": _l("Too many attempts. Please try again in %(seconds)s seconds."),
    "auth.wrong_password": _l("Wrong username or password."),
    "auth.current_password_wrong": _l("The current password is not right."),
    "auth.same_password": _l("Choose a password different from the current one."),
    "auth.signed_out_after_tries": _l("The current password was wrong %(count)s times: you have been signed "
                                      "out. Please sign in again."),
    # ---------------------------------------------------------------- complaints
    "complaint.required": _l("This field is required."),
    "complaint.step_not_allowed": _l("This status change is not allowed."),
    "complaint.not_later": _l("Choose a day after the current deadline."),
    "complaint.closed": _l("The complaint is closed."),
    "complaint.same_owner": _l("The complaint is already with this person."),
    "complaint.changed_meanwhile": _l("Someone else changed this complaint meanwhile: check it and try again."),
    # ---------------------------------------------------------------- follow-ups and plans
    "followup.snooze_too_far": _l("The client is not in your book: put it off by %(days)s days at most, "
                                  "or ask the team lead."),
    "plan.exists": _l("The client already has an active plan: end it before starting another."),
    "plan.every": _l("Enter how many days, weeks or months between occurrences (1 or more)."),
    "plan.holidays": _l("Choose at least one holiday."),
    "plan.product": _l("Choose the product to recommend."),
    "plan.birthday_kind": _l("Birthdays and holidays go with the care item."),
    "plan.no_birthday": _l("No birthday on file: add it to the needs profile or enter the ID number."),
    "plan.review_on": _l("The review date must be after the plan's start."),
    "plan.name_taken": _l("A template with this name exists."),
    # The page shows the suitability check's own reasons; this is the refusal's words anywhere else.
    "plan.product_not_suitable": _l("This product may not be recommended to this client."),
    "plan.changed_meanwhile": _l("Someone changed this plan while you were editing. The current values are "
                                 "shown above; nothing of yours was saved. Save again to keep your version."),
    # ---------------------------------------------------------------- channel partners
    "partners.mobile_taken": _l("You already keep a partner with this mobile number."),
    "partners.edited_meanwhile": _l("Someone else saved this partner while you were editing. Nothing of yours "
                                    "was saved yet: the current values are shown; save again to keep yours."),
    "partners.contact_in_future": _l("A contact cannot be in the future."),
    # ---------------------------------------------------------------- team pool and protection periods
    "pool.already_claimed": _l("Someone else took this prospect from the pool a moment ago."),
    "pool.not_assignable": _l("Choose a manager of the team from the list."),
    "pool.extend_pooled": _l("This prospect is in the team pool: assign it to a manager instead."),
    "pool.extend_not_prospect": _l("Only a prospect without an opened account has a protection period."),
    "pool.extend_past": _l("Choose a day after today."),
    "pool.extend_too_far": _l("A protection can be extended by at most %(days)s days."),
    # ---------------------------------------------------------------- outlet coverage (驻点排班)
    "coverage.weekday_required": _l("Choose at least one weekday."),
    "coverage.ends_before_starts": _l("The last day cannot be before the first day."),
    "coverage.outlet_inactive": _l("Choose an outlet in use."),
    "coverage.outlet_required": _l("Choose the outlet where they will be that day."),
    "coverage.kind_unknown": _l("Choose leave or another outlet."),
    "coverage.pattern_overlaps": _l("%(member)s is already planned on one of these weekdays in that period "
                                    "(at %(outlet)s): end that pattern first."),
    "coverage.pattern_ended": _l("This pattern already ends on or before that day."),
    "coverage.exception_exists": _l("%(member)s already has an exception on that day: remove it first."),
    "coverage.not_checked_in": _l("You are not checked in anywhere today."),
    "coverage.location_invalid": _l("The location could not be read: check in without it, or try again."),
    # ---------------------------------------------------------------- asset imports
    "assets.empty_file": _l("The file has no data rows."),
    "assets.encoding": _l("The file is not UTF-8 or GB18030 text. In Excel, save it as “CSV UTF-8”."),
    "assets.malformed": _l("This row is not valid CSV (for example an unclosed quote)."),
    "assets.too_large": _l("The file is larger than %(megabytes)s MB."),
    "assets.missing_column": _l("The header has no %(column)s column."),
    "assets.duplicate_column": _l("The header has the column %(column)s more than once."),
    "assets.no_client_key": _l("Give the client's mobile or client number."),
    "assets.bad_mobile": _l("%(value)s is not a valid mainland mobile number."),
    "assets.unknown_client": _l("No client on file has %(value)s."),
    "assets.client_mismatch": _l("The mobile %(mobile)s and the client number %(client_no)s belong to different "
                                 "clients."),
    "assets.missing_date": _l("The date is missing."),
    "assets.bad_date": _l("%(value)s is not a date: use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD."),
    "assets.future_date": _l("The date %(value)s is in the future."),
    "assets.missing_amount": _l("The total assets are missing."),
    "assets.bad_amount": _l("%(value)s is not an amount in yuan with at most two decimals."),
    "assets.negative_amount": _l("Total assets cannot be negative: %(value)s."),
    "assets.amount_too_large": _l("%(value)s is too large to be a client's total assets."),
    "assets.duplicate": _l("This client and date are already on line %(first_line)s."),
    "assets.running": _l("An import of yours is still running (started at %(time)s). "
                         "Wait until it has finished, then upload the file again."),
    # ---------------------------------------------------------------- referrals
    # An unknown id and one the user may not see get the same words (no oracle).
    "referrals.unknown": _l("This referrer is not one of your clients or partners. Search again, or leave the "
                            "referrer empty."),
    "referrals.self": _l("A client cannot be their own referrer."),
}


def text(error: RuleError, **display: object) -> str:
    """The refusal in the user's language, its parameters filled in; `display` adds or replaces
    parameters as the page shows them (a time in Shanghai, an amount in yuan)."""
    words = str(TEXT[error.code])
    params = {**error.params, **display}
    return words % params if params and "%(" in words else words


def show(error: RuleError, form=None, **display: object) -> None:
    """Put each refusal on its form field; one whose field the form lacks (or has none) is flashed.

    NotFound and NotAllowed are not words on a form: they are raised again, and the error handlers
    answer 404 or 403, so a loader caught by a broad `except RuleError` still never confirms a record.
    """
    if isinstance(error, NotFound | NotAllowed):
        raise error
    for each in error.all:
        field = getattr(form, each.field, None) if form is not None and each.field else None
        words = text(each, **display)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, words]
        else:
            flash(words, "error")
