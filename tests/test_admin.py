"""Admin pages and operator commands: users, teams, outlets, create-user, seed-demo."""
from __future__ import annotations

import sqlalchemy as sa

from crm.extensions import db
from crm.models import AuditEvent, Client, Outlet, Team, User, VisitLog


def test_admin_creates_a_manager_who_can_sign_in(login, client, world):
    admin = login("admin")
    response = admin.post("/admin/users/new", data={
        "username": "manager3", "display_name": "孙经理", "email": "m3@example.com", "role": "manager",
        "team_id": world.team.id, "outlet_id": world.outlets[0].id, "locale": "zh_CN", "active": "y",
        "password": "a-long-password"})
    assert response.status_code == 303
    assert db.session.query(AuditEvent).filter_by(action="user.create").count() == 1
    assert client.post("/login", data={"username": "manager3", "password": "a-long-password"}).status_code == 303


def test_usernames_are_unique_whatever_the_case(login, world):
    response = login("admin").post("/admin/users/new", data={
        "username": "MANAGER1", "display_name": "重复", "role": "manager", "team_id": world.team.id,
        "locale": "zh_CN", "password": "a-long-password"})
    assert response.status_code == 422
    assert "已" in response.get_data(as_text=True)


def test_a_manager_needs_a_team_and_a_new_user_a_password(login, world):
    response = login("admin").post("/admin/users/new", data={
        "username": "x1", "display_name": "X", "role": "manager", "locale": "zh_CN"})
    assert response.status_code == 422
    assert db.session.query(User).filter_by(username="x1").count() == 0


def test_deactivating_a_user_is_audited(login, world):
    response = login("admin").post(f"/admin/users/{world.manager2.id}", data={
        "username": "manager2", "display_name": "赵经理", "role": "manager", "team_id": world.team.id,
        "locale": "zh_CN"})
    assert response.status_code == 303
    db.session.expire_all()
    assert world.manager2.active is False
    assert db.session.query(AuditEvent).filter_by(action="user.update").count() == 1


def test_teams_and_outlets_are_managed_without_duplicates(login, world):
    admin = login("admin")
    assert admin.post("/admin/teams", data={"name": "三部"}).status_code == 303
    assert admin.post("/admin/teams", data={"name": "三部"}).status_code == 422
    outlet = {"bank": "农业银行", "branch": "海淀支行", "city": "北京", "active": "y"}
    assert admin.post("/admin/outlets", data=outlet).status_code == 303
    assert admin.post("/admin/outlets", data=outlet).status_code == 422
    assert db.session.query(Team).count() == 3 and db.session.query(Outlet).count() == 4


def test_lead_reassigns_a_client_with_a_reason_that_is_audited(login, world):
    from tests.factories import make_client

    client = make_client(world.manager1, name="张三")
    db.session.commit()
    response = login("lead").post(f"/clients/{client.id}/reassign",
                                  data={"owner_id": world.manager2.id, "reason": "客户住址靠近望京"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Client, client.id).owner_id == world.manager2.id
    event = db.session.query(AuditEvent).filter_by(action="client.reassign").one()
    assert "客户住址靠近望京" in event.detail
    assert login("manager1").get(f"/clients/{client.id}").status_code == 404
    assert login("manager2").get(f"/clients/{client.id}").status_code == 200


def test_lead_cannot_reassign_to_someone_outside_the_team(login, world):
    from tests.factories import make_client

    client = make_client(world.manager1, name="张三")
    db.session.commit()
    response = login("lead").post(f"/clients/{client.id}/reassign",
                                  data={"owner_id": world.other_manager.id, "reason": "x"})
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Client, client.id).owner_id == world.manager1.id


def test_audit_trail_lists_reveals(login, world):
    from tests.factories import make_client

    client = make_client(world.manager1, name="张三")
    db.session.commit()
    login("manager1").post(f"/clients/{client.id}/reveal", data={"field": "mobile"})
    page = login("admin").get("/admin/audit?action=reveal").get_data(as_text=True)
    assert "reveal.mobile" in page and "王经理" in page


def test_create_user_command_makes_the_first_admin(runner, app):
    result = runner.invoke(args=["create-user", "--username", "boss", "--display-name", "合规部",
                                 "--email", "", "--role", "admin", "--password", "long-enough-pw"])
    assert result.exit_code == 0, result.output
    user = db.session.execute(sa.select(User).where(User.username == "boss")).scalar_one()
    assert user.role == "admin" and user.check_password("long-enough-pw")


def test_create_user_refuses_a_short_password(runner, app):
    result = runner.invoke(args=["create-user", "--username", "boss", "--display-name", "x",
                                 "--email", "", "--password", "short"])
    assert result.exit_code != 0


def test_seed_demo_fills_an_empty_database_once(runner, app):
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "demo-pass-123" in result.output
    # The book's 200, and the visitors who registered through the demo's QR cards.
    assert db.session.query(Client).filter(Client.source_channel != "qr_self_registration").count() == 200
    assert db.session.query(VisitLog).count() > 400
    owners = {u.username for u in db.session.query(User)}
    assert owners == {"admin", "lead", "manager1", "manager2", "lead2", "manager3"}
    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert again.exit_code == 0 and db.session.query(Client).count() == 204


def test_seeded_clients_include_dormant_candidates(runner, app):
    from datetime import timedelta

    from crm.models import utcnow

    runner.invoke(args=["seed-demo"])
    cutoff = utcnow() - timedelta(days=90)
    quiet = db.session.query(Client).filter(Client.last_activity_at < cutoff).count()
    assert 10 <= quiet <= 120
