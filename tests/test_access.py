"""The visibility rule, route by route and finder by finder: own clients, team's clients for a lead, all for
an admin, and the clients of one's open follow-ups (docs/access.md)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from crm.domain.refusals import NotFound
from crm.extensions import db
from crm.models import AuditEvent, Client, FollowUp, PlanItem, ServicePlan, VisitLog, utcnow
from crm.services import access
from tests.factories import make_client, make_visit

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def owned(world):
    """One client of manager1 with one visit."""
    client = make_client(world.manager1, name="张三", mobile="13912345678")
    visit = make_visit(client, world.manager1)
    db.session.commit()
    return client.id, visit.id


def client_routes(client_id: int, visit_id: int):
    return [
        ("GET", f"/clients/{client_id}", None),
        ("GET", f"/clients/{client_id}/edit", None),
        ("POST", f"/clients/{client_id}/edit", {"name": "改名", "mobile": "13912345678",
                                                 "source_channel": "walk_in", "version": "1",
                                                 "loaded": ""}),
        ("POST", f"/clients/{client_id}/stage", {"stage": "lost"}),
        ("POST", f"/clients/{client_id}/reveal", {"field": "mobile"}),
        ("POST", f"/clients/{client_id}/call", None),
        ("GET", f"/clients/{client_id}/visits/new", None),
        ("POST", f"/clients/{client_id}/visits/new", {"summary": "x", "channel": "phone",
                                                       "outcome": "served",
                                                       "occurred_at": "2024-01-01T10:00"}),
        ("GET", f"/visits/{visit_id}", None),
        ("GET", f"/clients/{client_id}/reassign", None),
        ("POST", f"/clients/{client_id}/reassign", {"owner_id": "1", "reason": "x"}),
    ]


ROUTE_IDS = ["show", "edit-get", "edit-post", "stage", "reveal", "call", "visit-form", "visit-post",
             "visit-show", "reassign-get", "reassign-post"]


@pytest.mark.parametrize("index", range(len(ROUTE_IDS)), ids=ROUTE_IDS)
@pytest.mark.parametrize("username", ["manager2", "othermanager", "otherlead"])
def test_someone_without_business_gets_404_and_nothing_changes(login, owned, username, index):
    client_id, visit_id = owned
    method, url, data = client_routes(client_id, visit_id)[index]
    c = login(username)
    audited_before = db.session.query(AuditEvent).count()  # the sign-in itself is on the trail
    response = c.open(url, method=method, data=data)
    assert response.status_code == 404
    assert "张三" not in response.get_data(as_text=True)
    db.session.expire_all()
    client = db.session.get(Client, client_id)
    assert client.name == "张三" and client.stage == "contacted" and client.owner.username == "manager1"
    assert db.session.query(VisitLog).count() == 1
    assert db.session.query(AuditEvent).count() == audited_before


@pytest.mark.parametrize("username", ["manager1", "lead", "admin"])
@pytest.mark.parametrize("url", ["/clients/{c}", "/clients/{c}/edit", "/clients/{c}/visits/new",
                                 "/visits/{v}"])
def test_owner_their_lead_and_admin_can_read(login, owned, username, url):
    client_id, visit_id = owned
    response = login(username).get(url.format(c=client_id, v=visit_id))
    assert response.status_code == 200
    assert "张三" in response.get_data(as_text=True)


def test_manager_cannot_open_reassign_even_for_own_client(login, owned):
    client_id, _ = owned
    assert login("manager1").get(f"/clients/{client_id}/reassign").status_code == 404


def test_lists_show_only_visible_clients(login, world):
    make_client(world.manager1, name="张三")
    make_client(world.manager2, name="李四")
    make_client(world.other_manager, name="王五")
    db.session.commit()
    pages = {u: login(u).get("/clients").get_data(as_text=True)
             for u in ("manager1", "manager2", "lead", "otherlead", "admin")}
    assert "张三" in pages["manager1"] and "李四" not in pages["manager1"] and "王五" not in pages["manager1"]
    assert "李四" in pages["manager2"] and "张三" not in pages["manager2"]
    assert "张三" in pages["lead"] and "李四" in pages["lead"] and "王五" not in pages["lead"]
    assert "王五" in pages["otherlead"] and "张三" not in pages["otherlead"]
    assert all(name in pages["admin"] for name in ("张三", "李四", "王五"))


def test_search_by_mobile_digits_does_not_reach_other_managers_clients(login, world):
    make_client(world.manager1, name="张三", mobile="13900001111")
    db.session.commit()
    page = login("manager2").get("/clients?q=1111").get_data(as_text=True)
    assert "张三" not in page


@pytest.mark.parametrize("url", ["/clients", "/clients/new", "/clients/1", "/visits/1", "/settings",
                                 "/admin/users"])
def test_signed_out_visitor_is_sent_to_sign_in(client, world, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("url", ["/admin/users", "/admin/users/new", "/admin/teams", "/admin/outlets",
                                 "/admin/audit"])
@pytest.mark.parametrize("username", ["manager1", "lead"])
def test_admin_pages_are_refused_to_managers_and_leads(login, world, username, url):
    assert login(username).get(url).status_code == 403


# ---------------------------------------------------------------- the assignee of an open follow-up

@pytest.fixture
def handed_over(world, owned):
    """manager1's client 张三, one of whose follow-ups the lead handed to manager2."""
    from crm.services import followups

    client_id, visit_id = owned
    client = db.session.get(Client, client_id)
    followup = followups.create(client, world.manager1, utcnow() + timedelta(days=1), "call", title="回访")
    followups.assign([followup], world.lead, world.manager2)
    db.session.commit()
    return client_id, visit_id, followup.id


ASSIGNEE_PAGES = ["/clients/{c}", "/clients/{c}/profile", "/clients/{c}/suitability", "/clients/{c}/plan",
                  "/clients/{c}/assets", "/clients/{c}/visits/new", "/clients/{c}/visits/new?followup={f}",
                  "/visits/{v}"]


@pytest.mark.parametrize("url", ASSIGNEE_PAGES)
def test_the_assignee_of_an_open_follow_up_can_open_the_client_and_its_tabs(login, handed_over, url):
    client_id, visit_id, followup_id = handed_over
    response = login("manager2").get(url.format(c=client_id, v=visit_id, f=followup_id))
    assert response.status_code == 200
    assert "张三" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ASSIGNEE_PAGES)
@pytest.mark.parametrize("username", ["othermanager", "otherlead"])
def test_someone_else_still_gets_404_on_a_handed_over_client(login, handed_over, username, url):
    client_id, visit_id, followup_id = handed_over
    assert login(username).get(url.format(c=client_id, v=visit_id, f=followup_id)).status_code == 404


def test_a_snoozed_follow_up_keeps_the_access(login, handed_over):
    client_id, _, followup_id = handed_over
    c = login("manager2")
    later = (datetime.now(SHANGHAI) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    assert c.post(f"/followups/{followup_id}/snooze", data={"until": later, "reason": "客户出差"}).status_code == 303
    assert db.session.get(FollowUp, followup_id).status == "snoozed"
    assert c.get(f"/clients/{client_id}").status_code == 200


def test_the_assignee_reveals_and_calls_and_both_are_logged(login, handed_over, world):
    client_id, _, _ = handed_over
    c = login("manager2")
    response = c.post(f"/clients/{client_id}/reveal", data={"field": "mobile"})
    assert response.status_code == 200 and "13912345678" in response.get_data(as_text=True)
    call = c.post(f"/clients/{client_id}/call")
    assert call.status_code == 303 and call.headers["Location"] == "tel:+8613912345678"
    rows = db.session.execute(sa.select(AuditEvent.actor_id, AuditEvent.action)
                              .where(AuditEvent.action.like("reveal%")).order_by(AuditEvent.id)).all()
    assert rows == [(world.manager2.id, "reveal.mobile"), (world.manager2.id, "reveal.mobile.call")]


@pytest.mark.parametrize("method,url,data", [
    ("GET", "/clients/{c}/edit", None),
    ("POST", "/clients/{c}/edit", {"name": "改名", "mobile": "13912345678", "source_channel": "walk_in",
                                   "version": "1", "loaded": ""}),
    ("POST", "/clients/{c}/stage", {"stage": "lost"}),
    ("GET", "/clients/{c}/followups/new", None),
    ("POST", "/clients/{c}/followups/new", {"assignee_id": "4", "due_at": "2030-01-01T10:00", "kind": "call",
                                            "priority": "2", "title": "自己续上"}),
], ids=["edit-get", "edit-post", "stage", "plan-followup-get", "plan-followup-post"])
def test_the_assignee_may_not_change_the_client_file_or_plan_more_work(login, handed_over, method, url, data):
    client_id, _, _ = handed_over
    response = login("manager2").open(url.format(c=client_id), method=method, data=data)
    assert response.status_code == 403
    db.session.expire_all()
    client = db.session.get(Client, client_id)
    assert client.name == "张三" and client.stage == "contacted" and client.owner.username == "manager1"
    assert db.session.query(FollowUp).count() == 1


def test_the_assignee_page_hides_the_owner_actions_and_says_who_owns_the_client(login, handed_over):
    client_id, _, _ = handed_over
    page = login("manager2").get(f"/clients/{client_id}").get_data(as_text=True)
    assert f"/clients/{client_id}/edit" not in page and f"/clients/{client_id}/stage" not in page
    assert f"/clients/{client_id}/followups/new" not in page and "王经理" in page
    owner_page = login("manager1").get(f"/clients/{client_id}").get_data(as_text=True)
    assert f"/clients/{client_id}/edit" in owner_page and f"/clients/{client_id}/stage" in owner_page


def test_the_assignee_finds_the_client_in_the_list_with_its_owner_until_the_follow_up_is_done(login, handed_over):
    client_id, _, followup_id = handed_over
    c = login("manager2")
    page = c.get("/clients").get_data(as_text=True)
    assert "张三" in page and "王经理" in page
    db.session.get(FollowUp, followup_id).status = "done"
    db.session.commit()
    assert "张三" not in c.get("/clients").get_data(as_text=True)


@pytest.mark.parametrize("ending", ["done", "cancelled"])
@pytest.mark.parametrize("url", ASSIGNEE_PAGES)
def test_the_access_ends_with_the_follow_up(login, handed_over, ending, url):
    client_id, visit_id, followup_id = handed_over
    if ending == "done":
        db.session.get(FollowUp, followup_id).status = "done"
        db.session.commit()
    else:
        assert login("manager2").post(f"/followups/{followup_id}/cancel").status_code == 303
    c = login("manager2")
    assert c.get(url.format(c=client_id, v=visit_id, f=followup_id)).status_code == 404
    assert c.get(f"/followups/{followup_id}").status_code == 200


def test_a_lead_holding_a_follow_up_on_another_teams_client_sees_it_but_cannot_reassign_it(login, world):
    from crm.services import followups

    client = make_client(world.other_manager, name="王五")
    followups.create(client, world.lead, utcnow(), "callback", title="独立回访")
    db.session.commit()
    c = login("lead")
    assert c.get(f"/clients/{client.id}").status_code == 200
    assert c.get(f"/clients/{client.id}/reassign").status_code == 403
    assert c.post(f"/clients/{client.id}/reassign",
                  data={"owner_id": str(world.manager1.id), "reason": "x"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Client, client.id).owner_id == world.other_manager.id


def test_book_lists_do_not_grow_with_assigned_clients(login, handed_over, world):
    from crm.services import suitability

    client_id, _, _ = handed_over
    assert [c.id for c in suitability.unassessed_clients(world.manager2)] == []
    assert [c.id for c in suitability.unassessed_clients(world.manager1)] == [client_id]


# ---------------------------------------------------------------- the finders, without a request

def _plan_with_item(client, author) -> tuple[ServicePlan, PlanItem]:
    """An active service plan on the client with one review call (made directly: plans have their own tests)."""
    today = utcnow().date()
    plan = ServicePlan(client_id=client.id, started_on=today, review_on=today + timedelta(days=365),
                       created_by_id=author.id)
    db.session.add(plan)
    db.session.flush()
    item = PlanItem(plan_id=plan.id, kind="review_call", cadence="monthly", starts_on=today)
    db.session.add(item)
    db.session.flush()
    return plan, item


@pytest.fixture
def manager1_records(world):
    """manager1's client with a visit, a complaint, a follow-up and a plan item: the id of each kind."""
    from crm.services import complaints, followups

    client = make_client(world.manager1, name="张三")
    visit = make_visit(client, world.manager1)
    complaint = complaints.register(world.manager1, {"complainant_name": "张三", "channel": "phone",
                                                     "category": "fees", "facts": "佣金比约定高"}, client=client)
    followup = followups.create(client, world.manager1, utcnow() + timedelta(days=1), "call", title="回访")
    _, item = _plan_with_item(client, world.manager1)
    db.session.commit()
    return {"client": client.id, "visit": visit.id, "complaint": complaint.id, "followup": followup.id,
            "plan_item": item.id}


def _plan_reached_by(user) -> ServicePlan:
    """The plan the user reaches through a client of their own (a route loads the client first): manager1's
    holds the item; anyone else gets a plan of their own, which must not reach it."""
    plan = db.session.execute(sa.select(ServicePlan).join(Client, Client.id == ServicePlan.client_id)
                              .where(Client.owner_id == user.id)).scalars().first()
    return plan or _plan_with_item(make_client(user, name="自己的客户"), user)[0]


FINDERS = {
    "client": lambda record_id, user: access.find_client(record_id, user),
    "owned-client": lambda record_id, user: access.find_owned_client(record_id, user),
    "visit": lambda record_id, user: access.find_visit(record_id, user),
    "complaint": lambda record_id, user: access.find_complaint(record_id, user),
    "followup": lambda record_id, user: access.find_followup(record_id, user),
    "plan_item": lambda record_id, user: access.find_plan_item(_plan_reached_by(user), record_id),
}


def _record_id(records: dict[str, int], kind: str) -> int:
    return records["client" if kind == "owned-client" else kind]


@pytest.mark.parametrize("kind", list(FINDERS))
@pytest.mark.parametrize("username", ["manager2", "other_manager", "other_lead"])
def test_each_finder_refuses_another_managers_record_as_not_found(world, manager1_records, kind, username):
    user = getattr(world, username)
    with pytest.raises(NotFound) as refused:
        FINDERS[kind](_record_id(manager1_records, kind), user)
    assert refused.value.code == "not_found"


@pytest.mark.parametrize("kind", list(FINDERS))
def test_each_finder_loads_the_owners_record(world, manager1_records, kind):
    found = FINDERS[kind](_record_id(manager1_records, kind), world.manager1)
    assert found.id == _record_id(manager1_records, kind)


@pytest.mark.parametrize("kind", ["client", "visit", "complaint", "followup"])
def test_a_missing_id_is_not_found_even_for_an_admin(world, kind):
    with pytest.raises(NotFound):
        FINDERS[kind](999_999, world.admin)
