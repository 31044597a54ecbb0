"""Complaint tickets: lifecycle, closing, deadlines, escalation, immutable history, access, export, scan."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from babel.dates import format_datetime

from crm.domain.refusals import Conflict, RuleError
from crm.domain.workdays import add_working_days, end_of_day
from crm.extensions import db
from crm.models import (
    ClientFlag,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    FollowUp,
    JobRun,
    Notification,
    OutboxEmail,
    WorkdayOverride,
    utcnow,
)
from crm.services import complaints
from crm.services.scan import scan_clients
from tests.factories import make_client

SHANGHAI = ZoneInfo("Asia/Shanghai")
S = ComplaintStatus
STATUSES = [s.value for s in S]
# Monday 2025-11-24, 10:00 in Shanghai.
MONDAY = datetime(2025, 11, 24, 10, 0, tzinfo=SHANGHAI)
DATA = {"complainant_name": "张三", "complainant_contact": "13800001234", "channel": "phone",
        "category": "fees", "severity": "normal", "facts": "佣金比约定高", "client_request": "退还多收佣金"}
ALLOWED = {
    ("registered", "verifying"), ("verifying", "responsibility_decided"),
    ("responsibility_decided", "remedy_proposed"), ("remedy_proposed", "client_answered"),
    ("client_answered", "closed"), ("client_answered", "remedy_proposed"), ("closed", "verifying"),
}


@pytest.fixture
def zhang(world):
    client = make_client(world.manager1, name="张三")
    client.stage = "active"
    client.last_contact_at = utcnow()
    db.session.commit()
    return client


def register(actor, client=None, now=None, **data):
    complaint = complaints.register(actor, {**DATA, **data}, client=client, now=now or utcnow())
    db.session.commit()
    return complaint


def move(complaint, actor, to_status):
    """Take the lifecycle step through the function that does it."""
    if to_status == S.CLOSED:
        return complaints.close(complaint, actor, "退还差额", True, 4)
    if complaint.status == S.CLOSED and to_status == S.VERIFYING:
        return complaints.reopen(complaint, actor, "客户不认可")
    return complaints.transition(complaint, actor, to_status)


def event_rows() -> list[tuple]:
    table = ComplaintEvent.__table__
    return [tuple(r) for r in db.session.execute(sa.select(table).order_by(table.c.id)).all()]


# ---- registration ----------------------------------------------------------------------------

def test_register_sets_working_day_deadlines_an_event_and_an_ack_follow_up(world, zhang):
    complaint = register(world.manager1, zhang, now=MONDAY)
    assert re.fullmatch(r"TS20251124-0001", complaint.number)
    assert complaint.ack_due_at == end_of_day(date(2025, 11, 25))
    assert complaint.resolve_due_at == end_of_day(date(2025, 12, 15))
    assert complaint.owner_id == complaint.first_handler_id == world.manager1.id
    (event,) = complaints.events(complaint)
    assert event.kind == "created" and event.to_status == "registered"
    followup = db.session.execute(sa.select(FollowUp)).scalar_one()
    assert (followup.kind, followup.source, followup.source_key) == ("complaint", "complaint",
                                                                     f"complaint:{complaint.id}:ack")
    assert followup.due_at == complaint.ack_due_at and followup.assignee_id == world.manager1.id
    assert register(world.manager1, None, now=MONDAY).number == "TS20251124-0002"


def test_serious_and_major_complaints_get_shorter_deadlines(world):
    assert register(world.manager1, now=MONDAY, severity="serious").resolve_due_at == end_of_day(date(2025, 12, 8))
    assert register(world.manager1, now=MONDAY, severity="major").resolve_due_at == end_of_day(date(2025, 12, 1))


def test_deadlines_use_the_holiday_calendar_and_the_overrides(world):
    before_national_day = datetime(2025, 9, 30, 10, tzinfo=SHANGHAI)
    assert register(world.manager1, now=before_national_day).ack_due_at == end_of_day(date(2025, 10, 9))
    db.session.add(WorkdayOverride(day=date(2025, 11, 25), is_working_day=False, note="停电"))
    db.session.commit()
    assert register(world.manager1, now=MONDAY).ack_due_at == end_of_day(date(2025, 11, 26))


def test_register_from_a_client_file_prefills_and_a_double_submit_makes_one(login, world, zhang):
    c = login("manager1")
    page = c.get(f"/complaints/new?client={zhang.id}").get_data(as_text=True)
    assert "张三" in page
    form = {**DATA, "token": "tok-1"}
    first = c.post(f"/complaints/new?client={zhang.id}", data=form)
    second = c.post(f"/complaints/new?client={zhang.id}", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    complaint = db.session.execute(sa.select(Complaint)).scalar_one()
    assert complaint.client_id == zhang.id and complaint.created_by_id == world.manager1.id


def test_register_with_missing_fields_is_422_with_field_errors(login, world):
    response = login("manager1").post("/complaints/new", data={**DATA, "facts": "", "token": "t"})
    assert response.status_code == 422
    assert "field-error" in response.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count()).select_from(Complaint)).scalar_one() == 0


def test_register_for_a_client_one_cannot_see_is_404(login, world, zhang):
    c = login("manager2")
    assert c.get(f"/complaints/new?client={zhang.id}").status_code == 404
    assert c.post(f"/complaints/new?client={zhang.id}", data={**DATA, "token": "x"}).status_code == 404


# ---- lifecycle -------------------------------------------------------------------------------

@pytest.mark.parametrize("to_status", STATUSES)
@pytest.mark.parametrize("from_status", STATUSES)
def test_every_transition_of_the_status_matrix(world, zhang, from_status, to_status):
    complaint = register(world.manager1, zhang)
    complaint.status = from_status
    if from_status == S.CLOSED:
        complaint.closed_at = utcnow()
    db.session.commit()
    assert complaints.can_transition(from_status, to_status) is ((from_status, to_status) in ALLOWED)
    before = len(complaints.events(complaint))
    if (from_status, to_status) in ALLOWED:
        move(complaint, world.lead, to_status)
        db.session.commit()
        assert complaint.status == to_status
        assert len(complaints.events(complaint)) == before + 1
    else:
        with pytest.raises(RuleError) as refused:
            move(complaint, world.lead, to_status)
        assert refused.value.fields() == {"to_status": "complaint.step_not_allowed"}
        db.session.rollback()
        assert db.session.get(Complaint, complaint.id).status == from_status
        assert len(complaints.events(complaint)) == before


def test_the_first_step_acknowledges_and_completes_the_ack_follow_up(world, zhang):
    complaint = register(world.manager1, zhang)
    complaints.transition(complaint, world.manager1, "verifying", "已联系客户")
    db.session.commit()
    assert complaint.acknowledged_at is not None
    assert db.session.execute(sa.select(FollowUp)).scalar_one().status == "done"


@pytest.mark.parametrize(("resolution", "accepted", "satisfaction", "missing"), [
    ("", True, 4, {"resolution"}),
    ("退还差额", None, 4, {"accepted"}),
    ("退还差额", True, None, {"satisfaction"}),
    ("退还差额", True, 0, {"satisfaction"}),
    ("退还差额", False, 6, {"satisfaction"}),
    ("  ", None, None, {"resolution", "accepted", "satisfaction"}),
])
def test_close_requires_resolution_acceptance_and_a_satisfaction_of_1_to_5(world, zhang, resolution, accepted,
                                                                           satisfaction, missing):
    complaint = register(world.manager1, zhang)
    complaint.status = "client_answered"
    db.session.commit()
    with pytest.raises(RuleError) as caught:
        complaints.close(complaint, world.manager1, resolution, accepted, satisfaction)
    assert caught.value.fields() == {field: "complaint.required" for field in missing}
    db.session.rollback()
    assert db.session.get(Complaint, complaint.id).status == "client_answered"


def test_close_form_without_the_required_fields_is_422(login, world, zhang):
    complaint = register(world.manager1, zhang)
    complaint.status = "client_answered"
    db.session.commit()
    c = login("manager1")
    response = c.post(f"/complaints/{complaint.id}/close", data={"resolution": "退还", "satisfaction": ""})
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Complaint, complaint.id).status == "client_answered"
    ok = c.post(f"/complaints/{complaint.id}/close",
                data={"resolution": "退还差额", "accepted": "yes", "satisfaction": "5"})
    assert ok.status_code == 303
    db.session.expire_all()
    closed = db.session.get(Complaint, complaint.id)
    assert (closed.status, closed.accepted, closed.satisfaction) == ("closed", True, 5)
    assert closed.client.last_satisfaction == 5


def test_a_forbidden_status_change_through_the_route_is_422(login, world, zhang):
    complaint = register(world.manager1, zhang)
    response = login("manager1").post(f"/complaints/{complaint.id}/status", data={"to_status": "closed"})
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Complaint, complaint.id).status == "registered"


def test_status_note_reopen_routes_answer_303_and_the_page_shows_the_history_newest_first(login, world, zhang):
    complaint = register(world.manager1, zhang)
    c = login("manager1")
    assert c.post(f"/complaints/{complaint.id}/status", data={"to_status": "verifying", "note": "核实中"}).status_code == 303
    assert c.post(f"/complaints/{complaint.id}/note", data={"text": "调取录音"}).status_code == 303
    assert c.post(f"/complaints/{complaint.id}/note", data={"text": ""}).status_code == 422
    page = c.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    history = page[page.index('id="history"'):]
    assert history.index("调取录音") < history.index("核实中") < history.index("佣金比约定高")
    assert 'id="countdown"' in page


def test_handover_moves_the_ticket_and_its_follow_up_and_notifies(login, world, zhang):
    complaint = register(world.manager1, zhang)
    c = login("manager1")
    assert c.post(f"/complaints/{complaint.id}/handover",
                  data={"owner_id": str(world.manager2.id), "reason": ""}).status_code == 422
    assert c.post(f"/complaints/{complaint.id}/handover",
                  data={"owner_id": str(world.manager2.id), "reason": "休假"}).status_code == 303
    db.session.expire_all()
    complaint = db.session.get(Complaint, complaint.id)
    assert complaint.owner_id == world.manager2.id and complaint.first_handler_id == world.manager1.id
    assert db.session.execute(sa.select(FollowUp)).scalar_one().assignee_id == world.manager2.id
    assert db.session.execute(sa.select(OutboxEmail.to_address)).scalars().all() == ["m2@example.com"]
    assert db.session.execute(sa.select(Notification.user_id)).scalars().all() == [world.manager2.id]


def test_extension_needs_a_reason_keeps_old_and_new_deadlines_and_is_for_leads(login, world, zhang):
    complaint = register(world.manager1, zhang)
    old_due = complaint.resolve_due_at
    later = (old_due.astimezone(SHANGHAI).date() + timedelta(days=10)).isoformat()
    assert login("manager1").post(f"/complaints/{complaint.id}/extend",
                                  data={"new_due": later, "reason": "等待交易所回复"}).status_code == 403
    c = login("lead")
    assert c.post(f"/complaints/{complaint.id}/extend", data={"new_due": later, "reason": ""}).status_code == 422
    earlier = (old_due.astimezone(SHANGHAI).date() - timedelta(days=1)).isoformat()
    assert c.post(f"/complaints/{complaint.id}/extend",
                  data={"new_due": earlier, "reason": "x"}).status_code == 422
    assert c.post(f"/complaints/{complaint.id}/extend",
                  data={"new_due": later, "reason": "等待交易所回复"}).status_code == 303
    db.session.expire_all()
    event = db.session.execute(sa.select(ComplaintEvent).where(ComplaintEvent.kind == "extension")).scalar_one()
    assert event.old_due == old_due and event.new_due == end_of_day(date.fromisoformat(later))
    assert event.text == "等待交易所回复"


# ---- refusals --------------------------------------------------------------------------------

def _closed(complaint, actor):
    complaint.status = "client_answered"
    complaints.close(complaint, actor, "退还差额", True, 4)
    return complaint


LATER, EARLIER = timedelta(days=10), timedelta(days=-1)
REFUSALS = {
    "register-missing": (lambda c, w: complaints.register(w.manager1, {**DATA, "category": "", "facts": ""}),
                         {"category": "complaint.required", "facts": "complaint.required"}),
    "note-empty": (lambda c, w: complaints.add_note(c, w.manager1, "  "), {"text": "complaint.required"}),
    "handover-same-owner": (lambda c, w: complaints.handover(c, w.lead, w.manager1, "休假"),
                            {"owner_id": "complaint.same_owner"}),
    "handover-no-reason": (lambda c, w: complaints.handover(c, w.lead, w.manager2, ""),
                           {"reason": "complaint.required"}),
    "extend-earlier-no-reason": (lambda c, w: complaints.extend(c, w.lead, c.resolve_due_at + EARLIER, ""),
                                 {"new_due": "complaint.not_later", "reason": "complaint.required"}),
    "extend-closed": (lambda c, w: complaints.extend(_closed(c, w.lead), w.lead, c.resolve_due_at + LATER, "x"),
                      {"new_due": "complaint.closed"}),
    "reopen-open": (lambda c, w: complaints.reopen(c, w.lead, "客户不认可"),
                    {"to_status": "complaint.step_not_allowed"}),
    "reopen-no-reason": (lambda c, w: complaints.reopen(_closed(c, w.lead), w.lead, ""),
                         {"reason": "complaint.required"}),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_is_a_rule_error_on_its_field_and_saves_nothing(world, zhang, case):
    complaint = register(world.manager1, zhang)
    events_before = len(complaints.events(complaint))
    step, fields = REFUSALS[case]
    with pytest.raises(RuleError) as refused:
        step(complaint, world)
    assert refused.value.fields() == fields
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count()).select_from(Complaint)).scalar_one() == 1
    assert len(complaints.events(db.session.get(Complaint, complaint.id))) == events_before


def test_the_route_shows_each_refusal_in_words_on_its_field(login, world, zhang):
    complaint = register(world.manager1, zhang)
    earlier = (complaint.resolve_due_at.astimezone(SHANGHAI).date() - timedelta(days=1)).isoformat()
    response = login("lead").post(f"/complaints/{complaint.id}/extend", data={"new_due": earlier, "reason": "x"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    extend_form = page[page.index('id="extend-form"'):]
    assert "请选择当前期限之后的日期。" in extend_form[:extend_form.index("</form>")]


def test_a_save_over_someone_elses_change_is_a_conflict_and_saves_nothing(world, zhang):
    complaint = register(world.manager1, zhang)
    assert complaint.status == "registered"  # loaded at version 1
    with db.engine.begin() as conn:  # another session moves it on meanwhile
        conn.execute(sa.update(Complaint.__table__).where(Complaint.__table__.c.id == complaint.id)
                     .values(version=Complaint.__table__.c.version + 1))
    with pytest.raises(Conflict) as refused:
        complaints.transition(complaint, world.manager1, "verifying")
    assert refused.value.code == "complaint.changed_meanwhile"
    db.session.rollback()
    assert db.session.get(Complaint, complaint.id).status == "registered"
    assert len(complaints.events(complaint)) == 1


# ---- escalation ------------------------------------------------------------------------------

def _emails() -> list[str]:
    return sorted(db.session.execute(sa.select(OutboxEmail.to_address)).scalars())


def test_escalation_at_the_exact_overdue_moment_then_to_compliance(world, zhang):
    complaint = register(world.manager1, zhang, now=MONDAY)
    complaints.transition(complaint, world.manager1, "verifying", now=MONDAY)
    db.session.commit()
    due = complaint.resolve_due_at
    assert due == end_of_day(date(2025, 12, 15))

    def run(at):
        outcome = complaints.escalate_overdue(at)
        db.session.commit()
        return outcome

    run(due - timedelta(microseconds=1))
    run(due)
    assert complaint.escalation_level == 0 and _emails() == []

    run(due + timedelta(microseconds=1))
    assert complaint.escalation_level == 1
    assert _emails() == ["lead@example.com"]
    assert [n.user_id for n in db.session.execute(sa.select(Notification)).scalars()] == [world.lead.id]

    run(due + timedelta(hours=2))
    later_same_day = add_working_days(due, 1)  # end of Tuesday 16th: still within "one more working day"
    run(later_same_day)
    assert complaint.escalation_level == 1 and _emails() == ["lead@example.com"]

    run(later_same_day + timedelta(microseconds=1))
    assert complaint.escalation_level == 2
    assert _emails() == ["admin@example.com", "lead@example.com"]
    run(later_same_day + timedelta(days=3))
    assert _emails() == ["admin@example.com", "lead@example.com"]
    kinds = [e.kind for e in complaints.events(complaint)]
    assert kinds.count("escalation") == 2


def test_an_unacknowledged_complaint_escalates_after_the_ack_deadline(world, zhang):
    complaint = register(world.manager1, zhang, now=MONDAY)
    ack_due = complaint.ack_due_at
    complaints.escalate_overdue(ack_due)
    assert complaint.escalation_level == 0
    complaints.escalate_overdue(ack_due + timedelta(microseconds=1))
    db.session.commit()
    assert complaint.escalation_level == 1 and _emails() == ["lead@example.com"]


def test_closed_complaints_never_escalate(world, zhang):
    complaint = register(world.manager1, zhang, now=MONDAY)
    complaint.status = "client_answered"
    complaints.close(complaint, world.manager1, "已解决", True, 5, now=MONDAY)
    db.session.commit()
    complaints.escalate_overdue(MONDAY + timedelta(days=60))
    assert complaint.escalation_level == 0 and _emails() == []


def test_the_escalation_command_runs_once_per_slot(app, runner, world, zhang):
    register(world.manager1, zhang, now=MONDAY - timedelta(days=60))
    first = runner.invoke(args=["escalate-complaints", "--scheduled"])
    second = runner.invoke(args=["escalate-complaints", "--scheduled"])
    assert "1 to team leads" in first.output, first.output
    assert "already run" in second.output
    assert db.session.execute(sa.select(sa.func.count()).select_from(JobRun)
                              .where(JobRun.job == "escalate-complaints")).scalar_one() == 1


def test_two_overlapping_escalation_passes_escalate_and_notify_once(app, world, zhang):
    import threading

    complaint = register(world.manager1, zhang, now=MONDAY - timedelta(days=60))
    db.session.commit()
    later = MONDAY + timedelta(days=1)
    start, errors, outcomes = threading.Barrier(2), [], []

    def escalation_pass() -> None:
        try:
            with app.app_context():
                start.wait()
                outcomes.append(complaints.escalate_overdue(later))
                db.session.commit()
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=escalation_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [], errors
    assert sorted(outcomes)[-1].startswith("complaints escalated: 1 to team leads"), outcomes
    db.session.expire_all()
    assert db.session.get(type(complaint), complaint.id).escalation_level == 1
    assert _emails() == ["lead@example.com"]
    assert [n.user_id for n in db.session.execute(sa.select(Notification)).scalars()] == [world.lead.id]


# ---- history cannot be edited ----------------------------------------------------------------

def test_no_route_edits_or_deletes_complaint_events(app, login, world, zhang):
    complaint = register(world.manager1, zhang)
    complaints.add_note(complaint, world.manager1, "原始记录")
    db.session.commit()
    before = event_rows()
    for rule in app.url_map.iter_rules():
        assert "event" not in rule.endpoint
        if rule.endpoint.startswith("complaints."):
            assert not (rule.methods or set()) & {"PUT", "PATCH", "DELETE"}
    for username in ("manager1", "admin"):
        c = login(username)
        rules = sorted(app.url_map.iter_rules(), key=lambda r: "logout" in r.rule)
        for rule in rules:
            if "POST" not in (rule.methods or set()):
                continue
            url = re.sub(r"<(?:\w+:)?(\w+)>", str(complaint.id), rule.rule)
            for data in ({}, {"text": "x", "to_status": "verifying", "reason": "r", "resolution": "r"}):
                try:
                    c.post(url, data=data)
                except Exception:  # noqa: BLE001 — a route refusing junk input is fine here
                    pass
    db.session.rollback()
    db.session.expire_all()
    after = event_rows()
    assert after[:len(before)] == before


# ---- access ----------------------------------------------------------------------------------

ROUTES = [("get", ""), ("post", "/status"), ("post", "/note"), ("post", "/handover"), ("post", "/extend"),
          ("post", "/close"), ("post", "/reopen")]


@pytest.mark.parametrize(("method", "suffix"), ROUTES)
@pytest.mark.parametrize("username", ["manager2", "otherlead", "othermanager"])
def test_others_get_404_on_a_complaint_and_its_actions(login, world, zhang, username, method, suffix):
    complaint = register(world.manager1, zhang)
    before = event_rows()
    c = login(username)
    response = getattr(c, method)(f"/complaints/{complaint.id}{suffix}", data={"text": "x", "reason": "r"})
    assert response.status_code == 404
    assert event_rows() == before


@pytest.mark.parametrize("username", ["manager1", "lead", "admin"])
def test_the_handler_the_team_lead_and_compliance_see_it(login, world, zhang, username):
    complaint = register(world.manager1, zhang)
    c = login(username)
    assert c.get(f"/complaints/{complaint.id}").status_code == 200
    assert complaint.number in c.get("/complaints?tab=" + ("mine" if username == "manager1" else "team")
                                     ).get_data(as_text=True)


def test_a_manager_sees_complaints_about_their_clients_registered_by_others(login, world, zhang):
    complaint = register(world.lead, zhang)
    assert login("manager1").get(f"/complaints/{complaint.id}").status_code == 200
    assert login("manager2").get(f"/complaints/{complaint.id}").status_code == 404
    assert login("otherlead").get(f"/complaints/{complaint.id}").status_code == 404


def test_the_other_teams_lead_does_not_list_it(login, world, zhang):
    complaint = register(world.manager1, zhang)
    assert complaint.number not in login("otherlead").get("/complaints?tab=team").get_data(as_text=True)
    assert complaint.number not in login("manager2").get("/complaints").get_data(as_text=True)


@pytest.mark.parametrize(("username", "status"), [("manager1", 403), ("lead", 403), ("admin", 200)])
def test_csv_export_is_for_compliance_only(login, world, zhang, username, status):
    complaint = register(world.manager1, zhang)
    response = login(username).get("/complaints?tab=team&format=csv")
    assert response.status_code == status
    if status == 200:
        body = response.get_data()
        assert body.startswith("\ufeff".encode())
        assert response.mimetype == "text/csv"
        assert complaint.number in body.decode("utf-8-sig")
        assert "张三" in body.decode("utf-8-sig")


def test_the_regulator_tab_lists_complaints_passed_on_by_a_regulator(login, world, zhang):
    from_regulator = register(world.manager1, zhang, channel="regulator", complainant_name="证监会转办")
    by_phone = register(world.manager1, zhang, channel="phone", complainant_name="电话投诉")
    page = login("lead").get("/complaints?tab=regulator").get_data(as_text=True)
    assert from_regulator.number in page and by_phone.number not in page


def test_the_overdue_tab_lists_overdue_open_complaints(login, world, zhang):
    late = register(world.manager1, zhang, now=utcnow() - timedelta(days=60))
    fresh = register(world.manager1, zhang)
    page = login("manager1").get("/complaints?tab=overdue").get_data(as_text=True)
    assert late.number in page and fresh.number not in page


@pytest.mark.parametrize(("username", "status"), [("manager1", 403), ("lead", 403), ("admin", 200)])
def test_workday_overrides_are_for_compliance(login, world, username, status):
    c = login(username)
    assert c.get("/admin/workdays").status_code == status
    response = c.post("/admin/workdays", data={"day": "2035-01-01", "is_working_day": "0", "note": "元旦"})
    assert response.status_code == (303 if status == 200 else 403)
    if status == 200:
        row = db.session.execute(sa.select(WorkdayOverride)).scalar_one()
        assert (row.day, row.is_working_day) == (date(2035, 1, 1), False)
        assert c.post(f"/admin/workdays/{row.id}/remove").status_code == 303
        assert db.session.execute(sa.select(sa.func.count()).select_from(WorkdayOverride)).scalar_one() == 0


# ---- feeding the at-risk scan ----------------------------------------------------------------

def _flag(client) -> ClientFlag | None:
    return db.session.execute(sa.select(ClientFlag).where(ClientFlag.client_id == client.id,
                                                          ClientFlag.cleared_at.is_(None))).scalar_one_or_none()


def test_a_low_satisfaction_on_close_makes_the_next_scan_flag_the_client(world, zhang):
    complaint = register(world.manager1, zhang)
    complaint.status = "client_answered"
    complaints.close(complaint, world.manager1, "解释说明", False, 2)
    db.session.commit()
    scan_clients(utcnow())
    db.session.commit()
    flag = _flag(zhang)
    assert flag is not None and flag.kind == "at_risk" and "low_satisfaction" in flag.reasons


def test_an_overdue_open_complaint_makes_the_scan_raise_complaint_overdue(world, zhang):
    register(world.manager1, zhang, now=utcnow() - timedelta(days=60))
    scan_clients(utcnow())
    db.session.commit()
    flag = _flag(zhang)
    assert flag is not None and flag.kind == "at_risk" and flag.reasons == "complaint_overdue"


def test_a_complaint_within_its_deadline_raises_nothing(world, zhang):
    register(world.manager1, zhang)
    scan_clients(utcnow())
    db.session.commit()
    assert _flag(zhang) is None


def test_timestamps_are_aware_utc(world, zhang):
    complaint = register(world.manager1, zhang, now=MONDAY)
    db.session.expire_all()
    stored = db.session.get(Complaint, complaint.id)
    assert stored.created_at == MONDAY and stored.created_at.tzinfo == timezone.utc


def test_a_change_made_meanwhile_by_someone_else_is_409_not_a_lost_update(app, login, world, zhang):
    from sqlalchemy import event

    complaint = register(world.manager1, zhang)
    c = login("manager1")

    # Between the route's load and its save, another session moves the complaint on.
    def bump(session, flush_context, instances):
        with db.engine.begin() as conn:
            conn.execute(sa.update(Complaint.__table__).where(Complaint.__table__.c.id == complaint.id)
                         .values(version=Complaint.__table__.c.version + 1))

    event.listen(sa.orm.Session, "before_flush", bump, once=True)
    try:
        response = c.post(f"/complaints/{complaint.id}/status", data={"to_status": "verifying"})
    finally:
        if event.contains(sa.orm.Session, "before_flush", bump):
            event.remove(sa.orm.Session, "before_flush", bump)
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(Complaint, complaint.id).status == "registered"


def test_the_list_shows_the_deadline_that_counts_now(login, world, zhang):
    complaint = register(world.manager1, zhang)
    c = login("manager1")
    page = c.get("/complaints").get_data(as_text=True)
    ack = format_datetime(complaint.ack_due_at, "short", tzinfo=SHANGHAI, locale="zh_CN")
    assert f"受理确认期限 {ack}" in page
    complaints.transition(complaint, world.manager1, "verifying")
    db.session.commit()
    page = c.get("/complaints").get_data(as_text=True)
    assert f"期限 {format_datetime(complaint.resolve_due_at, 'short', tzinfo=SHANGHAI, locale='zh_CN')}" in page
    assert "受理确认期限" not in page


def test_compliance_starts_on_everyones_complaints_and_a_manager_on_their_own(login, world, zhang):
    complaint = register(world.manager1, zhang)
    admin_page = login("admin").get("/complaints").get_data(as_text=True)
    assert complaint.number in admin_page and 'data-tab="team" class="active"' in admin_page
    assert 'data-tab="mine" class="active"' in login("manager1").get("/complaints").get_data(as_text=True)
