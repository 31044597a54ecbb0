"""The lead's morning on a 390 px phone: Team, one member's overdue work, tick, hand over."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from crm.extensions import db
from crm.models import AssetSnapshot, FollowUp, Tier, utcnow
from crm.services import followups
from crm.services.scan import scan_clients
from tests.browser.conftest import HAVE_PLAYWRIGHT
from tests.factories import make_client

if HAVE_PLAYWRIGHT:  # otherwise conftest marks every test here skipped
    from playwright.sync_api import expect

    from tests.browser.helpers import sign_in


def _team(world) -> dict:
    """李四 (王经理's) dormant and at risk, 王五 (赵经理's) at risk; overdue and later work for both."""
    today = utcnow().date()
    gold = db.session.execute(sa.select(Tier.id).where(Tier.name == "金卡")).scalar_one()
    lisi = make_client(world.manager1, name="李四")
    wangwu = make_client(world.manager2, name="王五")
    for client in (lisi, wangwu):
        client.stage, client.created_at = "active", utcnow() - timedelta(days=400)
    lisi.tier_id, lisi.last_contact_at = gold, utcnow() - timedelta(days=45)
    wangwu.last_contact_at, wangwu.last_satisfaction = utcnow() - timedelta(days=1), 1
    db.session.add_all([AssetSnapshot(client_id=lisi.id, as_of=today - timedelta(days=10), total_assets_fen=250_000_000),
                        AssetSnapshot(client_id=lisi.id, as_of=today - timedelta(days=1), total_assets_fen=150_000_000)])
    db.session.flush()
    scan_clients(utcnow())
    # The scan's own follow-ups are due at 09:00 or now: set aside, so "overdue" means the ones below.
    db.session.execute(sa.update(FollowUp).where(FollowUp.source == "flag").values(status="cancelled"))
    late = [followups.create(lisi, world.manager1, utcnow() - timedelta(days=d), "call", title=f"王经理逾期{d}")
            for d in (1, 2)]
    followups.create(lisi, world.manager1, utcnow() + timedelta(days=3), "call", title="王经理下周")
    followups.create(wangwu, world.manager2, utcnow() - timedelta(days=1), "call", title="赵经理逾期")
    db.session.commit()
    return {"late": [f.id for f in late]}


def test_the_lead_hands_one_members_overdue_work_over_from_the_phone(app, world, live_server, page):
    ids = _team(world)
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    sign_in(page, "lead", lands_on="team")
    page.evaluate("window.stayedOnThePage = true")

    m1 = world.manager1.id
    page.locator(f"#members a[href='/team?assignee={m1}&overdue=1#followups']").click()
    expect(page).to_have_url(re.compile(rf"/team\?assignee={m1}&overdue=1"))
    shown = page.locator("#followups .card")
    expect(shown).to_have_count(len(ids["late"]))
    expect(page.locator("#followups")).not_to_contain_text("王经理下周")
    expect(page.locator("#followups")).not_to_contain_text("赵经理逾期")
    expect(page.locator("#flags .flag-card")).to_have_count(1)
    expect(page.locator("#flags")).to_contain_text("李四")
    expect(page.locator("#flags")).to_contain_text("¥2,500,000.00 → ¥1,500,000.00")
    assert page.evaluate("window.stayedOnThePage") is True  # htmx swapped the section, no reload
    assert page.evaluate("document.getElementById('followups').getBoundingClientRect().top") < 200

    for followup_id in ids["late"]:
        box = page.locator(f"label.pick:has(input[value='{followup_id}'])")
        size = box.bounding_box()
        assert size["width"] >= 44 and size["height"] >= 44, size
        box.tap()
        expect(box.locator("input")).to_be_checked()
    page.locator("#assign-form select[name=assignee_id]").select_option(str(world.manager2.id))
    page.locator("#assign-form button[type=submit]").click()

    expect(page).to_have_url(re.compile(rf"/team\?assignee={m1}&overdue=1"))
    expect(page.locator(".flash.success")).to_be_visible()
    expect(page.locator("#followups .card")).to_have_count(0)
    with app.app_context():
        moved = db.session.scalars(sa.select(FollowUp.assignee_id).where(FollowUp.id.in_(ids["late"]))).all()
    assert moved == [world.manager2.id] * 2
    assert problems == []


def test_without_javascript_the_same_taps_work_as_plain_links_and_forms(app, world, live_server, new_page):
    ids = _team(world)
    page = new_page(java_script_enabled=False)
    sign_in(page, "lead", lands_on="team")
    m1 = world.manager1.id
    page.locator(f"#members a[href='/team?assignee={m1}&overdue=1#followups']").click()
    expect(page).to_have_url(re.compile(rf"/team\?assignee={m1}&overdue=1#followups$"))
    expect(page.locator("#followups .card")).to_have_count(len(ids["late"]))
    page.locator("#select-all").click()
    expect(page.locator("#followups input[name=followup_ids]:checked")).to_have_count(len(ids["late"]))
    page.locator("#assign-form select[name=assignee_id]").select_option(str(world.manager2.id))
    page.locator("#assign-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/team\?assignee={m1}&overdue=1#followups$"))
    expect(page.locator("#followups .card")).to_have_count(0)
    with app.app_context():
        moved = db.session.scalars(sa.select(FollowUp.assignee_id).where(FollowUp.id.in_(ids["late"]))).all()
    assert moved == [world.manager2.id] * 2
