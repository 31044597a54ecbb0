"""Server errors the property-based fuzz (tests/test_fuzz_inputs.py) found, each kept as a plain test."""
from __future__ import annotations

import pytest

from crm.extensions import db
from crm.services import suitability
from tests.factories import make_client, make_questionnaire


@pytest.fixture
def questionnaire(app):
    found = make_questionnaire()
    db.session.commit()
    return found


@pytest.mark.parametrize("key, value", [("q²", "1"), ("q1", "²"), ("q１", "1"), ("q1", "１"), ("q" + "9" * 30, "1"),
                                        ("q1", "9" * 30)])
def test_answers_in_superscript_or_full_width_digits_are_ignored_not_a_server_error(
        login, world, questionnaire, key, value):
    client = make_client(world.manager1)
    db.session.commit()
    signed_in = login("manager1")
    for url in (f"/clients/{client.id}/assessment", f"/clients/{client.id}/assessment/draft"):
        response = signed_in.post(url, data={key: value})
        assert response.status_code in (303, 422), (url, response.status_code)


def test_only_ascii_digit_answers_naming_a_real_option_are_kept(app, questionnaire):
    question = questionnaire.questions[0]
    option = question.options[0]
    raw = {f"q{question.id}": str(option.id), "q²": "1", f"q{question.id}²": str(option.id), "x": "1"}
    assert suitability.parse_answers(questionnaire, raw) == {question.id: option.id}
    assert suitability.parse_answers(questionnaire, {f"q{question.id}": "²"}) == {}
