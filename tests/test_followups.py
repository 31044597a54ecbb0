"""Follow-ups: from visits, Today's buckets, completion by a visit, snooze, the lead's board."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.models import ClientFlag, FollowUp, Notification, OutboxEmail, VisitLog, utcnow
from crm.services import followup_sources, followups
from tests.factories import make_client, make_visit

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def zhang(world):
    client = make_client(world.manager1, name="张三")
    db.session.commit()
    return client


def test_a_visits_next_contact_date_becomes_one_follow_up(login, world, zhang):
    c = login("manager1")
    tomorrow = (datetime.now(SHANGHAI) + timedelta(days=1)).date()
    data = {"occurred_at": datetime.now(SHANGHAI).strftime("%Y-%m-%dT%H:%M"), "channel": "phone",
            "summary": "介绍定投", "outcome": "considering", "next_step": "寄送资料后回电",
            "next_contact_on": tomorrow.isoformat(), "token": "v1"}
    c.post(f"/clients/{zhang.id}/visits/new", data=data)
    c.post(f"/clients/{zhang.id}/visits/new", data=data)  # a retry
    followup = db.session.query(FollowUp).one()
    assert followup.source == "visit" and followup.assignee_id == world.manager1.id
    visit = db.session.query(VisitLog).one()
    assert (followup.source_key, followup.visit_id) == (f"visit:{visit.id}", visit.id)
    assert followup.title == "寄送资料后回电"
    assert followup.due_at.astimezone(SHANGHAI) == datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9,
                                                            tzinfo=SHANGHAI)


def test_today_buckets_follow_the_shanghai_calendar_across_midnight(world, zhang):
    # 2026-03-31 23:30 in Shanghai is 15:30 UTC: "today" is the 31st there, already the 1st nowhere.
    now = datetime(2026, 3, 31, 15, 30, tzinfo=timezone.utc)
    due = {
        "overdue": datetime(2026, 3, 30, 23, 59, tzinfo=SHANGHAI),
        "today_early": datetime(2026, 3, 31, 0, 0, tzinfo=SHANGHAI),
        "today_late": datetime(2026, 3, 31, 23, 59, tzinfo=SHANGHAI),
        "tomorrow": datetime(2026, 4, 1, 0, 0, tzinfo=SHANGHAI),
        "week_end": datetime(2026, 4, 7, 23, 59, tzinfo=SHANGHAI),
        "later": datetime(2026, 4, 8, 0, 0, tzinfo=SHANGHAI),
    }
    for name, when in due.items():
        followups.create(zhang, world.manager1, when, "call", title=name)
    db.session.commit()
    view = followups.today_view(world.manager1, now=now)
    assert [f.title for f in view.overdue] == ["overdue"]
    assert [f.title for f in view.today] == ["today_early", "today_late"]
    assert [f.title for f in view.upcoming] == ["tomorrow", "week_end"]


def test_completing_opens_a_prefilled_visit_and_links_it(login, world, zhang):
    followup = followups.create(zhang, world.manager1, utcnow(), "call", title="确认理财到期")
    db.session.commit()
    c = login("manager1")
    form = c.get(f"/clients/{zhang.id}/visits/new?followup={followup.id}").get_data(as_text=True)
    assert "确认理财到期" in form
    response = c.post(f"/clients/{zhang.id}/visits/new?followup={followup.id}", data={
        "occurred_at": datetime.now(SHANGHAI).strftime("%Y-%m-%dT%H:%M"), "channel": "phone",
        "summary": "确认理财到期，客户考虑转投", "outcome": "considering", "token": "v2"})
    assert response.status_code == 303
    db.session.expire_all()
    done = db.session.get(FollowUp, followup.id)
    visit = db.session.query(VisitLog).one()
    assert done.status == "done" and done.completed_visit_id == visit.id


def test_snooze_needs_a_reason_and_a_future_time(login, world, zhang):
    followup = followups.create(zhang, world.manager1, utcnow(), "call")
    db.session.commit()
    c = login("manager1")
    later = (datetime.now(SHANGHAI) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert c.post(f"/followups/{followup.id}/snooze", data={"until": later, "reason": ""}).status_code == 422
    past = (datetime.now(SHANGHAI) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert c.post(f"/followups/{followup.id}/snooze", data={"until": past, "reason": "出差"}).status_code == 422
    assert c.post(f"/followups/{followup.id}/snooze", data={"until": later, "reason": "客户出差"}).status_code == 303
    db.session.expire_all()
    snoozed = db.session.get(FollowUp, followup.id)
    assert snoozed.status == "snoozed" and snoozed.snooze_reason == "客户出差"


def test_someone_outside_the_book_may_put_a_follow_up_off_by_thirty_days_and_the_owner_longer(world, zhang):
    handed = followups.create(zhang, world.manager2, utcnow(), "call")
    with pytest.raises(RuleError) as refused:
        followups.snooze(handed, world.manager2, utcnow() + timedelta(days=31), "客户出差")
    assert (refused.value.code, refused.value.field, refused.value.params) == (
        "followup.snooze_too_far", "until", {"days": 30})
    assert handed.status == "open"
    followups.snooze(handed, world.manager2, utcnow() + timedelta(days=29), "客户出差")
    owned = followups.create(zhang, world.manager1, utcnow(), "call")
    followups.snooze(owned, world.manager1, utcnow() + timedelta(days=90), "客户出国")
    assert (handed.status, owned.status) == ("snoozed", "snoozed")


@pytest.mark.parametrize("username, status", [("manager1", 200), ("lead", 200), ("admin", 200),
                                              ("manager2", 404), ("otherlead", 404), ("othermanager", 404)])
def test_follow_ups_are_seen_by_their_assignee_and_the_team_lead_only(login, world, zhang, username, status):
    followup = followups.create(zhang, world.manager1, utcnow(), "call", title="私密")
    db.session.commit()
    c = login(username)
    assert c.get(f"/followups/{followup.id}").status_code == status
    if status == 404:
        later = (datetime.now(SHANGHAI) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
        assert c.post(f"/followups/{followup.id}/snooze", data={"until": later, "reason": "x"}).status_code == 404
        assert c.post(f"/followups/{followup.id}/cancel").status_code == 404
        assert "私密" not in c.get("/today").get_data(as_text=True)
        db.session.expire_all()
        assert db.session.get(FollowUp, followup.id).status == "open"


def test_lead_hands_follow_ups_over_in_bulk_and_the_assignee_is_told(login, world, zhang):
    items = [followups.create(zhang, world.manager1, utcnow() + timedelta(hours=i), "call", title=f"第{i}项")
             for i in range(3)]
    db.session.commit()
    lead = login("lead")
    page = lead.get("/team").get_data(as_text=True)
    assert "王经理" in page and "赵经理" in page
    response = lead.post("/team", data={"followup_ids": [items[0].id, items[1].id],
                                        "assignee_id": world.manager2.id})
    assert response.status_code == 303
    db.session.expire_all()
    assert [db.session.get(FollowUp, f.id).assignee_id for f in items] == [world.manager2.id] * 2 + [world.manager1.id]
    assert db.session.query(Notification).filter_by(user_id=world.manager2.id).count() == 2
    emails = db.session.query(OutboxEmail).filter_by(to_address="m2@example.com").all()
    assert len(emails) == 2 and all("张三" in e.subject for e in emails)


def test_a_lead_cannot_hand_work_to_or_take_work_from_another_team(login, world, zhang):
    other_client = make_client(world.other_manager, name="外队客户")
    theirs = followups.create(other_client, world.other_manager, utcnow(), "call")
    mine = followups.create(zhang, world.manager1, utcnow(), "call")
    db.session.commit()
    lead = login("lead")
    assert lead.post("/team", data={"followup_ids": [theirs.id], "assignee_id": world.manager2.id}).status_code == 303
    assert lead.post("/team", data={"followup_ids": [mine.id], "assignee_id": world.other_manager.id}).status_code == 422
    db.session.expire_all()
    assert db.session.get(FollowUp, theirs.id).assignee_id == world.other_manager.id
    assert db.session.get(FollowUp, mine.id).assignee_id == world.manager1.id


def test_board_counts_open_and_overdue_per_member(world, zhang):
    followups.create(zhang, world.manager1, utcnow() - timedelta(days=1), "call")
    followups.create(zhang, world.manager1, utcnow() + timedelta(days=1), "call")
    db.session.commit()
    rows = {r.user.username: (r.open, r.overdue) for r in followups.team_board(world.lead)}
    assert rows["manager1"] == (2, 1) and rows["manager2"] == (0, 0)
    assert "othermanager" not in rows


def test_opening_an_account_creates_a_call_back_within_a_month(login, world, zhang):
    login("manager1").post(f"/clients/{zhang.id}/stage", data={"stage": "account_opened"})
    login("manager1").post(f"/clients/{zhang.id}/stage", data={"stage": "active"})
    callback = db.session.query(FollowUp).filter_by(kind="callback").one()
    db.session.expire_all()
    opened = zhang.account_opened_at
    assert timedelta(0) < callback.due_at - opened <= timedelta(days=30)


def test_a_manager_plans_a_follow_up_for_themselves_only(login, world, zhang):
    c = login("manager1")
    due = (datetime.now(SHANGHAI) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    data = {"due_at": due, "kind": "call", "priority": "2", "title": "问候", "token": "f1"}
    assert c.post(f"/clients/{zhang.id}/followups/new", data={**data, "assignee_id": world.manager2.id}).status_code == 422
    assert c.post(f"/clients/{zhang.id}/followups/new", data={**data, "assignee_id": world.manager1.id}).status_code == 303
    assert c.post(f"/clients/{zhang.id}/followups/new", data={**data, "assignee_id": world.manager1.id}).status_code == 303
    assert db.session.query(FollowUp).count() == 1


def test_a_visit_records_intent_and_satisfaction_on_the_client(world, zhang):
    make_visit(zhang, world.manager1, intent="transfer_out", satisfaction=2)
    db.session.commit()
    assert (zhang.last_intent, zhang.last_satisfaction) == ("transfer_out", 2)
    make_visit(zhang, world.manager1)
    db.session.commit()
    assert (zhang.last_intent, zhang.last_satisfaction) == (None, 2)


def test_lead_and_admin_start_on_their_boards(login, world):
    assert login("lead").get("/").headers["Location"].endswith("/team")


def test_reassigning_a_client_moves_its_open_follow_ups_and_tells_the_new_owner(login, world, zhang):
    followups.create(zhang, world.manager1, utcnow(), "call")
    db.session.commit()
    login("lead").post(f"/clients/{zhang.id}/reassign", data={"owner_id": world.manager2.id, "reason": "离职交接"})
    db.session.expire_all()
    assert db.session.query(FollowUp).one().assignee_id == world.manager2.id
    assert db.session.query(Notification).filter_by(user_id=world.manager2.id).count() == 1
    email = db.session.query(OutboxEmail).filter_by(to_address="m2@example.com").one()
    assert "离职交接" in email.text_body


def test_a_flag_follow_up_shows_its_reasons_in_words(login, world, zhang):
    flag = ClientFlag(client_id=zhang.id, kind="at_risk", reasons="assets_drop,leaving_intent", since=utcnow())
    db.session.add(flag)
    db.session.flush()
    followups.create(zhang, world.manager1, utcnow(), "flag", title="at_risk: assets_drop,leaving_intent",
                     origin=followup_sources.flag(flag.id))
    db.session.commit()
    page = login("manager1").get("/today").get_data(as_text=True)
    assert "assets_drop" not in page and "资产大幅下降" in page
