"""Compliance reads the audit trail on a laptop and on a phone: nothing is cut off, filters and CSV work."""
from __future__ import annotations

import re

import pytest

from crm.extensions import db
from crm.services import audit, clients
from tests import factories
from tests.browser.conftest import HAVE_PLAYWRIGHT

if HAVE_PLAYWRIGHT:
    from playwright.sync_api import expect

    from tests.browser.helpers import sign_in

LAPTOP = {"viewport": {"width": 1280, "height": 720}, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


@pytest.fixture
def busy_trail(app, world):
    """Reveals and a reassignment with a long reason on two clients."""
    zhang = factories.make_client(world.manager1, name="张三")
    lisi = factories.make_client(world.manager1, name="欧阳李四")
    for client in (zhang, lisi):
        audit.record(world.manager1, "reveal.mobile", "client", client.id)
    clients.reassign(lisi, world.lead, world.manager2, "客户居住地变更，转由望京支行的客户经理跟进服务，" * 3)
    db.session.commit()
    return zhang, lisi


@pytest.mark.parametrize("device", ["laptop", "phone"])
def test_the_trail_fits_the_screen_and_filters_by_a_tapped_client(new_page, busy_trail, artifacts, device):
    zhang, _lisi = busy_trail
    page = new_page(**LAPTOP) if device == "laptop" else new_page()
    sign_in(page, "admin")
    page.goto("/admin/audit")
    # The three events of the busy trail, under the admin's own sign-in (newest first).
    expect(page.locator("table.audit tbody tr")).to_have_count(4)
    expect(page.locator("table.audit tbody tr").first).to_contain_text("登录")
    expect(page.locator("table.audit")).to_contain_text("客户转交")
    viewport = page.viewport_size["width"]
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= viewport, f"the page is {width}px wide on a {viewport}px screen"
    page.screenshot(path=str(artifacts / f"audit-trail-{device}.png"), full_page=True)
    # The long reason wraps inside its cell instead of stretching the table to the page's right.
    detail = page.locator("table.audit td.detail").first.bounding_box()
    assert detail["height"] > 30
    page.locator(f"table.audit a[href='/admin/audit?client={zhang.id}']").first.click()
    expect(page).to_have_url(re.compile(rf"client={zhang.id}"))
    expect(page.locator("table.audit tbody tr")).to_have_count(1)
    with page.expect_download() as download:
        page.locator("button[name=format][value=csv]").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()
    assert text.splitlines()[0].startswith("时间,操作人,操作") and "张三" in text and "欧阳李四" not in text
