"""Journey on a 390 px phone: a visitor (not signed in) opens a manager's QR card URL and registers; the
card's manager signs in and finds the call-back "扫码登记" for that prospect on Today, and opens it."""
from __future__ import annotations

import re

import sqlalchemy as sa

from crm.extensions import db
from crm.models import Client, FollowUp
from crm.services import qr_cards
from tests.browser.conftest import HAVE_PLAYWRIGHT

if HAVE_PLAYWRIGHT:  # otherwise conftest marks every test here skipped
    from playwright.sync_api import expect

    from tests.browser.helpers import sign_in


def test_a_visitor_registers_through_the_card_and_the_manager_finds_the_call_back_on_today(
        app, world, live_server, new_page):
    card = qr_cards.issue_card(world.manager1, world.outlets[0])
    db.session.commit()
    path = f"/r/{qr_cards.card_token(card)}"

    visitor = new_page()  # its own browser context: no session, no cookie of the manager's
    problems: list[str] = []
    visitor.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    visitor.goto(path)
    expect(visitor.locator("h1")).to_have_text("留下您的联系方式")
    expect(visitor.locator("main")).to_contain_text("王经理")
    expect(visitor.locator("header, nav")).to_have_count(0)  # no way into the signed-in app
    honeypot = visitor.locator("div:has(> input[name=website])").bounding_box()  # clipped: nobody sees it
    assert honeypot["width"] <= 1 and honeypot["height"] <= 1
    visitor.locator("input[name=name]").fill("陈小姐")
    visitor.locator("input[name=mobile]").fill("139 5555 0777")
    visitor.locator("select[name=interest]").select_option("wealth")
    visitor.locator("select[name=preferred_time]").select_option("afternoon")
    visitor.locator("input[name=consent]").check()
    visitor.locator("form button[type=submit]").click()
    expect(visitor).to_have_url(re.compile(r"/r/[^/]+/thanks$"))
    expect(visitor.locator("h1")).to_have_text("谢谢")
    assert problems == []

    db.session.expire_all()
    client = db.session.execute(sa.select(Client).where(Client.mobile == "13955550777")).scalar_one()
    followup = db.session.execute(sa.select(FollowUp).where(FollowUp.client_id == client.id)).scalar_one()

    manager = new_page()
    sign_in(manager, "manager1", "today")
    item = manager.locator(f"main a.card-link[href='/followups/{followup.id}']")
    expect(item).to_contain_text("陈小姐")
    expect(item).to_contain_text("扫码登记")
    item.click()
    expect(manager).to_have_url(re.compile(rf"/followups/{followup.id}$"))
    expect(manager.locator("main")).to_contain_text("陈小姐")
    expect(manager.locator("main")).to_contain_text("扫码登记：回电")
