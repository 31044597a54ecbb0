"""The words for every refusal a rule can raise (`crm.domain.refusals.RuleError`), and the one helper
that shows a refusal: on its form field when the form has it, else as a flashed message.

Codes are `<feature>.<rule>`; the text may use the refusal's parameters as `%(name)s`. A test walks
every `RuleError(...)` raised under `crm/` and fails on a code that has no text here.
"""
from __future__ import annotations

from flask import abort, flash
from flask_babel import lazy_gettext as _l

from crm.domain.refusals import NotAllowed, NotFound, RuleError

TEXT = {
    # ---------------------------------------------------------------- shared
    "not_found": _l("This page does not exist, or you do not have access to it."),
    "not_allowed": _l("You do not have access to this page."),
    # ---------------------------------------------------------------- clients, visits, profiles
    # ---------------------------------------------------------------- suitability
    # ---------------------------------------------------------------- users and admin
    # ---------------------------------------------------------------- complaints
    # ---------------------------------------------------------------- follow-ups and plans
    # ---------------------------------------------------------------- asset imports
}


def text(error: RuleError) -> str:
    """The refusal in the user's language, its parameters filled in."""
    words = str(TEXT[error.code])
    return words % error.params if error.params and "%(" in words else words


def show(error: RuleError, form=None) -> None:
    """Put each refusal on its form field; one whose field the form lacks (or has none) is flashed."""
    for each in error.all:
        field = getattr(form, each.field, None) if form is not None and each.field else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, text(each)]
        else:
            flash(text(each), "error")


def abort_for(error: RuleError):
    """404 for a record the user has no business with, 403 for a step they may not take."""
    abort(404 if isinstance(error, NotFound) else 403 if isinstance(error, NotAllowed) else 400)
