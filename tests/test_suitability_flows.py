"""Needs profile versions, investor type, risk assessment on a phone, and checked recommendations."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from crm.domain.questionnaire_text import parse_questionnaire
from crm.extensions import db
from crm.models import (
    AssessmentDraft,
    AuditEvent,
    Client,
    InvestorTypeChange,
    NeedsProfile,
    Product,
    Recommendation,
    SuitabilityAssessment,
    utcnow,
)
from crm.services import suitability
from tests.factories import SMALL_QUESTIONNAIRE, make_client


@pytest.fixture
def questionnaire(app):
    q = suitability.create_questionnaire(parse_questionnaire(SMALL_QUESTIONNAIRE), None)
    db.session.commit()
    return q


@pytest.fixture
def zhang(world):
    client = make_client(world.manager1, name="张三")
    db.session.commit()
    return client


def option_ids(q):
    """{(question position, option text): option id}"""
    return {(qu.position, o.text): o.id for qu in q.questions for o in qu.options}


def answer_form(q, picks: dict[int, str]) -> dict:
    ids = option_ids(q)
    by_pos = {qu.position: qu.id for qu in q.questions}
    return {f"q{by_pos[pos]}": ids[(pos, text)] for pos, text in picks.items()}


def make_product(code="F001", risk=3, active=True):
    product = Product(code=code, name=f"产品{code}", kind="fund", risk=risk, active=active)
    db.session.add(product)
    db.session.commit()
    return product


# ------------------------------------------------------------------ needs profile

def profile_form(c, client_id):
    page = c.get(f"/clients/{client_id}/profile").get_data(as_text=True)
    return re.search(r'id="version" name="version" type="hidden" value="(\d+)"', page).group(1)


def test_every_profile_save_keeps_the_previous_version_and_shows_what_changed(login, zhang):
    c = login("manager1")
    v = profile_form(c, zhang.id)
    assert c.post(f"/clients/{zhang.id}/profile", data={"version": v, "income_band": "100k_300k",
                                                        "goals": ["growth", "retirement"]}).status_code == 303
    v = profile_form(c, zhang.id)
    assert c.post(f"/clients/{zhang.id}/profile", data={"version": v, "income_band": "300k_500k",
                                                        "goals": ["growth", "retirement"]}).status_code == 303
    versions = db.session.query(NeedsProfile).filter_by(client_id=zhang.id).order_by(NeedsProfile.version).all()
    assert [p.income_band for p in versions] == ["100k_300k", "300k_500k"]
    page = c.get(f"/clients/{zhang.id}/profile").get_data(as_text=True)
    assert "10万–30万" in page or "100,000" in page
    assert "王经理" in page and "v2" in page


def test_an_unchanged_profile_save_adds_no_version(login, zhang):
    c = login("manager1")
    c.post(f"/clients/{zhang.id}/profile", data={"version": "0", "horizon": "gt5y"})
    c.post(f"/clients/{zhang.id}/profile", data={"version": "1", "horizon": "gt5y"})
    assert db.session.query(NeedsProfile).count() == 1


def test_a_stale_profile_save_is_refused_with_a_conflict(login, zhang):
    first, second = login("manager1"), login("lead")
    v1, v2 = profile_form(first, zhang.id), profile_form(second, zhang.id)
    first.post(f"/clients/{zhang.id}/profile", data={"version": v1, "horizon": "gt5y"})
    response = second.post(f"/clients/{zhang.id}/profile", data={"version": v2, "horizon": "lt1y"})
    assert response.status_code == 409
    assert "王经理" in response.get_data(as_text=True)
    assert db.session.query(NeedsProfile).count() == 1


def test_profile_rejects_unknown_codes(login, zhang):
    response = login("manager1").post(f"/clients/{zhang.id}/profile",
                                      data={"version": "0", "goals": ["gamble"], "experience_years": "-3"})
    assert response.status_code == 422
    assert db.session.query(NeedsProfile).count() == 0


# ------------------------------------------------------------------ investor type

def test_changing_the_investor_type_records_basis_and_is_audited(login, world, zhang):
    response = login("manager1").post(f"/clients/{zhang.id}/investor-type", data={
        "investor_type": "professional", "criterion": "financial_assets", "evidence": "资产证明 500万",
        "basis_date": "2026-11-01", "recording_ref": "REC-1"})
    assert response.status_code == 303
    change = db.session.query(InvestorTypeChange).one()
    assert (change.from_type, change.to_type, change.decided_by_id) == ("ordinary", "professional", world.manager1.id)
    assert db.session.query(AuditEvent).filter_by(action="client.investor_type").count() == 1
    db.session.expire_all()
    assert db.session.get(Client, zhang.id).investor_type == "professional"


def test_investor_type_needs_evidence(login, zhang):
    response = login("manager1").post(f"/clients/{zhang.id}/investor-type", data={
        "investor_type": "professional", "criterion": "income", "evidence": "", "basis_date": ""})
    assert response.status_code == 422
    assert db.session.query(InvestorTypeChange).count() == 0


# ------------------------------------------------------------------ assessment

def test_submitting_the_questionnaire_records_score_level_and_expiry(login, world, zhang, questionnaire):
    c = login("manager1")
    response = c.post(f"/clients/{zhang.id}/assessment",
                      data={"token": "a1", **answer_form(questionnaire, {1: "10%以内", 2: "5年以上"})})
    assert response.status_code == 303
    assessment = db.session.query(SuitabilityAssessment).one()
    assert (assessment.score, assessment.level, assessment.lowest_category) == (8, 4, False)
    assert assessment.assessor_id == world.manager1.id
    assert assessment.questionnaire_id == questionnaire.id
    months = (assessment.expires_at.year - assessment.assessed_at.year) * 12 + \
        assessment.expires_at.month - assessment.assessed_at.month
    assert months == 24
    page = c.get(f"/clients/{zhang.id}").get_data(as_text=True)
    assert "C4" in page


def test_a_no_loss_answer_puts_the_client_in_the_lowest_category(login, zhang, questionnaire):
    login("manager1").post(f"/clients/{zhang.id}/assessment",
                           data={"token": "a1", **answer_form(questionnaire, {1: "不能承受任何损失", 2: "5年以上"})})
    assessment = db.session.query(SuitabilityAssessment).one()
    assert (assessment.level, assessment.lowest_category) == (1, True)


def test_missing_answers_are_marked_and_kept_as_a_draft(login, zhang, questionnaire):
    c = login("manager1")
    partial = answer_form(questionnaire, {1: "10%以内"})
    response = c.post(f"/clients/{zhang.id}/assessment", data={"token": "a1", **partial})
    assert response.status_code == 422
    assert db.session.query(SuitabilityAssessment).count() == 0
    page = c.get(f"/clients/{zhang.id}/assessment").get_data(as_text=True)
    chosen = list(partial.values())[0]
    assert re.search(rf'value="{chosen}" checked', page)


def test_each_answer_is_saved_as_it_is_given(login, zhang, questionnaire):
    c = login("manager1")
    response = c.post(f"/clients/{zhang.id}/assessment/draft", data=answer_form(questionnaire, {2: "没有"}),
                      headers={"HX-Request": "true", "HX-Target": "progress"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and "1" in body
    draft = db.session.query(AssessmentDraft).one()
    assert len(draft.answers) == 1


def test_submitting_removes_the_draft_and_a_retry_adds_no_second_assessment(login, zhang, questionnaire):
    c = login("manager1")
    data = {"token": "same", **answer_form(questionnaire, {1: "30%以上", 2: "没有"})}
    c.post(f"/clients/{zhang.id}/assessment/draft", data=data)
    c.post(f"/clients/{zhang.id}/assessment", data=data)
    c.post(f"/clients/{zhang.id}/assessment", data=data)
    assert db.session.query(SuitabilityAssessment).count() == 1
    assert db.session.query(AssessmentDraft).count() == 0


def test_an_assessment_keeps_the_questionnaire_version_it_was_answered_on(login, zhang, questionnaire):
    c = login("manager1")
    c.post(f"/clients/{zhang.id}/assessment", data={"token": "x", **answer_form(questionnaire, {1: "30%以上", 2: "没有"})})
    newer = suitability.create_questionnaire(parse_questionnaire(SMALL_QUESTIONNAIRE.replace("测试问卷", "新版问卷")), None)
    db.session.commit()
    assessment = db.session.query(SuitabilityAssessment).one()
    assert assessment.questionnaire_id == questionnaire.id != newer.id
    page = c.get(f"/assessments/{assessment.id}").get_data(as_text=True)
    assert "测试问卷" in page and "30%以上" in page


def test_expiring_assessments_are_listed_for_their_manager(login, world, zhang, questionnaire):
    other = make_client(world.manager1, name="李四")
    zhang.risk_level, zhang.risk_expires_at = 3, utcnow() + timedelta(days=10)
    other.risk_level, other.risk_expires_at = 3, utcnow() + timedelta(days=200)
    db.session.commit()
    page = login("manager1").get("/suitability/expiring").get_data(as_text=True)
    assert "张三" in page and "李四" not in page
    assert "张三" not in login("manager2").get("/suitability/expiring").get_data(as_text=True)


# ------------------------------------------------------------------ recommendations

def assess(c, client, questionnaire, picks):
    c.post(f"/clients/{client.id}/assessment", data={"token": f"t{client.id}{picks}",
                                                     **answer_form(questionnaire, picks)})


def test_a_matching_recommendation_is_recorded_with_the_match_opinion(login, zhang, questionnaire):
    c = login("manager1")
    assess(c, zhang, questionnaire, {1: "10%以内", 2: "5年以上"})  # C4
    product = make_product(risk=3)
    response = c.post(f"/clients/{zhang.id}/recommendations/new", data={"product_id": product.id, "token": "r1"})
    assert response.status_code == 303
    rec = db.session.query(Recommendation).one()
    assert (rec.outcome, rec.client_level, rec.product_risk) == ("match", 4, 3)


def test_a_mismatch_cannot_be_saved_without_warning_and_confirmation(login, zhang, questionnaire):
    c = login("manager1")
    assess(c, zhang, questionnaire, {1: "10%以内", 2: "没有"})  # score 4: C2
    product = make_product(risk=4)
    refused = c.post(f"/clients/{zhang.id}/recommendations/new", data={"product_id": product.id, "token": "r1"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'name="confirmation_ref"' in page
    assert db.session.query(Recommendation).count() == 0
    confirmed = c.post(f"/clients/{zhang.id}/recommendations/new", data={
        "product_id": product.id, "token": "r1", "warning_given": "y", "confirmation_method": "signed_form",
        "confirmation_ref": "确认书-0001", "confirmed_at": "2026-01-05T10:00"})
    assert confirmed.status_code == 303
    rec = db.session.query(Recommendation).one()
    assert (rec.outcome, rec.warning_given, rec.confirmation_ref) == ("mismatch", True, "确认书-0001")


@pytest.mark.parametrize("setup, reason_word", [
    ("missing", "评估"),
    ("expired", "过期"),
    ("lowest", "最低"),
])
def test_forbidden_recommendations_are_refused_with_the_reason(login, zhang, questionnaire, setup, reason_word):
    c = login("manager1")
    if setup == "expired":
        assess(c, zhang, questionnaire, {1: "30%以上", 2: "5年以上"})
        db.session.expire_all()
        client = db.session.get(Client, zhang.id)
        client.risk_expires_at = utcnow() - timedelta(days=1)
        db.session.commit()
    elif setup == "lowest":
        assess(c, zhang, questionnaire, {1: "不能承受任何损失", 2: "5年以上"})
    product = make_product(risk=2)
    response = c.post(f"/clients/{zhang.id}/recommendations/new", data={
        "product_id": product.id, "token": "r1", "warning_given": "y", "confirmation_method": "signed_form",
        "confirmation_ref": "X", "confirmed_at": "2026-01-05T10:00"})
    assert response.status_code == 422
    assert reason_word in response.get_data(as_text=True)
    assert db.session.query(Recommendation).count() == 0


def test_check_only_shows_the_decision(login, zhang, questionnaire):
    product = make_product(risk=5)
    response = login("manager1").post(f"/clients/{zhang.id}/recommendations/new",
                                      data={"product_id": product.id, "action": "check"})
    assert response.status_code == 200
    assert db.session.query(Recommendation).count() == 0


def test_compliance_lists_and_exports_recommendations(login, zhang, questionnaire):
    c = login("manager1")
    assess(c, zhang, questionnaire, {1: "10%以内", 2: "5年以上"})
    product = make_product(risk=2)
    c.post(f"/clients/{zhang.id}/recommendations/new", data={"product_id": product.id, "token": "r1"})
    admin = login("admin")
    assert "张三" in admin.get("/compliance/recommendations?outcome=match").get_data(as_text=True)
    assert "张三" not in admin.get("/compliance/recommendations?outcome=mismatch").get_data(as_text=True)
    csv_response = admin.get("/compliance/recommendations?format=csv")
    assert csv_response.mimetype == "text/csv"
    text = csv_response.get_data(as_text=True)
    assert "张三" in text and "F001" in text
    assert login("manager1").get("/compliance/recommendations").status_code == 403
    assert login("lead").get("/compliance/recommendations").status_code == 403


# ------------------------------------------------------------------ access

@pytest.mark.parametrize("method, url", [
    ("GET", "/clients/{c}/profile"), ("POST", "/clients/{c}/profile"),
    ("GET", "/clients/{c}/investor-type"), ("POST", "/clients/{c}/investor-type"),
    ("GET", "/clients/{c}/suitability"), ("GET", "/clients/{c}/assessment"),
    ("POST", "/clients/{c}/assessment"), ("POST", "/clients/{c}/assessment/draft"),
    ("GET", "/assessments/{a}"), ("GET", "/clients/{c}/recommendations/new"),
    ("POST", "/clients/{c}/recommendations/new"),
])
def test_another_manager_cannot_read_or_write_suitability_by_url(login, zhang, questionnaire, method, url):
    c = login("manager1")
    assess(c, zhang, questionnaire, {1: "10%以内", 2: "5年以上"})
    assessment = db.session.query(SuitabilityAssessment).one()
    product = make_product(risk=1)
    response = login("manager2").open(url.format(c=zhang.id, a=assessment.id), method=method,
                                      data={"version": "0", "horizon": "gt5y", "product_id": product.id,
                                            "investor_type": "professional", "criterion": "income",
                                            "evidence": "x", "basis_date": "2026-01-01", "token": "zz"})
    assert response.status_code == 404
    assert db.session.query(NeedsProfile).count() == 0
    assert db.session.query(Recommendation).count() == 0
    assert db.session.query(InvestorTypeChange).count() == 0


def test_overview_shows_distribution_for_leads_and_is_refused_to_managers(login, world, zhang, questionnaire):
    make_client(world.manager2, name="李四")
    db.session.commit()
    assess(login("manager1"), zhang, questionnaire, {1: "10%以内", 2: "5年以上"})
    page = login("lead").get("/suitability/overview").get_data(as_text=True)
    assert "<svg" in page and "李四" in page and "张三" not in page.split("<h2>")[-1]
    assert login("manager1").get("/suitability/overview").status_code == 403


# ------------------------------------------------------------------ admin

def test_admin_publishes_a_questionnaire_version_and_errors_name_their_lines(login, world):
    admin = login("admin")
    bad = admin.post("/admin/questionnaires/new", data={"text": "标题: x\n分档: 1 2 3\n1. 问题\n- 只有一个 | 1\n"})
    assert bad.status_code == 422
    assert "第 2 行" in bad.get_data(as_text=True) or "2 行" in bad.get_data(as_text=True)
    ok = admin.post("/admin/questionnaires/new", data={"text": SMALL_QUESTIONNAIRE})
    assert ok.status_code == 303
    assert suitability.active_questionnaire().title == "测试问卷"


def test_admin_manages_products_and_a_rating_change_is_audited(login, world):
    admin = login("admin")
    data = {"code": "P1", "name": "稳健理财", "kind": "wealth", "issuer": "某资管", "risk": "2", "active": "y"}
    assert admin.post("/admin/products/new", data=data).status_code == 303
    product = db.session.query(Product).one()
    assert admin.post(f"/admin/products/{product.id}", data={**data, "risk": "3"}).status_code == 303
    assert db.session.query(AuditEvent).filter_by(action="product.risk").count() == 1
    assert admin.post("/admin/products/new", data=data).status_code == 422


def test_expiry_months_is_a_setting(login, zhang, questionnaire):
    from crm.services import settings

    values = {**settings.all_values(), "assessment_expiry_months": 12}
    assert login("admin").post("/admin/settings", data=values).status_code == 303
    login("manager1").post(f"/clients/{zhang.id}/assessment",
                           data={"token": "a", **answer_form(questionnaire, {1: "10%以内", 2: "没有"})})
    a = db.session.query(SuitabilityAssessment).one()
    assert (a.expires_at.year - a.assessed_at.year) * 12 + a.expires_at.month - a.assessed_at.month == 12


def test_load_questionnaire_command_publishes_the_shipped_one(runner, app):
    result = runner.invoke(args=["load-questionnaire"])
    assert result.exit_code == 0, result.output
    assert len(suitability.active_questionnaire().questions) >= 10
    again = runner.invoke(args=["load-questionnaire", "--if-none"])
    assert again.exit_code == 0 and len(suitability.questionnaire_versions()) == 1


def test_every_reason_and_questionnaire_error_has_a_message():
    from crm.domain.questionnaire_text import ERROR_CODES
    from crm.domain.suitability import REASON_CODES
    from crm.labels import SUITABILITY_REASONS
    from crm.routes.refusals import TEXT

    assert set(REASON_CODES) <= set(SUITABILITY_REASONS)
    assert set(ERROR_CODES) <= set(TEXT)


def test_a_needs_profile_post_without_its_version_is_no_server_error(app, world, login):
    from tests.factories import make_client as new_client

    client = new_client(world.manager1, name="无版本")
    db.session.commit()
    response = login("manager1").post(f"/clients/{client.id}/profile", data={"income_band": ""})
    assert response.status_code in (200, 409, 422)
