"""Refusals of clients, profiles, suitability, users and Settings: each is a RuleError with its code and field,
and its words come from the one catalogue (crm.routes.refusals)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.domain.formats import InvalidFormat, normalize_mobile
from crm.domain.questionnaire_text import LineError, QuestionnaireError, parse_questionnaire
from crm.domain.refusals import Conflict, RuleError
from crm.extensions import db
from crm.models import Product, SignInAttempt
from crm.routes import refusals
from crm.services import capture_clash, profiles, signin, suitability, users
from crm.services import clients as client_service
from tests.factories import PASSWORD, make_client, make_questionnaire


def test_a_mobile_on_file_is_refused_on_the_mobile_field_with_the_client_holding_it(app, world):
    held = make_client(world.manager1, mobile="13900000001")
    with pytest.raises(client_service.DuplicateMobile) as caught:
        make_client(world.manager2, mobile="13900000001")
    assert (caught.value.code, caught.value.field, caught.value.client) == ("clients.mobile_on_file", "mobile", held)


def test_an_id_number_on_another_file_is_refused_on_the_id_number_field(app, world):
    make_client(world.manager1, id_number="11010519491231002X")
    other = make_client(world.manager1)
    db.session.commit()
    loaded = client_service.snapshot(other)
    with pytest.raises(client_service.DuplicateIdNumber) as caught:
        client_service.edit_client(other, world.manager1, {**loaded, "id_number": "11010519491231002X"},
                                   loaded, other.version)
    assert isinstance(caught.value, RuleError)
    assert (caught.value.code, caught.value.field) == ("clients.id_number_taken", "id_number")


def test_an_edit_over_someone_elses_change_is_a_conflict_carrying_what_changed(app, world):
    client = make_client(world.manager1, name="张三")
    db.session.commit()
    loaded, version = client_service.snapshot(client), client.version
    client_service.edit_client(client, world.lead, {**loaded, "name": "张四"}, loaded, version)
    db.session.commit()
    with pytest.raises(client_service.EditConflict) as caught:
        client_service.edit_client(client, world.manager1, {**loaded, "name": "张五"}, loaded, version)
    assert isinstance(caught.value, Conflict) and caught.value.code == "clients.edited_meanwhile"
    assert [(c.name, c.theirs, c.mine) for c in caught.value.changes] == [("name", "张四", "张五")]


@pytest.mark.parametrize(("told", "form", "code", "params"), [
    ("visible", "capture", "clients.mobile_on_file_visible", {}),
    ("team", "capture", "clients.mobile_on_file_team", {"owner": "王经理"}),
    ("elsewhere", "capture", "clients.mobile_on_file", {}),
    ("refused", "capture", "clients.mobile_clashes_refused", {}),
    ("visible", "edit", "clients.mobile_on_another_file", {}),
    ("elsewhere", "edit", "clients.mobile_on_another_file", {}),
    ("refused", "edit", "clients.mobile_clashes_refused", {}),
])
def test_each_clash_answer_is_a_refusal_on_the_mobile_field(app, world, told, form, code, params):
    refusal = capture_clash.refusal(told, make_client(world.manager1), form)
    assert (refusal.code, refusal.field, refusal.params) == (code, "mobile", params)


def test_a_profile_saved_meanwhile_is_a_conflict_with_the_newer_version(app, world):
    client = make_client(world.manager1)
    newer = profiles.save_profile(client, world.manager2, {"income_band": "100k_300k"}, 0)
    with pytest.raises(profiles.ProfileConflict) as caught:
        profiles.save_profile(client, world.manager1, {"income_band": "gt1m"}, 0)
    assert isinstance(caught.value, Conflict) and caught.value.code == "profiles.newer_version"
    assert caught.value.current == newer


def test_unanswered_questions_are_refused_with_their_count(app, world):
    client, questionnaire = make_client(world.manager1), make_questionnaire()
    with pytest.raises(suitability.IncompleteAnswers) as caught:
        suitability.submit_assessment(client, questionnaire, world.manager1, {})
    assert (caught.value.code, caught.value.params) == ("suitability.answers_missing", {"count": 2})
    assert caught.value.missing == [q.id for q in questionnaire.questions]


def test_a_forbidden_product_is_refused_on_the_product_field_with_the_decision(app, world):
    client, product = make_client(world.manager1), Product(code="F9", name="产品", kind="fund", risk=3)
    db.session.add(product)
    with pytest.raises(suitability.RecommendationRefused) as caught:
        suitability.recommend(client, product, world.manager1)  # never assessed
    assert (caught.value.code, caught.value.field) == ("suitability.product_forbidden", "product_id")
    assert caught.value.decision.outcome == "forbidden"


@pytest.mark.parametrize(("confirmation", "fields"), [
    (None, {"warning_given": "suitability.warning_not_given",
            "confirmation_method": "suitability.confirmation_needed",
            "confirmation_ref": "suitability.confirmation_needed",
            "confirmed_at": "suitability.confirmation_needed"}),
    (suitability.Confirmation(True, "form", "", None), {"confirmation_ref": "suitability.confirmation_needed",
                                                        "confirmed_at": "suitability.confirmation_needed"}),
])
def test_a_mismatch_names_each_missing_part_of_the_confirmation_on_its_field(app, confirmation, fields):
    refusal = suitability.ConfirmationMissing.of(confirmation)
    assert isinstance(refusal, RuleError) and refusal.fields() == fields


def test_a_complete_confirmation_misses_nothing(app):
    from crm.models import utcnow

    assert suitability.ConfirmationMissing.of(suitability.Confirmation(True, "form", "F-1", utcnow())) is None


@pytest.mark.parametrize(("create", "code", "field"), [
    (lambda: users.create_team(None, "一部"), "users.team_name_taken", "name"),
    (lambda: users.create_outlet(None, "工商银行", "朝阳支行", "北京"), "users.outlet_taken", "branch"),
])
def test_a_name_in_use_is_refused_on_the_field_where_it_was_typed(app, world, create, code, field):
    with pytest.raises(users.NameTaken) as caught:
        create()
    assert (caught.value.code, caught.value.field) == (code, field)


def test_a_format_refusal_is_still_a_value_error_and_keeps_its_translated_words(app):
    with pytest.raises(InvalidFormat) as caught:
        normalize_mobile("12345")
    assert isinstance(caught.value, RuleError) and isinstance(caught.value, ValueError)
    with app.test_request_context():
        assert refusals.text(caught.value) == "大陆手机号应为11位数字。"


def test_questionnaire_lines_are_refusals_carrying_their_line(app):
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire("标题: 问卷\n分档: 1 2 3 4\n1. 题\n- 甲 | x\n")
    assert all(isinstance(error, LineError) for error in caught.value.all)
    assert [(error.line, error.code) for error in caught.value.all] == [(3, "question.no_options"),
                                                                        (4, "option.score")]
    with app.test_request_context():
        assert refusals.text(caught.value.all[1]) == "选项分值须为0或正整数，不能是“x”。"


def _attempts() -> list[bool]:
    return list(db.session.execute(sa.select(SignInAttempt.succeeded).order_by(SignInAttempt.id)).scalars())


def test_settings_current_password_wrong_is_stored_and_refused_on_its_field(app, world):
    with app.test_request_context(), pytest.raises(RuleError) as caught:
        signin.check_current_password(world.manager1, "not-it", "Another-pass-987", "10.0.0.1", None)
    assert (caught.value.code, caught.value.field) == ("auth.current_password_wrong", "current_password")
    assert _attempts() == [False]


def test_settings_new_password_equal_to_the_current_one_is_refused_and_stores_nothing(app, world):
    with app.test_request_context(), pytest.raises(RuleError) as caught:
        signin.check_current_password(world.manager1, PASSWORD, PASSWORD, "10.0.0.1", None)
    assert (caught.value.code, caught.value.field) == ("auth.same_password", "new_password")
    assert _attempts() == []


def test_settings_current_password_right_is_stored_as_a_success(app, world):
    with app.test_request_context():
        signin.check_current_password(world.manager1, PASSWORD, "Another-pass-987", "10.0.0.1", None)
    assert _attempts() == [True]


def test_settings_current_password_must_wait_after_too_many_failures(app, world):
    with app.test_request_context():
        for _ in range(5):
            signin.record_failure(world.manager1.username, "10.0.0.1")
        with pytest.raises(signin.MustWait) as caught:
            signin.check_current_password(world.manager1, PASSWORD, "Another-pass-987", "10.0.0.1", None)
    assert (caught.value.code, caught.value.field) == ("auth.too_many_attempts", "current_password")
    assert caught.value.params == {"seconds": caught.value.wait.seconds} and caught.value.wait.seconds > 0
    assert _attempts() == [False] * 5


def test_a_product_code_in_use_is_refused_on_the_code_field(app, world):
    suitability.save_product(None, world.admin, code="F1", name="甲", kind="fund", issuer="", risk=3, active=True)
    with pytest.raises(RuleError) as caught:
        suitability.save_product(None, world.admin, code="F1", name="乙", kind="fund", issuer="", risk=2, active=True)
    assert (caught.value.code, caught.value.field) == ("suitability.product_code_taken", "code")


def test_the_product_form_shows_a_code_in_use_on_the_code_field(app, world, login):
    admin = login("admin")
    data = {"code": "F001", "name": "甲", "kind": "fund", "risk": "3", "active": "y"}
    assert admin.post("/admin/products/new", data=data).status_code == 303
    again = admin.post("/admin/products/new", data={**data, "name": "乙"})
    assert again.status_code == 422 and "该产品代码已存在。" in again.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(Product.id))).scalar() == 1
