"""A complaint on a 390 px phone: registered from the client file, taken through every status to closed."""
from __future__ import annotations

import re

from crm.extensions import db
from crm.models import Complaint, ComplaintEvent
from tests import factories
from tests.browser.conftest import HAVE_PLAYWRIGHT
from tests.browser.test_journeys import assert_fits_phone, count, sign_in

if HAVE_PLAYWRIGHT:  # otherwise conftest marks every test here skipped
    from playwright.sync_api import Page, expect

COMPLAINT_URL = re.compile(r"/complaints/(\d+)$")
STEPS = ["verifying", "responsibility_decided", "remedy_proposed", "client_answered"]


def next_status(page: Page, complaint_id: int, status: str, note: str) -> None:
    """Choose the next status in the status form and save it."""
    form = page.locator(f"form[action='/complaints/{complaint_id}/status']")
    form.locator("select[name=to_status]").select_option(status)
    form.locator("textarea[name=note]").fill(note)
    form.locator("button[type=submit]").click()
    expect(page.locator("#status")).to_have_attribute("data-status", status)


def test_register_a_complaint_from_the_client_file_and_close_it(app, world, page, live_server):
    """Register from 张三's file, move through every status, close with the client's answer."""
    client = factories.make_client(world.manager1, name="张三")
    db.session.commit()
    sign_in(page, "manager1")
    page.goto(f"/clients/{client.id}")
    page.locator(f"a[href='/complaints/new?client={client.id}']").click()
    expect(page).to_have_url(re.compile(rf"/complaints/new\?client={client.id}$"))
    expect(page.locator("input[name=complainant_name]")).to_have_value("张三")
    assert_fits_phone(page)
    page.locator("select[name=channel]").select_option("outlet")
    page.locator("select[name=category]").select_option("fees")
    page.locator("textarea[name=facts]").fill("客户认为佣金高于约定费率")
    page.locator("textarea[name=client_request]").fill("退还多收佣金")
    page.locator("form[action^='/complaints/new'] button[type=submit]").click()
    expect(page).to_have_url(COMPLAINT_URL)
    complaint_id = int(COMPLAINT_URL.search(page.url).group(1))
    expect(page.locator("#status")).to_have_attribute("data-status", "registered")
    expect(page.locator("#countdown")).to_be_visible()
    assert_fits_phone(page)

    for number, status in enumerate(STEPS):
        next_status(page, complaint_id, status, f"步骤{number + 1}")
    expect(page.locator("#history li")).to_have_count(1 + len(STEPS))
    expect(page.locator("#history li").first).to_contain_text("步骤4")

    close = page.locator(f"form[action='/complaints/{complaint_id}/close']")
    close.locator("textarea[name=resolution]").fill("核实后退还差额佣金")
    close.locator("input[name=accepted][value=yes]").check()
    close.locator("select[name=satisfaction]").select_option("4")
    close.locator("button[type=submit]").click()
    expect(page.locator("#status")).to_have_attribute("data-status", "closed")
    expect(page.locator("#history li")).to_have_count(2 + len(STEPS))
    expect(page.locator("#history li").first).to_have_attribute("data-kind", "closed")
    expect(page.locator("#history li").first).to_contain_text("核实后退还差额佣金")
    assert_fits_phone(page)

    assert count(app, Complaint, Complaint.status == "closed") == 1
    assert count(app, ComplaintEvent, ComplaintEvent.complaint_id == complaint_id) == 2 + len(STEPS)
