"""A service plan on a 390 px phone: started from the tier's template, its first follow-up on "Today"."""
from __future__ import annotations

import re

import sqlalchemy as sa

from crm.extensions import db
from crm.models import FollowUp, ServicePlan, Tier
from tests import factories
from tests.browser.conftest import HAVE_PLAYWRIGHT
from tests.browser.test_journeys import assert_fits_phone, count, sign_in

if HAVE_PLAYWRIGHT:  # otherwise conftest marks every test here skipped
    from playwright.sync_api import expect


def test_start_a_plan_from_the_template_and_find_its_first_follow_up_on_today(app, world, page, live_server):
    """Open 金卡客户's Plan tab, start the 金卡 template, see the review call due today on Today."""
    client = factories.make_client(world.manager1, name="金卡客户")
    client.tier_id = db.session.execute(sa.select(Tier.id).where(Tier.name == "金卡")).scalar_one()
    db.session.commit()
    sign_in(page, "manager1")
    page.goto(f"/clients/{client.id}")
    page.locator(f"nav.tabs a[href='/clients/{client.id}/plan']").click()
    expect(page).to_have_url(re.compile(rf"/clients/{client.id}/plan$"))
    select = page.locator("select[name=template_id]")
    expect(select.locator("option:checked")).to_have_text("金卡客户服务计划")
    assert_fits_phone(page)

    page.locator(f"form[action='/clients/{client.id}/plan'] button[type=submit]").click()
    expect(page.locator("#plan")).to_be_visible()
    expect(page.locator(".flashes")).to_contain_text("服务计划已开始")
    expect(page.locator("#plan-items > li")).to_have_count(6)
    expect(page.locator("#plan-items > li").first).to_contain_text("定期回访")
    assert_fits_phone(page)
    # The folded forms open on a tap and still fit the screen.
    page.locator("summary", has_text="添加服务").click()
    expect(page.locator("select[name=cadence]")).to_be_visible()
    page.locator("summary", has_text="添加服务").click()

    page.locator("header nav a[href='/today']").click()
    expect(page).to_have_url(re.compile(r"/today$"))
    first = page.locator("#due-today li", has_text="金卡客户")
    expect(first).to_have_count(1)
    expect(first).to_contain_text("定期回访")
    assert_fits_phone(page)
    first.locator("a").click()
    expect(page).to_have_url(re.compile(r"/followups/\d+$"))
    expect(page.locator("main")).to_contain_text("定期回访")

    assert count(app, ServicePlan, ServicePlan.client_id == client.id) == 1
    assert count(app, FollowUp, FollowUp.source == "plan", FollowUp.client_id == client.id) >= 2
