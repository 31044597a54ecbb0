"""Journey (a) on a 390 px phone: the lead hands three of 王经理's follow-ups to 赵经理, who opens the
client and completes one by logging the visit; and a failed htmx request shows a message."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from crm.extensions import db
from crm.models import FollowUp, utcnow
from crm.services import followups
from tests.browser.conftest import HAVE_PLAYWRIGHT
from tests.factories import make_client

if HAVE_PLAYWRIGHT:  # otherwise conftest marks every test here skipped
    from playwright.sync_api import Page, expect

    from tests.browser.helpers import sign_in


def _manager1_work(world) -> dict[str, int]:
    """Four follow-ups of 王经理 due today, on four of his clients; three will be handed over."""
    ids = {}
    for hours, name in enumerate(("张三", "李四", "王五", "钱七")):
        client = make_client(world.manager1, name=name)
        ids[name] = followups.create(client, world.manager1, utcnow() + timedelta(minutes=30 + hours),
                                     "call", title=f"回访{name}").id
    db.session.commit()
    return ids


def _watch(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


def test_a_lead_hands_over_three_follow_ups_and_the_new_assignee_completes_one(app, world, live_server, new_page):
    ids = _manager1_work(world)
    handed = [ids["张三"], ids["李四"], ids["王五"]]

    lead = new_page()
    lead_problems = _watch(lead)
    sign_in(lead, "lead", "team")
    for followup_id in handed:
        box = lead.locator(f"label.pick:has(input[value='{followup_id}'])")
        box.tap()
        expect(box.locator("input")).to_be_checked()
    lead.locator("#assign-form select[name=assignee_id]").select_option(str(world.manager2.id))
    lead.locator("#assign-form button[type=submit]").click()
    expect(lead.locator(".flash.success")).to_contain_text("赵经理")

    manager2 = new_page()
    problems = _watch(manager2)
    sign_in(manager2, "manager2", "today")
    for name in ("张三", "李四", "王五"):
        expect(manager2.locator("main")).to_contain_text(name)
    expect(manager2.locator("main")).not_to_contain_text("钱七")

    target = ids["张三"]
    manager2.locator(f"main a.card-link[href='/followups/{target}']").click()
    expect(manager2).to_have_url(re.compile(rf"/followups/{target}$"))
    manager2.locator("h1 a[href^='/clients/']").click()  # the client file: no 404 for the assignee
    expect(manager2).to_have_url(re.compile(r"/clients/\d+$"))
    expect(manager2.locator("h1")).to_contain_text("张三")
    expect(manager2.locator("main")).to_contain_text("王经理")  # the owner stays the owner
    manager2.go_back()
    expect(manager2).to_have_url(re.compile(rf"/followups/{target}$"))

    manager2.locator(f".actionbar a[href*='followup={target}']").click()
    expect(manager2).to_have_url(re.compile(rf"/visits/new\?followup={target}$"))
    expect(manager2.locator("textarea[name=summary]")).to_have_value("回访张三")
    manager2.locator("form[action*='/visits/new'] button[type=submit]").click()

    expect(manager2).to_have_url(re.compile(rf"/followups/{target}$"))
    expect(manager2.locator(".flash.success")).to_be_visible()
    expect(manager2.locator("dl.kv")).to_contain_text("已完成")
    expect(manager2.locator("#request-error")).to_be_hidden()
    with app.app_context():
        done = db.session.get(FollowUp, target)
        assert done.status == "done" and done.completed_visit_id is not None

    lead.goto("/team")
    m2_row = lead.locator("#members tr", has_text="赵经理")
    expect(m2_row.locator("td").nth(1)).to_have_text("2")
    expect(lead.locator(f"#followups input[name=followup_ids][value='{target}']")).to_have_count(0)
    lead.goto(f"/followups/{target}")
    expect(lead.locator("dl.kv")).to_contain_text("已完成")
    assert problems == [] and lead_problems == []


def test_a_failed_htmx_request_shows_a_message_in_the_users_language(app, world, live_server, page):
    ids = _manager1_work(world)
    target = ids["张三"]
    followups.assign([db.session.get(FollowUp, target)], world.lead, world.manager2)
    db.session.commit()
    problems = _watch(page)
    sign_in(page, "manager2", "today")
    page.locator(f"main a.card-link[href='/followups/{target}']").click()
    expect(page).to_have_url(re.compile(rf"/followups/{target}$"))
    expect(page.locator("#request-error")).to_be_hidden()
    assert problems == []  # the page itself loads clean under the strict CSP

    # Meanwhile the lead takes the follow-up back: the boosted "Done" link now answers 404.
    db.session.execute(sa.update(FollowUp).where(FollowUp.id == target).values(assignee_id=world.manager1.id))
    db.session.commit()
    page.locator(f".actionbar a[href*='followup={target}']").click()
    alert = page.locator("#request-error")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("页面不存在")
    expect(page).to_have_url(re.compile(rf"/followups/{target}$"))
    alert.locator("button[data-dismiss-request-error]").click()
    expect(alert).to_be_hidden()


def test_a_request_lost_on_the_network_shows_a_message(app, world, live_server, page):
    ids = _manager1_work(world)
    sign_in(page, "manager1", "today")
    page.locator(f"main a.card-link[href='/followups/{ids['张三']}']").click()
    expect(page).to_have_url(re.compile(rf"/followups/{ids['张三']}$"))
    page.route("**/visits/new*", lambda route: route.abort("internetdisconnected"))
    page.locator(f".actionbar a[href*='followup={ids['张三']}']").click()
    alert = page.locator("#request-error")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("服务器没有响应")
    expect(page).to_have_url(re.compile(rf"/followups/{ids['张三']}$"))
