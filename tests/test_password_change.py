"""Password rules on every password form and the CLI; a weak or admin-set password must be changed first."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import AuditEvent, Role, User
from tests import factories
from tests.conftest import PASSWORD

STRONG = "桂花糕 river 1984"

# The audit's examples (finding 5) and the message each must get in Chinese.
WEAK = [
    pytest.param("aaaaaaaaaa", "密码至少 12 位。", id="ten-a"),
    pytest.param("1234567890", "密码不能是同一字符重复或简单序列", id="digits"),
    pytest.param("{username}", "密码不能与用户名或姓名相同或相近。", id="username"),
    pytest.param(" " * 10, "密码不能以空格开头或结尾，也不能全是空格。", id="ten-spaces"),
]
MUST_CHANGE = "您的密码已不符合现行规则，请先设置新密码再继续使用。"


def _sign_in(app, username: str, password: str):
    c = app.test_client()
    response = c.post("/login", data={"username": username, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)
    return c


def _password_events(user) -> list[AuditEvent]:
    return list(db.session.execute(sa.select(AuditEvent).where(
        AuditEvent.action == "auth.password_changed", AuditEvent.object_id == user.id)).scalars())


# ---------------------------------------------------------------- the forms and the CLI refuse weak passwords

@pytest.mark.parametrize("weak, message", WEAK)
def test_settings_refuse_the_audits_weak_passwords_in_chinese(login, world, weak, message):
    response = login("manager1").post("/settings", data={
        "locale": "zh_CN", "current_password": PASSWORD, "new_password": weak.format(username="manager1")})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert world.manager1.check_password(PASSWORD) and _password_events(world.manager1) == []


@pytest.mark.parametrize("weak, message", WEAK)
def test_admin_user_forms_refuse_the_audits_weak_passwords_in_chinese(login, world, weak, message):
    admin = login("admin")
    created = admin.post("/admin/users/new", data={
        "username": "manager3", "display_name": "孙经理", "role": "manager", "team_id": world.team.id,
        "locale": "zh_CN", "active": "y", "password": weak.format(username="manager3")})
    assert created.status_code == 422 and message in created.get_data(as_text=True)
    assert db.session.query(User).filter_by(username="manager3").count() == 0
    edited = admin.post(f"/admin/users/{world.manager2.id}", data={
        "username": "manager2", "display_name": "赵经理", "role": "manager", "team_id": world.team.id,
        "locale": "zh_CN", "active": "y", "password": weak.format(username="manager2")})
    assert edited.status_code == 422 and message in edited.get_data(as_text=True)
    db.session.expire_all()
    assert world.manager2.check_password(PASSWORD)


def test_the_name_in_the_admin_form_counts_as_typed_there(login, world):
    response = login("admin").post("/admin/users/new", data={
        "username": "sun3", "display_name": "孙经理", "role": "manager", "team_id": world.team.id,
        "locale": "zh_CN", "active": "y", "password": "SunJingLi-1988"})
    assert response.status_code == 422
    assert "密码不能与用户名或姓名相同或相近。" in response.get_data(as_text=True)


def test_the_settings_page_shows_the_rules(login, world):
    page = login("manager1").get("/settings").get_data(as_text=True)
    assert "至少 12 位，首尾不能有空格" in page


def test_a_strong_password_is_kept_exactly_as_typed_and_signs_in(app, login, world):
    c = login("manager1")
    response = c.post("/settings", data={"locale": "zh_CN", "current_password": PASSWORD, "new_password": STRONG})
    assert response.status_code == 303
    db.session.expire_all()
    manager = db.session.get(User, world.manager1.id)
    assert manager.password_changed_at is not None and not manager.password_change_required
    [event] = _password_events(manager)
    assert event.actor_id == manager.id and event.params == {"username": "manager1", "by_admin": False}
    fresh = _sign_in(app, "manager1", STRONG)
    assert fresh.get("/clients").status_code == 200
    refused = app.test_client().post("/login", data={"username": "manager1", "password": STRONG.strip() + " "})
    assert refused.status_code == 422


def test_the_new_password_must_differ_from_the_current_one(app, world):
    world.manager1.password_change_required = True
    factories.users.set_password(world.manager1, STRONG)
    db.session.commit()
    c = _sign_in(app, "manager1", STRONG)
    response = c.post("/settings", data={"locale": "zh_CN", "current_password": STRONG, "new_password": STRONG})
    assert response.status_code == 422
    assert "新密码不能与当前密码相同。" in response.get_data(as_text=True)


def test_create_user_on_the_command_line_refuses_a_weak_password(runner, app):
    result = runner.invoke(args=["create-user", "--username", "boss", "--display-name", "合规部", "--email", "",
                                 "--role", "admin"], env={"CRM_NEW_USER_PASSWORD": "boss2024boss2024"})
    assert result.exit_code != 0
    assert "close to the username" in result.output
    assert db.session.query(User).filter_by(username="boss").count() == 0
    result = runner.invoke(args=["create-user", "--username", "boss", "--display-name", "合规部", "--email", "",
                                 "--role", "admin"], env={"CRM_NEW_USER_PASSWORD": " " * 10})
    assert result.exit_code != 0 and "at least 12 characters" in result.output
    accepted = runner.invoke(args=["create-user", "--username", "boss", "--display-name", "合规部", "--email", "",
                                   "--role", "admin"], env={"CRM_NEW_USER_PASSWORD": STRONG})
    assert accepted.exit_code == 0, accepted.output
    boss = db.session.execute(sa.select(User).where(User.username == "boss")).scalar_one()
    assert boss.check_password(STRONG) and not boss.password_change_required


# ---------------------------------------------------------------- a weak existing password must be changed

@pytest.mark.parametrize("weak", ["aaaaaaaaaa", "1234567890", "manager1", " " * 10])
def test_signing_in_with_a_weak_existing_password_requires_a_change(app, world, weak):
    factories.users.set_password(world.manager1, weak)  # set before the rules, not through a form
    db.session.commit()
    c = _sign_in(app, "manager1", weak)
    db.session.expire_all()
    assert db.session.get(User, world.manager1.id).password_change_required
    assert c.get("/clients").headers["Location"] == "/settings"


def test_a_manager_with_a_weak_password_changes_it_before_using_the_app(app, world):
    factories.users.set_password(world.manager1, "1234567890")
    db.session.commit()
    client = factories.make_client(world.manager1)
    db.session.commit()
    c = app.test_client()
    landed = c.post("/login", data={"username": "manager1", "password": "1234567890"}, follow_redirects=True)
    assert landed.request.path == "/settings"
    page = landed.get_data(as_text=True)
    assert page.count(MUST_CHANGE) >= 1

    for path in ["/", "/today", "/clients", f"/clients/{client.id}", "/clients/new", "/followups", "/nowhere"]:
        response = c.get(path)
        assert (response.status_code, response.headers.get("Location")) == (303, "/settings"), path
    posted = c.post(f"/clients/{client.id}/visits/new", data={"channel": "outlet", "summary": "x"})
    assert (posted.status_code, posted.headers.get("Location")) == (303, "/settings")
    htmx = c.get("/clients?q=张", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"] == "/settings"
    assert c.get("/healthz").status_code in (200, 503)
    assert c.get("/static/app.css").status_code == 200
    assert c.post("/language/en", data={"next": "/settings"}).status_code == 303
    page = c.get("/settings").get_data(as_text=True)
    assert page.count(MUST_CHANGE) == 1  # one flash however many redirects
    assert "请在此设置新密码，保存后即可打开其他页面。" in page

    changed = c.post("/settings", data={"locale": "zh_CN", "current_password": "1234567890",
                                        "new_password": STRONG})
    assert (changed.status_code, changed.headers["Location"]) == (303, "/")
    assert c.get("/clients").status_code == 200
    assert c.get(f"/clients/{client.id}").status_code == 200
    db.session.expire_all()
    manager = db.session.get(User, world.manager1.id)
    assert not manager.password_change_required and manager.password_changed_at is not None
    assert [e.actor_id for e in _password_events(manager)] == [manager.id]


def test_sign_out_stays_open_while_a_change_is_required(app, world):
    factories.users.set_password(world.manager1, "aaaaaaaaaa")
    db.session.commit()
    c = _sign_in(app, "manager1", "aaaaaaaaaa")
    assert c.post("/logout").headers["Location"] == "/login"
    assert c.get("/clients").status_code == 302  # signed out: to the sign-in page, not to settings


# ---------------------------------------------------------------- an admin's reset

def test_an_admin_reset_makes_the_manager_choose_their_own_at_next_sign_in(app, login, world):
    admin = login("admin")
    reset = admin.post(f"/admin/users/{world.manager1.id}", data={
        "username": "manager1", "display_name": "王经理", "role": "manager", "team_id": world.team.id,
        "locale": "zh_CN", "active": "y", "password": "Temp-盐湖-4471"})
    assert reset.status_code == 303
    db.session.expire_all()
    manager = db.session.get(User, world.manager1.id)
    assert manager.password_change_required
    [event] = _password_events(manager)
    assert event.actor_id == world.admin.id and event.params == {"username": "manager1", "by_admin": True}
    assert admin.get("/admin/users").status_code == 200  # the admin is not held up

    c = _sign_in(app, "manager1", "Temp-盐湖-4471")
    assert c.get("/today").headers["Location"] == "/settings"
    page = c.get("/settings").get_data(as_text=True)
    # The password meets the rules: the manager is told why a change is due, not that it is weak.
    assert "您的密码由管理员设置，请先设置一个只有您自己知道的新密码再继续使用。" in page
    assert "已不符合" not in page
    changed = c.post("/settings", data={"locale": "zh_CN", "current_password": "Temp-盐湖-4471",
                                        "new_password": STRONG})
    assert changed.status_code == 303
    assert c.get("/today").status_code == 200
    db.session.expire_all()
    events = _password_events(db.session.get(User, world.manager1.id))
    assert [(e.actor_id, e.params["by_admin"]) for e in events] == [(world.admin.id, True),
                                                                   (world.manager1.id, False)]
    trail = admin.get("/admin/audit?action=auth").get_data(as_text=True)
    assert "修改密码" in trail and "由管理员设置：是" in trail


def test_a_user_an_admin_creates_chooses_their_own_password_at_first_sign_in(app, login, world):
    created = login("admin").post("/admin/users/new", data={
        "username": "manager3", "display_name": "孙经理", "role": "manager", "team_id": world.team.id,
        "locale": "zh_CN", "active": "y", "password": "Temp-盐湖-4471"})
    assert created.status_code == 303
    c = _sign_in(app, "manager3", "Temp-盐湖-4471")
    assert c.get("/today").headers["Location"] == "/settings"


def test_users_made_outside_the_admin_page_are_not_asked_to_change(app):
    factories.make_world()
    db.session.commit()
    assert not db.session.execute(sa.select(User).where(User.role == Role.MANAGER)).scalars().first() \
        .password_change_required
