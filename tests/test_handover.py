"""Every path that assigns a follow-up, and what its assignee may then open (docs/access.md)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from crm import jobs
from crm.extensions import db
from crm.models import Client, Complaint, FollowUp, OwnerChange, VisitLog, utcnow
from crm.services import callbacks, complaints, followups, plans
from crm.services import clients as client_service
from crm.services.access import can_see_client
from crm.services.reminders import send_reminders
from tests.factories import make_client

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def zhang(world):
    """A client of manager1 (王经理) with three open follow-ups."""
    client = make_client(world.manager1, name="张三", mobile="13912345678")
    for n in range(3):
        followups.create(client, world.manager1, utcnow() + timedelta(hours=n + 1), "call", title=f"电话{n}")
    db.session.commit()
    return client


def ids_of(client) -> list[int]:
    return list(db.session.execute(sa.select(FollowUp.id).where(FollowUp.client_id == client.id)
                                   .order_by(FollowUp.id)).scalars())


def visit_data(**extra) -> dict:
    data = {"occurred_at": datetime.now(SHANGHAI).strftime("%Y-%m-%dT%H:%M"), "channel": "phone",
            "summary": "已回访", "outcome": "served", "token": "t-1"}
    data.update(extra)
    return data


def test_bulk_hand_over_on_team_lets_the_new_assignee_open_the_client(login, world, zhang):
    first, second, _third = ids_of(zhang)
    assert login("manager2").get(f"/clients/{zhang.id}").status_code == 404
    response = login("lead").post("/team", data={"followup_ids": [str(first), str(second)],
                                                 "assignee_id": str(world.manager2.id)})
    assert response.status_code == 303
    assert [f.assignee_id for f in db.session.query(FollowUp).order_by(FollowUp.id)] == [
        world.manager2.id, world.manager2.id, world.manager1.id]
    c = login("manager2")
    assert c.get(f"/clients/{zhang.id}").status_code == 200
    assert c.get(f"/followups/{first}").status_code == 200
    db.session.expire_all()
    assert db.session.get(Client, zhang.id).owner_id == world.manager1.id  # the owner stays the owner


def test_done_log_the_visit_by_the_assignee_closes_the_follow_up_and_lands_on_it(login, world, zhang):
    first, second, _ = ids_of(zhang)
    followups.assign([db.session.get(FollowUp, first)], world.lead, world.manager2)
    db.session.commit()
    c = login("manager2")
    form = c.get(f"/clients/{zhang.id}/visits/new?followup={first}")
    assert form.status_code == 200
    response = c.post(f"/clients/{zhang.id}/visits/new?followup={first}", data=visit_data(followup=str(first)))
    assert response.status_code == 303 and response.headers["Location"] == f"/followups/{first}"
    db.session.expire_all()
    done = db.session.get(FollowUp, first)
    assert done.status == "done" and done.completed_visit_id is not None
    assert db.session.get(VisitLog, done.completed_visit_id).author_id == world.manager2.id
    landing = c.get(response.headers["Location"])
    page = landing.get_data(as_text=True)
    assert landing.status_code == 200 and "拜访已记录，跟进已完成" in page and "王经理" in page
    assert f'href="/clients/{zhang.id}"' not in page  # no link into a 404
    assert c.get(f"/clients/{zhang.id}").status_code == 404
    # The phone retrying the same Save is sent to the same page, not to a 404 nor a second visit.
    retry = c.post(f"/clients/{zhang.id}/visits/new?followup={first}", data=visit_data(followup=str(first)))
    assert retry.status_code == 303 and retry.headers["Location"] == f"/followups/{first}"
    assert db.session.query(FollowUp).filter_by(status="done").count() == 1
    assert db.session.get(FollowUp, second).status == "open"


def test_an_assignee_holding_a_second_open_follow_up_returns_to_the_client_file(login, world, zhang):
    first, second, _ = ids_of(zhang)
    followups.assign([db.session.get(FollowUp, first), db.session.get(FollowUp, second)], world.lead, world.manager2)
    db.session.commit()
    response = login("manager2").post(f"/clients/{zhang.id}/visits/new?followup={first}",
                                      data=visit_data(followup=str(first)))
    assert response.headers["Location"] == f"/clients/{zhang.id}"


def test_the_assignees_next_contact_date_becomes_work_for_the_owner(login, world, zhang):
    first, *_ = ids_of(zhang)
    followups.assign([db.session.get(FollowUp, first)], world.lead, world.manager2)
    db.session.commit()
    tomorrow = (datetime.now(SHANGHAI) + timedelta(days=1)).date().isoformat()
    login("manager2").post(f"/clients/{zhang.id}/visits/new?followup={first}",
                           data=visit_data(followup=str(first), next_contact_on=tomorrow, next_step="寄资料"))
    created = db.session.execute(sa.select(FollowUp).where(FollowUp.source == "visit")).scalar_one()
    assert created.assignee_id == world.manager1.id


def test_a_lead_planning_a_follow_up_for_a_team_member_gives_them_the_client(login, world, zhang):
    response = login("lead").post(f"/clients/{zhang.id}/followups/new", data={
        "assignee_id": str(world.manager2.id), "due_at": "2030-01-01T10:00", "kind": "callback", "priority": "2",
        "title": "独立回访", "token": "f-1"})
    assert response.status_code == 303
    created = db.session.execute(sa.select(FollowUp).where(FollowUp.title == "独立回访")).scalar_one()
    assert created.assignee_id == world.manager2.id
    assert login("manager2").get(f"/clients/{zhang.id}").status_code == 200


def test_a_lead_cannot_plan_a_follow_up_for_someone_outside_the_team(login, world, zhang):
    response = login("lead").post(f"/clients/{zhang.id}/followups/new", data={
        "assignee_id": str(world.other_manager.id), "due_at": "2030-01-01T10:00", "kind": "call", "priority": "2",
        "title": "越界", "token": "f-2"})
    assert response.status_code == 422
    assert login("othermanager").get(f"/clients/{zhang.id}").status_code == 404


def test_reassigning_moves_the_previous_owners_work_and_a_third_persons_stays_with_its_access(login, world, zhang):
    first, second, third = ids_of(zhang)
    followups.assign([db.session.get(FollowUp, third)], world.lead, world.lead)  # the lead's own call-back
    db.session.commit()
    response = login("lead").post(f"/clients/{zhang.id}/reassign",
                                  data={"owner_id": str(world.manager2.id), "reason": "王经理调岗"})
    assert response.status_code == 303
    db.session.expire_all()
    assignees = [db.session.get(FollowUp, i).assignee_id for i in (first, second, third)]
    assert assignees == [world.manager2.id, world.manager2.id, world.lead.id]
    assert login("manager1").get(f"/clients/{zhang.id}").status_code == 404
    assert login("manager2").get(f"/clients/{zhang.id}/edit").status_code == 200


def test_a_third_managers_follow_up_survives_a_reassignment_and_keeps_access(login, world):
    client = make_client(world.manager1, name="李四")
    handed = followups.create(client, world.manager1, utcnow() + timedelta(days=1), "callback", title="回访")
    followups.assign([handed], world.lead, world.manager2)
    db.session.commit()
    client_service.reassign(client, world.lead, world.lead, "团队长亲自维护")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(FollowUp, handed.id).assignee_id == world.manager2.id
    assert login("manager2").get(f"/clients/{client.id}").status_code == 200
    assert login("manager1").get(f"/clients/{client.id}").status_code == 404


def test_a_reassignment_is_on_the_timeline_with_from_to_by_whom_and_why(login, world, zhang):
    login("lead").post(f"/clients/{zhang.id}/reassign", data={"owner_id": str(world.manager2.id),
                                                              "reason": "王经理调岗"})
    change = db.session.execute(sa.select(OwnerChange)).scalar_one()
    assert (change.from_owner_id, change.to_owner_id, change.changed_by_id, change.reason,
            change.followups_moved) == (world.manager1.id, world.manager2.id, world.lead.id, "王经理调岗", 3)
    entries = client_service.timeline(db.session.get(Client, zhang.id))
    assert entries[0].kind == "owner" and entries[0].item.id == change.id
    page = login("manager2").get(f"/clients/{zhang.id}").get_data(as_text=True)
    timeline = page[page.index('class="timeline"'):]
    assert "归属：王经理 → 赵经理" in timeline and "李团队长" in timeline and "王经理调岗" in timeline
    assert "随客户转交的未完成跟进：3 条" in timeline


def test_reassigning_to_the_same_owner_records_nothing(world, zhang):
    assert client_service.reassign(zhang, world.lead, world.manager1, "x") is None
    assert db.session.query(OwnerChange).count() == 0


def test_the_lead_who_reassigns_to_the_current_owner_is_told_nothing_changed(login, world, zhang):
    lead = login("lead")
    response = lead.post(f"/clients/{zhang.id}/reassign", data={"owner_id": str(world.manager1.id), "reason": "x"})
    assert response.status_code == 303
    page = lead.get(response.headers["Location"]).get_data(as_text=True)
    assert "已由王经理负责，未作改动" in page and "已改派给" not in page
    assert db.session.query(OwnerChange).count() == 0


def test_generated_follow_ups_go_to_the_owner_and_open_the_client_to_no_one_else(world):
    quiet, served = make_client(world.manager1, name="王五"), make_client(world.manager1, name="赵六")
    for client, days in ((quiet, 400), (served, 1)):
        client.stage = "active"
        client.last_contact_at = utcnow() - timedelta(days=days)
        client.created_at = utcnow() - timedelta(days=500)
    db.session.commit()
    jobs.JOBS_BY_NAME["scan-clients"].work(utcnow())  # flags the quiet one
    callbacks.callback_sample(utcnow().year, seed=1)  # samples the served one (dormant clients are left out)
    plans.start_plan(served, world.manager1, plans.templates(active_only=True)[0], "")
    db.session.commit()
    made = db.session.execute(sa.select(FollowUp.source, FollowUp.assignee_id)).all()
    assert {source for source, _ in made} >= {"flag", "callback", "plan"}
    assert {assignee for _, assignee in made} == {world.manager1.id}
    for client in (quiet, served):
        assert not can_see_client(world.manager2, client) and not can_see_client(world.other_manager, client)


def register(actor, client) -> Complaint:
    complaint = complaints.register(actor, {"complainant_name": client.name, "channel": "phone",
                                            "category": "service_attitude", "facts": "服务态度差"}, client=client)
    db.session.commit()
    return complaint


def test_a_complaint_handed_to_another_handler_opens_the_client_to_them_until_it_closes(login, world, zhang):
    complaint = register(world.manager1, zhang)
    c = login("manager1")
    assert c.post(f"/complaints/{complaint.id}/handover",
                  data={"owner_id": str(world.manager2.id), "reason": "回避"}).status_code == 303
    handler = login("manager2")
    assert handler.get(f"/clients/{zhang.id}").status_code == 200
    # Acknowledging completes the acknowledgement follow-up; the handler keeps a resolve one.
    db.session.expire_all()
    complaint = db.session.get(Complaint, complaint.id)
    complaints.transition(complaint, world.manager2, "verifying")
    db.session.commit()
    assert handler.get(f"/clients/{zhang.id}").status_code == 200
    open_ones = db.session.execute(sa.select(FollowUp.source_key).where(
        FollowUp.source == "complaint", FollowUp.status == "open")).scalars().all()
    assert len(open_ones) == 1 and open_ones[0].startswith(f"complaint:{complaint.id}:resolve:")
    for step in ("responsibility_decided", "remedy_proposed", "client_answered"):
        complaints.transition(complaint, world.manager2, step)
    assert db.session.query(FollowUp).filter_by(source="complaint", status="open").count() == 1
    complaints.close(complaint, world.manager2, "已致歉并改进", True, 4)
    db.session.commit()
    assert handler.get(f"/clients/{zhang.id}").status_code == 404


def test_a_complaint_handled_inside_the_clients_book_adds_no_follow_up(world, zhang):
    complaint = register(world.manager1, zhang)
    complaints.transition(complaint, world.manager1, "verifying")
    db.session.commit()
    assert db.session.query(FollowUp).filter_by(source="complaint", status="open").count() == 0


def test_a_follow_up_hand_over_is_on_the_clients_timeline(login, world, zhang):
    first, *_ = ids_of(zhang)
    login("lead").post("/team", data={"followup_ids": [str(first)], "assignee_id": str(world.manager2.id)})
    entries = [e for e in client_service.timeline(db.session.get(Client, zhang.id)) if e.kind == "handover"]
    assert len(entries) == 1 and entries[0].item.object_id == first
    page = login("manager1").get(f"/clients/{zhang.id}").get_data(as_text=True)
    timeline = page[page.index('class="timeline"'):]
    assert "跟进转交：王经理 → 赵经理" in timeline and "李团队长" in timeline


# ---- limits of the assignee's access (review findings) -------------------------------------------

def test_an_assignee_sees_the_plan_but_cannot_start_change_or_end_it(login, world, zhang):
    first, _, _ = ids_of(zhang)
    followups.assign([db.session.get(FollowUp, first)], world.lead, world.manager2)
    db.session.commit()
    c = login("manager2")
    page = c.get(f"/clients/{zhang.id}/plan")
    assert page.status_code == 200
    assert f'action="/clients/{zhang.id}/plan"' not in page.get_data(as_text=True)
    assert c.post(f"/clients/{zhang.id}/plan", data={"template_id": "1", "goals": "", "token": "p-1"}).status_code == 403
    for path in ("plan/end", "plan/revise", "plan/items"):
        assert c.post(f"/clients/{zhang.id}/{path}", data={"reason": "x"}).status_code == 403, path
    assert db.session.query(plans.ServicePlan).count() == 0
    owner_page = login("manager1").get(f"/clients/{zhang.id}/plan").get_data(as_text=True)
    assert f'action="/clients/{zhang.id}/plan"' in owner_page


def _snooze(c, followup_id: int, days: int):
    until = (datetime.now(SHANGHAI) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")
    return c.post(f"/followups/{followup_id}/snooze", data={"until": until, "reason": "客户出差"})


def test_an_assignee_may_put_a_handed_over_follow_up_off_by_thirty_days_at_most(login, world, zhang):
    first, second, third = ids_of(zhang)
    followups.assign([db.session.get(FollowUp, i) for i in (first, second)], world.lead, world.manager2)
    db.session.commit()
    c = login("manager2")
    refused = _snooze(c, first, 365 * 70)
    assert refused.status_code == 422 and "最多推迟30天" in refused.get_data(as_text=True)
    assert _snooze(c, second, 29).status_code == 303
    db.session.expire_all()
    assert db.session.get(FollowUp, first).status == "open"
    assert db.session.get(FollowUp, second).status == "snoozed"
    assert _snooze(login("manager1"), third, 90).status_code == 303  # the owner may give it more time


def test_a_handed_over_follow_up_reminds_its_new_assignee_before_the_due_time(app, world, zhang):
    from crm.models import OutboxEmail

    first, _, _ = ids_of(zhang)
    send_reminders(now=utcnow() + timedelta(minutes=50))  # 王经理 is reminded of the first one
    db.session.commit()
    assert [e.to_address for e in db.session.query(OutboxEmail)] == [world.manager1.email]
    followups.assign([db.session.get(FollowUp, first)], world.lead, world.manager2)
    db.session.commit()
    send_reminders(now=utcnow() + timedelta(minutes=51))
    reminders = [e.to_address for e in db.session.query(OutboxEmail) if e.dedupe_key.startswith("reminder:")]
    assert reminders == [world.manager1.email, world.manager2.email]
