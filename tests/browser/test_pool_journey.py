"""Journey on a 390 px phone: a lead opens the team pool, assigns a released prospect to 赵经理, who opens it
from the notification on Today and finds it is now their client."""
from __future__ import annotations

import re
from datetime import timedelta

from crm.extensions import db
from crm.models import utcnow
from crm.services import pool
from tests.browser.conftest import HAVE_PLAYWRIGHT
from tests.factories import make_client

if HAVE_PLAYWRIGHT:  # otherwise conftest marks every test here skipped
    from playwright.sync_api import Page, expect

    from tests.browser.helpers import sign_in


def _watch(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


def test_a_lead_assigns_a_pool_prospect_and_the_manager_opens_it_from_today(app, world, live_server, new_page):
    client = make_client(world.manager1, name="赵六", mobile="13912345678", interests="基金定投")
    client.created_at = client.protection_started_at = utcnow() - timedelta(days=8)
    pool.release_lapsed()
    db.session.commit()

    lead = new_page()
    lead_problems = _watch(lead)
    sign_in(lead, "lead")
    lead.goto("/pool")
    card = lead.locator(f"#pool-{client.id}")
    expect(card).to_contain_text("赵六")
    expect(card).to_contain_text("139****5678")
    expect(card).not_to_contain_text("13912345678")
    expect(card).to_contain_text("王经理")  # released from its former owner
    assert lead.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    card.locator("select[name=manager_id]").select_option(str(world.manager2.id))
    card.locator(".assign-form button[type=submit]").click()
    expect(lead.locator(".flash.success")).to_contain_text("赵经理")
    expect(lead.locator(f"#pool-{client.id}")).to_have_count(0)

    manager = new_page()
    problems = _watch(manager)
    sign_in(manager, "manager2", "today")
    manager.locator(f"main a[href='/clients/{client.id}']").first.click()
    expect(manager).to_have_url(re.compile(rf"/clients/{client.id}$"))
    expect(manager.locator("h1")).to_contain_text("赵六")
    expect(manager.locator("dl.kv")).to_contain_text("赵经理")  # the owner is now the manager
    expect(manager.locator("dl.kv")).to_contain_text("保护至")
    expect(manager.locator("ol.timeline")).to_contain_text("由团队长从公海分配")
    assert problems == [] and lead_problems == [], (problems, lead_problems)
