"""Journey on a 390 px phone: the lead opens the week's outlet coverage, sees a gap highlighted in words
and records a colleague's leave; a manager checks in on /check-in (no location unless ticked) and the
prospect capture form then preselects that outlet."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from crm.extensions import db
from crm.models import CheckIn, CoverageException
from crm.services import coverage
from tests.browser.conftest import HAVE_PLAYWRIGHT

if HAVE_PLAYWRIGHT:  # otherwise conftest marks every test here skipped
    from playwright.sync_api import Page, expect

    from tests.browser.helpers import sign_in


def _watch(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


def test_a_lead_sees_the_gaps_and_a_manager_checks_in_and_captures_there(app, world, live_server, new_page):
    today = coverage.today()
    monday = today - timedelta(days=today.weekday())
    # 王经理 is stationed at 工商银行 朝阳支行 on every weekday; nobody is planned at 赵经理's 建设银行 望京支行.
    coverage.add_pattern(world.lead, world.manager1, world.outlets[0], [0, 1, 2, 3, 4], monday, None)
    db.session.commit()
    leave_day = monday + timedelta(days=7)  # next Monday

    lead = new_page()
    lead_problems = _watch(lead)
    sign_in(lead, "lead")
    lead.goto("/coverage")
    expect(lead.locator("h1")).to_have_text("驻点排班")
    gap_card = lead.locator(f"#outlet-{world.outlets[1].id}")
    expect(gap_card.locator("mark.gap").first).to_be_visible()
    expect(gap_card).to_contain_text("空岗")
    expect(lead.locator(f"#outlet-{world.outlets[0].id}")).to_contain_text("王经理")
    assert lead.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling

    lead.locator("#exception summary").tap()
    form = lead.locator("form[action='/coverage/exceptions']")
    form.locator("select[name=user_id]").select_option(str(world.manager1.id))
    form.locator("input[name=day]").fill(leave_day.isoformat())
    form.locator("select[name=kind]").select_option("leave")
    form.locator("input[name=note]").fill("年假")
    form.locator("button[type=submit]").tap()
    expect(lead.locator(".flash.success")).to_contain_text("王经理")
    expect(lead).to_have_url(re.compile(rf"/coverage\?week={leave_day.isoformat()}$"))
    expect(lead.locator(f"#outlet-{world.outlets[0].id}")).to_contain_text("空岗")  # his leave opens a gap
    with app.app_context():
        assert db.session.execute(sa.select(CoverageException.day)).scalars().all() == [leave_day]

    manager = new_page()
    problems = _watch(manager)
    sign_in(manager, "manager2")
    manager.goto("/check-in")
    outlet = manager.locator("select[name=outlet_id]")
    expect(outlet).to_have_value(str(world.outlets[1].id))  # nothing planned: their own outlet
    expect(manager.locator("input[name=share_location]")).not_to_be_checked()
    outlet.select_option(str(world.outlets[2].id))
    manager.locator("#check-in-form button[type=submit]").tap()
    expect(manager.locator("#checked-in")).to_contain_text("招商银行 国贸支行")
    with app.app_context():
        row = db.session.execute(sa.select(CheckIn)).scalar_one()
        assert (row.user_id, row.outlet_id, row.latitude, row.location_consent) == (
            world.manager2.id, world.outlets[2].id, None, False)

    manager.goto("/clients/new")
    expect(manager.locator("select[name=outlet_id]")).to_have_value(str(world.outlets[2].id))
    assert problems == [] and lead_problems == []


def test_ticking_the_box_sends_only_the_rounded_location(app, world, live_server, new_page):
    page = new_page(permissions=["geolocation"], geolocation={"latitude": 39.908765, "longitude": 116.397491})
    problems = _watch(page)
    sign_in(page, "manager1")
    page.goto("/check-in")
    expect(page.locator("input[name=latitude]")).to_have_value("")
    page.locator("input[name=share_location]").tap()
    expect(page.locator("input[name=latitude]")).to_have_value("39.91")
    expect(page.locator("input[name=longitude]")).to_have_value("116.40")
    page.locator("#check-in-form button[type=submit]").tap()
    expect(page.locator("#checked-in")).to_contain_text("工商银行 朝阳支行")
    with app.app_context():
        row = db.session.execute(sa.select(CheckIn)).scalar_one()
        assert (row.location_consent, str(row.latitude), str(row.longitude)) == (True, "39.91", "116.40")
    assert problems == []
