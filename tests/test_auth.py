"""Sign-in, rate limits, CSRF, sessions and security headers."""
from __future__ import annotations

import re

import pytest

from crm.extensions import db
from tests.conftest import PASSWORD


def test_a_manager_signs_in_to_today(client, world):
    response = client.post("/login", data={"username": "Manager1", "password": PASSWORD})
    assert response.status_code == 303
    assert client.get("/", follow_redirects=True).request.path == "/today"


@pytest.mark.parametrize("username, password", [
    ("manager1", "wrong-password"), ("nobody", PASSWORD), ("", ""),
])
def test_failed_sign_in_says_the_same_thing_whether_or_not_the_user_exists(client, world, username, password):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "nobody" not in body.replace('value="nobody"', "")
    if username:
        assert "用户名或密码错误" in body


def test_an_inactive_user_cannot_sign_in(client, world):
    world.manager2.active = False
    db.session.commit()
    response = client.post("/login", data={"username": "manager2", "password": PASSWORD})
    assert response.status_code == 422


def test_a_deactivated_users_open_session_stops_working(login, world):
    c = login("manager2")
    world.manager2.active = False
    db.session.commit()
    assert c.get("/clients").status_code == 302


def test_failed_attempts_on_one_account_from_one_address_must_wait_and_others_can_still_sign_in(app, world):
    # Per username and address, counted in the database (crm.services.signin, tests/test_signin_throttle.py).
    c = app.test_client()
    statuses = [c.post("/login", data={"username": "manager1", "password": "bad-guess"}).status_code
                for _ in range(7)]
    assert statuses == [422] * 5 + [429, 429]
    blocked = c.post("/login", data={"username": "manager1", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "尝试次数过多" in blocked.get_data(as_text=True)
    from_elsewhere = c.post("/login", data={"username": "manager1", "password": PASSWORD},
                            environ_base={"REMOTE_ADDR": "10.0.0.99"})
    assert from_elsewhere.status_code == 303
    other = app.test_client().post("/login", data={"username": "manager2", "password": PASSWORD})
    assert other.status_code == 303


def test_failed_attempts_from_one_address_are_limited(app, world):
    app.config["CRM_LOGIN_LIMIT_PER_ADDRESS"] = "4 per 5 minutes"
    c = app.test_client()
    statuses = [c.post("/login", data={"username": f"user{i}", "password": "x"}).status_code
                for i in range(6)]
    assert statuses[:4] == [422] * 4 and statuses[4:] == [429, 429]


def test_successful_sign_ins_do_not_count_against_the_limit(app, world):
    app.config["CRM_LOGIN_LIMIT_PER_ADDRESS"] = "2 per 5 minutes"
    for _ in range(4):
        c = app.test_client()
        assert c.post("/login", data={"username": "manager1", "password": PASSWORD}).status_code == 303


def test_sign_out_is_a_post(login, world):
    c = login("manager1")
    assert c.get("/logout").status_code == 405
    assert c.post("/logout").status_code == 303
    assert c.get("/clients").status_code == 302


@pytest.mark.parametrize("target, expected", [
    ("/clients/new", "/clients/new"), ("https://evil.example/", "/"), ("//evil.example/", "/"),
])
def test_next_only_follows_local_paths(client, world, target, expected):
    response = client.post("/login", query_string={"next": target},
                           data={"username": "manager1", "password": PASSWORD})
    assert response.headers["Location"] == expected


class TestWithCsrf:
    """With CSRF protection on, as in production."""

    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "WTF_CSRF_ENABLED": True}

    def test_sign_in_without_the_token_is_refused(self, client, world):
        response = client.post("/login", data={"username": "manager1", "password": PASSWORD})
        assert response.status_code == 400
        assert "表单已过期" in response.get_data(as_text=True) or "重新" in response.get_data(as_text=True)

    def test_creating_a_client_without_the_token_is_refused(self, client, world):
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                          client.get("/login").get_data(as_text=True)).group(1)
        assert client.post("/login", data={"username": "manager1", "password": PASSWORD,
                                           "csrf_token": token}).status_code == 303
        refused = client.post("/clients/new", data={"name": "张三", "mobile": "13912345678"})
        assert refused.status_code == 400
        from crm.models import Client

        assert db.session.query(Client).count() == 0
        page = client.get("/clients/new").get_data(as_text=True)
        form_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        ok = client.post("/clients/new", data={"name": "张三", "mobile": "13912345678", "token": "t",
                                               "source_channel": "walk_in", "csrf_token": form_token})
        assert ok.status_code == 303

    def test_htmx_requests_send_the_token_in_a_header(self, client, world):
        page = client.get("/login").get_data(as_text=True)
        assert re.search(r"hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'", page)


def test_session_cookie_is_httponly_and_samesite(client, world):
    response = client.post("/login", data={"username": "manager1", "password": PASSWORD})
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_carry_security_headers(client, world):
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_settings_change_password_needs_the_current_one(login, world):
    c = login("manager1")
    refused = c.post("/settings", data={"locale": "zh_CN", "current_password": "nope",
                                        "new_password": "a-new-password-1"})
    assert refused.status_code == 422
    ok = c.post("/settings", data={"locale": "zh_CN", "current_password": PASSWORD,
                                   "new_password": "a-new-password-1"})
    assert ok.status_code == 303
    db.session.expire_all()
    assert world.manager1.check_password("a-new-password-1")
