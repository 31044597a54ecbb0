"""The visibility rule, route by route: own clients, team's clients for a lead, all for an admin."""
from __future__ import annotations

import pytest

from crm.extensions import db
from crm.models import AuditEvent, Client, VisitLog
from tests.factories import make_client, make_visit


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
        ("GET", f"/clients/{client_id}/call", None),
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
    response = c.open(url, method=method, data=data)
    assert response.status_code == 404
    assert "张三" not in response.get_data(as_text=True)
    db.session.expire_all()
    client = db.session.get(Client, client_id)
    assert client.name == "张三" and client.stage == "contacted" and client.owner.username == "manager1"
    assert db.session.query(VisitLog).count() == 1
    assert db.session.query(AuditEvent).count() == 0


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
