"""A manager fills the risk questionnaire on a 390 px phone and sees the level on the client file."""
from __future__ import annotations

import re

from crm.extensions import db
from crm.models import AssessmentDraft, SuitabilityAssessment
from crm.services import suitability
from tests import factories
from tests.browser.conftest import HAVE_PLAYWRIGHT
from tests.browser.test_journeys import assert_fits_phone, count, sign_in

if HAVE_PLAYWRIGHT:
    from playwright.sync_api import expect


def test_questionnaire_on_a_phone_keeps_answers_and_sets_the_level(app, world, page, artifacts, live_server):
    from crm.domain.questionnaire_text import load_default_questionnaire

    questionnaire = suitability.create_questionnaire(
        load_default_questionnaire(), None)
    client = factories.make_client(world.manager1, name="钱学森")
    db.session.commit()
    questions = [q.id for q in questionnaire.questions]

    sign_in(page, "manager1")
    page.goto(f"/clients/{client.id}/assessment")
    assert_fits_phone(page)

    # Answer the first half, then "lose the connection": reload the page.
    for qid in questions[:6]:
        page.locator(f"#question-{qid} label.option").nth(1).click()
    expect(page.locator("#progress")).to_contain_text("6")
    live_server.wait_idle()
    assert count(app, AssessmentDraft) == 1
    page.reload()
    for qid in questions[:6]:
        expect(page.locator(f"#question-{qid} input[type=radio]").nth(1)).to_be_checked()

    # Finish with the last option of every remaining question, whatever level that gives.
    for qid in questions[6:]:
        page.locator(f"#question-{qid} label.option").last.click()
    page.locator("form#questionnaire button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(rf"/clients/{client.id}/suitability$"))
    assert count(app, SuitabilityAssessment) == 1
    with app.app_context():
        level = db.session.query(SuitabilityAssessment).one().level
    expect(page.locator("#risk-level")).to_contain_text(f"C{level}")

    page.goto(f"/clients/{client.id}")
    expect(page.locator("main")).to_contain_text(f"C{level}")
    page.screenshot(path=str(artifacts / "journey-questionnaire.png"), full_page=True)
