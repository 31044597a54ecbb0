"""The one refusal type and its one helper: words looked up by code, shown on the field or flashed."""
from __future__ import annotations

import pytest
from flask import get_flashed_messages
from flask_babel import force_locale
from flask_wtf import FlaskForm
from wtforms import StringField

from crm.domain.refusals import LineError, NotAllowed, NotFound, RuleError
from crm.routes import refusals


class NameForm(FlaskForm):
    name = StringField()


@pytest.fixture
def request_ctx(app):
    with app.test_request_context("/", method="POST"):
        yield


def test_a_refusal_on_a_field_of_the_form_is_shown_on_that_field(request_ctx):
    form = NameForm(meta={"csrf": False})
    with force_locale("en"):
        refusals.show(RuleError("plan.name_taken", "name"), form)
        assert form.name.errors == [str(refusals.TEXT["plan.name_taken"])]
    assert get_flashed_messages() == []


def test_a_refusal_whose_field_the_form_lacks_is_flashed(request_ctx):
    form = NameForm(meta={"csrf": False})
    with force_locale("en"):
        refusals.show(RuleError("plan.name_taken", "no_such_field"), form)
        assert get_flashed_messages(category_filter=["error"]) == [str(refusals.TEXT["plan.name_taken"])]
    assert form.name.errors == ()


def test_several_refusals_each_reach_their_own_place(request_ctx):
    form = NameForm(meta={"csrf": False})
    refused = RuleError.several([RuleError("plan.name_taken", "name"), RuleError("plan.exists")])
    assert refused.fields() == {"name": "plan.name_taken"}
    refusals.show(refused, form)
    assert len(form.name.errors) == 1 and len(get_flashed_messages()) == 1


@pytest.mark.parametrize("refusal", [NotFound("client"), NotAllowed("client")])
def test_not_found_and_not_allowed_are_never_words_on_a_form(request_ctx, refusal):
    # A broad `except RuleError` around a loader must still answer 404/403, not confirm the record.
    with pytest.raises(type(refusal)):
        refusals.show(refusal, NameForm(meta={"csrf": False}))
    assert get_flashed_messages() == []


def test_the_page_may_add_parameters_as_it_shows_them(app):
    with app.test_request_context("/"), force_locale("en"):
        words = refusals.text(RuleError("assets.running", "file", since="2026-12-01 01:00"), time="09:00")
    assert "09:00" in words


def test_a_line_error_is_a_refusal_with_its_line_and_compares_by_content():
    error = LineError(3, "assets.bad_mobile", {"value": "12345"})
    assert isinstance(error, RuleError)
    assert error.params == {"line": 3, "value": "12345"} and error.detail == {"value": "12345"}
    assert error == LineError(3, "assets.bad_mobile", {"value": "12345"})
    assert error != LineError(4, "assets.bad_mobile", {"value": "12345"})
