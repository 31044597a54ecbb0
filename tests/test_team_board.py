"""The lead's Team page: members, then follow-ups with the hand-over form, then flagged clients; filters combine."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import AssetSnapshot, FollowUp, Tier, utcnow
from crm.services import followups
from crm.services.scan import scan_clients
from tests.factories import make_client


def served(owner, name: str, days_since_contact: int = 1, tier: str | None = None, **fields):
    """A client in a scanned stage, last contacted that many days ago; flushed."""
    client = make_client(owner, name=name)
    client.stage = "active"
    client.created_at = utcnow() - timedelta(days=400)
    client.last_contact_at = utcnow() - timedelta(days=days_since_contact)
    if tier:
        client.tier_id = db.session.execute(sa.select(Tier.id).where(Tier.name == tier)).scalar_one()
    for field, value in fields.items():
        setattr(client, field, value)
    db.session.flush()
    return client


@pytest.fixture
def team(world):
    """李四 (王经理's, 金卡) is dormant and at risk; 王五 (赵经理's) at risk; one overdue and one later follow-up each."""
    today = utcnow().date()
    lisi = served(world.manager1, "李四", days_since_contact=45, tier="金卡")
    db.session.add_all([AssetSnapshot(client_id=lisi.id, as_of=today - timedelta(days=10), total_assets_fen=250_000_000),
                        AssetSnapshot(client_id=lisi.id, as_of=today - timedelta(days=1), total_assets_fen=150_000_000)])
    wangwu = served(world.manager2, "王五", last_satisfaction=1)
    scan_clients(utcnow())
    work = {
        "m1_late": followups.create(lisi, world.manager1, utcnow() - timedelta(days=2), "call", title="王经理逾期"),
        "m1_later": followups.create(lisi, world.manager1, utcnow() + timedelta(days=2), "call", title="王经理下周"),
        "m2_late": followups.create(wangwu, world.manager2, utcnow() - timedelta(days=1), "call", title="赵经理逾期"),
    }
    db.session.commit()
    return {"lisi": lisi, "wangwu": wangwu, **work}


def section(page: str, name: str) -> str:
    """The HTML of one <section id=...> of the page."""
    found = re.search(rf'<section id="{name}".*?</section>', page, re.S)
    assert found, name
    return found.group(0)


def test_the_page_shows_members_then_follow_ups_and_the_hand_over_form_then_flagged_clients(login, team):
    page = login("lead").get("/team").get_data(as_text=True)
    positions = [page.index(marker) for marker in ('id="members"', 'id="followups"', 'id="assign-form"', 'id="flags"')]
    assert positions == sorted(positions)


def test_the_member_filter_applies_to_the_flagged_clients(login, world, team):
    page = login("lead").get(f"/team?assignee={world.manager2.id}").get_data(as_text=True)
    flags = section(page, "flags")
    assert "王五" in flags and "李四" not in flags
    assert "赵经理逾期" in section(page, "followups") and "王经理逾期" not in page


def test_a_client_with_both_flags_is_one_card_listing_both(login, team):
    page = login("lead").get("/team").get_data(as_text=True)
    cards = re.findall(rf'<li class="card flag-card" data-client="{team["lisi"].id}">.*?</ul>', page, re.S)
    assert len(cards) == 1
    assert "休眠" in cards[0] and "风险" in cards[0]


def test_flagged_cards_carry_the_owner_and_follow_ups_the_assignee(login, team):
    page = login("lead").get("/team").get_data(as_text=True)
    flags = section(page, "flags")
    assert re.search(r'data-client="%d">.*?归属人：王经理' % team["lisi"].id, flags, re.S)
    assert re.search(r'data-client="%d">.*?归属人：赵经理' % team["wangwu"].id, flags, re.S)
    assert re.search(r'王经理逾期', section(page, "followups"))
    assert re.search(r'value="%d".*?负责人：赵经理' % team["m2_late"].id, section(page, "followups"), re.S)


def test_flag_reasons_show_their_figures(login, team):
    flags = section(login("lead").get("/team").get_data(as_text=True), "flags")
    assert "资产 ¥2,500,000.00 → ¥1,500,000.00（30 天内下降 40%）" in flags
    assert "45 天未联系（金卡 30 天）" in flags
    assert "满意度 1 分（满分 5 分）" in flags
    assert "资产大幅下降" not in flags


def test_overdue_and_member_filters_combine_in_links_and_the_form(login, world, team):
    m1 = world.manager1.id
    page = login("lead").get(f"/team?assignee={m1}&overdue=1").get_data(as_text=True)
    work = section(page, "followups")
    assert "王经理逾期" in work and "王经理下周" not in work and "赵经理逾期" not in work
    assert re.search(r"已逾期</strong> · 王经理逾期", work)
    assert f'<option value="{m1}" selected>' in work
    assert 'name="overdue" value="1" checked' in work
    # The toggle keeps the member, "Everyone" keeps overdue only.
    assert f'href="/team?assignee={m1}#followups"' in work
    assert 'href="/team?overdue=1#followups"' in work
    members = page[page.index('id="members"'):page.index('id="work"')]
    assert f'href="/team?assignee={m1}&amp;overdue=1#followups"' in members


def test_handing_over_goes_back_to_the_same_filtered_view(login, world, team):
    lead = login("lead")
    m1 = world.manager1.id
    response = lead.post(f"/team?assignee={m1}&overdue=1",
                         data={"followup_ids": [team["m1_late"].id], "assignee_id": world.manager2.id})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/team?assignee={m1}&overdue=1#followups")
    db.session.expire_all()
    assert db.session.get(FollowUp, team["m1_late"].id).assignee_id == world.manager2.id
    page = lead.get(f"/team?assignee={m1}").get_data(as_text=True)
    assert f'action="/team?assignee={m1}#followups"' in page


def test_an_htmx_request_for_the_work_gets_the_sections_only(login, world, team):
    response = login("lead").get(f"/team?assignee={world.manager1.id}&overdue=1",
                                 headers={"HX-Request": "true", "HX-Target": "work"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and 'id="members"' not in html
    assert html.lstrip().startswith('<div id="work">') and "王经理逾期" in html and "赵经理逾期" not in html
    assert "HX-Request" in response.headers.get("Vary", "")


def test_select_all_shown_ticks_every_follow_up_listed(login, world, team):
    page = login("lead").get(f"/team?assignee={world.manager1.id}&select=all").get_data(as_text=True)
    ticked = re.findall(r'name="followup_ids" value="(\d+)" form="assign-form" checked', page)
    listed = re.findall(r'name="followup_ids" value="(\d+)"', page)
    assert ticked == listed and str(team["m1_late"].id) in ticked and str(team["m2_late"].id) not in ticked
    assert 'name="followup_ids" value="%d" form="assign-form">' % team["m1_late"].id in \
        login("lead").get("/team").get_data(as_text=True)


def _statements(client, url: str) -> int:
    count = 0

    def counted(*_args):
        nonlocal count
        count += 1
    sa.event.listen(db.engine, "before_cursor_execute", counted)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", counted)
    return count


def test_flagged_clients_come_twenty_at_a_time_in_as_many_statements_whatever_their_number(login, world, team):
    lead = login("lead")
    few = _statements(lead, "/team")
    for i in range(24):
        served(world.manager1 if i % 2 else world.manager2, f"客户{i}", days_since_contact=400,
               last_intent="transfer_out")
    scan_clients(utcnow())
    db.session.commit()
    many = _statements(lead, "/team")
    assert many == few
    page = lead.get("/team").get_data(as_text=True)
    assert page.count('class="card flag-card"') == 20
    assert 'href="/team?flag_page=2#flags"' in page
    rest = lead.get("/team?flag_page=2", headers={"HX-Request": "true", "HX-Target": "more_flags"})
    html = rest.get_data(as_text=True)
    assert html.count('class="card flag-card"') == 6 and "<html" not in html and 'id="more_flags"' not in html


@pytest.mark.parametrize("query", ["assignee=abc", "assignee=99999", "overdue=yes", "flag_page=0",
                                   "flag_page=x", "flag_page=99999999999", "select=everything"])
def test_bad_filters_show_the_page_not_an_error(login, team, query):
    assert login("lead").get(f"/team?{query}").status_code == 200


def test_a_manager_has_no_team_page(login, team):
    assert login("manager1").get("/team").status_code == 403


def test_today_shows_a_flag_follow_up_with_the_same_reason_text(login, team):
    today = login("manager1").get("/today").get_data(as_text=True)
    board = section(login("lead").get("/team").get_data(as_text=True), "flags")
    for text in ("资产 ¥2,500,000.00 → ¥1,500,000.00（30 天内下降 40%）", "45 天未联系（金卡 30 天）"):
        assert today.count(text) >= 1 and text in board
    assert "满意度 1 分" not in today  # 王五 is 赵经理's


def test_the_leads_digest_lists_flagged_clients_in_the_same_words(world, team):
    from crm.services import mail
    from crm.services.scan import flagged_clients

    rows = followups.team_board(world.lead)
    flagged, _more = flagged_clients([r.user.id for r in rows])
    email = mail.queue(world.lead, "digest_lead", rows=rows, flagged=flagged, day=utcnow().date(), url="https://crm/team")
    for body in (email.text_body, email.html_body):
        assert "李四 · 归属人：王经理" in body and "王五 · 归属人：赵经理" in body
        assert "资产 ¥2,500,000.00 → ¥1,500,000.00（30 天内下降 40%）" in body
        assert "45 天未联系（金卡 30 天）" in body


def test_the_morning_digest_job_sends_both_digests_with_the_flags_in_the_same_words(world, team):
    from crm.models import OutboxEmail
    from crm.services import digests

    digests.send_digests(now=utcnow())
    lead = db.session.query(OutboxEmail).filter_by(to_address=world.lead.email).one()
    manager = db.session.query(OutboxEmail).filter_by(to_address=world.manager1.email).one()
    for body in (lead.text_body, lead.html_body):
        assert "李四 · 归属人：王经理" in body and "王五 · 归属人：赵经理" in body
        assert "资产 ¥2,500,000.00 → ¥1,500,000.00（30 天内下降 40%）" in body
    for body in (manager.text_body, manager.html_body):
        assert "李四" in body and "45 天未联系（金卡 30 天）" in body
        assert "王五" not in body  # 赵经理's client


def test_follow_ups_come_fifty_at_a_time_and_the_count_is_the_members(login, world, team):
    for i in range(55):
        followups.create(team["lisi"], world.manager1, utcnow() + timedelta(days=3, minutes=i), "call", title=f"批量{i}")
    db.session.commit()
    lead = login("lead")
    m1 = world.manager1.id
    page = lead.get(f"/team?assignee={m1}&select=all").get_data(as_text=True)
    work = section(page, "followups")
    assert work.count('name="followup_ids"') == 50
    open_count = next(r.open for r in followups.team_board(world.lead) if r.user.id == m1)
    assert f'<span class="badge">{open_count}</span>' in work
    assert f'href="/team?assignee={m1}&amp;page=2&amp;select=all#followups"' in work
    rest = lead.get(f"/team?assignee={m1}&page=2&select=all",
                    headers={"HX-Request": "true", "HX-Target": "more_followups"}).get_data(as_text=True)
    assert rest.count('name="followup_ids"') == open_count - 50 and "<html" not in rest
    assert rest.count("checked") == open_count - 50 and 'id="more_followups"' not in rest
