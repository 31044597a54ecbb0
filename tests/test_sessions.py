"""Server-side sessions: sign-out that signs out, replayed cookies refused, timeouts, my sessions, kept input.

Cookies are copied out of one test client and replayed in a fresh one, as someone holding a copy of a
phone's cookies would; times are moved back in the database rather than waiting.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.config import ConfigError, from_environment
from crm.domain.devices import read_device
from crm.extensions import db
from crm.models import AuditEvent, Client, FormDraft, UserSession, utcnow
from crm.services.sessions import LEGACY_REMEMBER_COOKIE, REMEMBER_COOKIE
from tests.conftest import PASSWORD
from tests.factories import make_client

IPHONE_WECHAT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN")
ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.0.0 Mobile Safari/537.36")
WINDOWS_EDGE = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51")


# ---------------------------------------------------------------- helpers

def sign_in(app, username: str, remember: bool = False, agent: str = ANDROID_CHROME):
    """A fresh test client signed in as `username` (with "keep me signed in" when `remember`)."""
    c = app.test_client()
    data = {"username": username, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = c.post("/login", data=data, headers={"User-Agent": agent})
    assert response.status_code == 303, response.get_data(as_text=True)
    return c


def cookie(c, name: str) -> str | None:
    found = c.get_cookie(name)
    return found.value if found is not None else None


def replay(app, **cookies):
    """A fresh client holding only the given cookie values (a copy taken from another browser)."""
    c = app.test_client()
    for name, value in cookies.items():
        c.set_cookie(name, value)
    return c


def signed_in(c) -> bool:
    response = c.get("/clients")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def rows_of(user) -> list[UserSession]:
    db.session.expire_all()
    return list(db.session.execute(
        sa.select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)).scalars())


def move_back(row: UserSession, **columns: timedelta) -> None:
    """Move some of a session row's times back, as if that much time had passed."""
    for name, delta in columns.items():
        setattr(row, name, getattr(row, name) - delta)
    db.session.commit()


def actions(name: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == name)
                                   .order_by(AuditEvent.id)).scalars())


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


# ---------------------------------------------------------------- sign-out (findings 1 and 3)

def test_a_session_cookie_copied_before_sign_out_no_longer_signs_in(app, world):
    c = sign_in(app, "manager1")
    copied = cookie(c, "session")
    assert signed_in(replay(app, session=copied))
    assert c.post("/logout").status_code == 303
    assert not signed_in(c)
    assert not signed_in(replay(app, session=copied))
    (row,) = rows_of(world.manager1)
    assert row.ended_at is not None and row.end_reason == "sign-out"


def test_sign_out_with_keep_me_signed_in_ends_the_remember_cookie_too(app, world):
    c = sign_in(app, "manager1", remember=True)
    session_copy, remember_copy = cookie(c, "session"), cookie(c, REMEMBER_COOKIE)
    assert remember_copy
    response = c.post("/logout")
    assert any(h.startswith(f"{REMEMBER_COOKIE}=;") for h in response.headers.getlist("Set-Cookie"))
    assert cookie(c, REMEMBER_COOKIE) is None
    assert not signed_in(c)
    assert not signed_in(replay(app, session=session_copy))
    assert not signed_in(replay(app, **{REMEMBER_COOKIE: remember_copy}))
    assert not signed_in(replay(app, session=session_copy, **{REMEMBER_COOKIE: remember_copy}))


def test_sign_in_and_sign_out_are_audited_with_the_device(app, world):
    c = sign_in(app, "manager1", remember=True, agent=IPHONE_WECHAT)
    c.post("/logout")
    (signed,), (out,) = actions("auth.sign_in"), actions("auth.sign_out")
    assert signed.actor_id == world.manager1.id and signed.params == {"remember": True, "device": "iPhone · WeChat"}
    assert out.actor_id == world.manager1.id and out.params == {"device": "iPhone · WeChat"}


# ---------------------------------------------------------------- the remember token (finding 2)

def test_the_remember_token_is_new_on_every_sign_in_and_stored_hashed(app, world):
    first = cookie(sign_in(app, "manager1", remember=True), REMEMBER_COOKIE)
    second = cookie(sign_in(app, "manager1", remember=True), REMEMBER_COOKIE)
    assert first != second
    stored = {row.remember_hash for row in rows_of(world.manager1)}
    assert first.split(".", 1)[1] not in stored and second.split(".", 1)[1] not in stored
    assert all(len(h) == 64 for h in stored)


def test_flask_logins_own_remember_cookie_is_never_set(app, world):
    c = app.test_client()
    response = c.post("/login", data={"username": "manager1", "password": PASSWORD, "remember": "y"})
    names = [h.split("=", 1)[0] for h in response.headers.getlist("Set-Cookie")]
    assert LEGACY_REMEMBER_COOKIE not in names and REMEMBER_COOKIE in names


def test_the_remember_cookie_lasts_the_remember_days_and_is_httponly_and_lax(app, world):
    app.config["CRM_REMEMBER_DAYS"] = 7
    c = app.test_client()
    response = c.post("/login", data={"username": "manager1", "password": PASSWORD, "remember": "y"})
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(REMEMBER_COOKIE + "="))
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert re.search(r"Max-Age=60479\d", header), header
    (row,) = rows_of(world.manager1)
    assert row.remember_until == row.expires_at
    assert abs((row.remember_until - row.created_at) - timedelta(days=7)) < timedelta(seconds=2)


def test_the_remember_cookie_is_secure_when_session_cookies_are(app, world):
    app.config["SESSION_COOKIE_SECURE"] = True
    c = app.test_client()
    response = c.post("/login", data={"username": "manager1", "password": PASSWORD, "remember": "y"})
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(REMEMBER_COOKIE + "="))
    assert "Secure" in header


def test_the_remember_cookie_alone_signs_in_again_and_is_replaced_on_use(app, world):
    remember = cookie(sign_in(app, "manager1", remember=True), REMEMBER_COOKIE)
    phone = replay(app, **{REMEMBER_COOKIE: remember})
    assert signed_in(phone)
    rotated = cookie(phone, REMEMBER_COOKIE)
    assert rotated and rotated != remember
    assert rotated.split(".")[0] == remember.split(".")[0]  # the same session row, a new token
    assert signed_in(phone)
    # The phone's session cookie alone now works, with a new key (the old session cookie was not copied).
    assert signed_in(replay(app, session=cookie(phone, "session")))


def test_an_old_remember_token_is_refused_and_ends_the_session_as_theft(app, world):
    remember = cookie(sign_in(app, "manager1", remember=True), REMEMBER_COOKIE)
    phone = replay(app, **{REMEMBER_COOKIE: remember})
    assert signed_in(phone)
    move_back(rows_of(world.manager1)[0], last_seen_at=timedelta(minutes=5))
    thief = replay(app, **{REMEMBER_COOKIE: remember})  # a copy taken before the phone used it
    assert not signed_in(thief)
    (row,) = rows_of(world.manager1)
    assert row.end_reason == "token-reuse"
    (event,) = actions("auth.session_ended")
    assert event.object_id == world.manager1.id and event.params["end_reason"] == "token-reuse"
    # Theft ends the row: the real phone has to sign in again too, and so would anyone else.
    assert not signed_in(phone)
    assert not signed_in(replay(app, **{REMEMBER_COOKIE: cookie(phone, REMEMBER_COOKIE) or "x"}))


def test_a_guessed_remember_token_for_a_live_session_signs_nobody_out(app, world):
    # Row ids are sequential: anyone can send "<id>.<anything>". Only the token the session replaced is a
    # sign of a copied cookie; a guess is refused and the owner stays signed in.
    phone = sign_in(app, "manager1", remember=True)
    row_id = cookie(phone, REMEMBER_COOKIE).split(".")[0]
    move_back(rows_of(world.manager1)[0], last_seen_at=timedelta(minutes=5))
    for guess in ("garbage", "x" * 43, ""):
        assert not signed_in(replay(app, **{REMEMBER_COOKIE: f"{row_id}.{guess}"}))
    (row,) = rows_of(world.manager1)
    assert row.ended_at is None
    assert not actions("auth.session_ended")
    assert signed_in(phone)
    assert signed_in(replay(app, **{REMEMBER_COOKIE: cookie(phone, REMEMBER_COOKIE)}))


def test_after_a_password_change_the_replaced_remember_token_is_theft(app, world):
    phone = sign_in(app, "manager1", remember=True)
    before = cookie(phone, REMEMBER_COOKIE)
    page = phone.get("/settings").get_data(as_text=True)
    new_password = "a-fresh-Passphrase-42"
    response = phone.post("/settings", data={"csrf_token": csrf_token(page), "locale": "zh_CN",
                                             "current_password": PASSWORD, "new_password": new_password,
                                             "confirm": new_password})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert cookie(phone, REMEMBER_COOKIE) != before
    move_back(rows_of(world.manager1)[0], last_seen_at=timedelta(minutes=5))
    assert not signed_in(replay(app, **{REMEMBER_COOKIE: before}))
    assert rows_of(world.manager1)[0].end_reason == "token-reuse"


def test_an_old_remember_token_seconds_after_the_rotation_is_refused_without_ending_the_session(app, world):
    remember = cookie(sign_in(app, "manager1", remember=True), REMEMBER_COOKIE)
    first_tab = replay(app, **{REMEMBER_COOKIE: remember})
    assert signed_in(first_tab)
    second_tab = replay(app, **{REMEMBER_COOKIE: remember})  # sent before the new cookie arrived
    response = second_tab.get("/clients")
    assert response.status_code == 302
    assert not any(h.startswith(REMEMBER_COOKIE + "=") for h in response.headers.getlist("Set-Cookie"))
    assert rows_of(world.manager1)[0].ended_at is None
    assert signed_in(first_tab)
    assert not actions("auth.session_ended")


@pytest.mark.parametrize("value", ["", "garbage", "1.", ".abc", "99999999999999999999.abc", "1.wrong", "².abc",
                                   "١.abc", "10000000000.abc"])
def test_a_malformed_remember_cookie_signs_nobody_in(app, world, value):
    sign_in(app, "manager1", remember=True)
    assert not signed_in(replay(app, **{REMEMBER_COOKIE: value}))


def test_an_old_flask_login_remember_cookie_never_signs_in_and_is_deleted(app, world):
    from flask_login.utils import encode_cookie

    with app.test_request_context():
        legacy = encode_cookie(str(world.manager1.id))
    c = replay(app, **{LEGACY_REMEMBER_COOKIE: legacy})
    response = c.get("/clients")
    assert response.status_code == 302
    assert any(h.startswith(f"{LEGACY_REMEMBER_COOKIE}=;") for h in response.headers.getlist("Set-Cookie"))
    assert cookie(c, LEGACY_REMEMBER_COOKIE) is None


def test_an_old_flask_login_cookie_does_not_get_in_the_way_of_our_remember_cookie(app, world):
    from flask_login.utils import encode_cookie

    remember = cookie(sign_in(app, "manager1", remember=True), REMEMBER_COOKIE)
    with app.test_request_context():
        legacy = encode_cookie(str(world.manager2.id))
    c = replay(app, **{LEGACY_REMEMBER_COOKIE: legacy, REMEMBER_COOKIE: remember})
    assert signed_in(c)
    assert "王经理" in c.get("/settings").get_data(as_text=True)


# ---------------------------------------------------------------- password change and reset

def test_a_password_change_signs_out_other_devices_and_old_copies_of_this_one(app, world):
    laptop = sign_in(app, "manager1", agent=WINDOWS_EDGE)
    phone = sign_in(app, "manager1", remember=True, agent=IPHONE_WECHAT)
    phone_remember = cookie(phone, REMEMBER_COOKIE)
    copied = cookie(laptop, "session")
    response = laptop.post("/settings", data={"locale": "zh_CN", "current_password": PASSWORD,
                                              "new_password": "Lantern-harbor-41"})
    assert response.status_code == 303
    assert signed_in(laptop)  # this device goes on, under a new key
    assert cookie(laptop, "session") != copied
    assert not signed_in(replay(app, session=copied))
    assert not signed_in(phone)
    assert not signed_in(replay(app, **{REMEMBER_COOKIE: phone_remember}))
    (event,) = actions("auth.sessions_ended")
    assert event.params == {"count": 1, "end_reason": "password-change"}


def test_an_admin_password_reset_signs_the_user_out_everywhere(app, world, login):
    phone = sign_in(app, "manager1", remember=True)
    remember = cookie(phone, REMEMBER_COOKIE)
    admin = login("admin")
    response = admin.post(f"/admin/users/{world.manager1.id}", data={
        "username": "manager1", "display_name": "王经理", "email": "m1@example.com", "role": "manager",
        "team_id": str(world.team.id), "outlet_id": str(world.outlets[0].id), "locale": "zh_CN", "active": "y",
        "password": "Quartz-meadow-2718"})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert not signed_in(phone)
    assert not signed_in(replay(app, **{REMEMBER_COOKIE: remember}))
    assert {row.end_reason for row in rows_of(world.manager1)} == {"password-reset"}
    assert signed_in(admin)


def test_deactivation_ends_every_session_for_good(app, world, login):
    phone = sign_in(app, "manager2", remember=True)
    remember = cookie(phone, REMEMBER_COOKIE)
    admin = login("admin")
    form = {"username": "manager2", "display_name": "赵经理", "email": "m2@example.com", "role": "manager",
            "team_id": str(world.team.id), "outlet_id": str(world.outlets[1].id), "locale": "zh_CN"}
    assert admin.post(f"/admin/users/{world.manager2.id}", data=form).status_code == 303
    assert {row.end_reason for row in rows_of(world.manager2)} == {"deactivated"}
    # Reactivated later: the old cookies do not come back to life.
    assert admin.post(f"/admin/users/{world.manager2.id}", data={**form, "active": "y"}).status_code == 303
    assert not signed_in(phone)
    assert not signed_in(replay(app, **{REMEMBER_COOKIE: remember}))


# ---------------------------------------------------------------- timeouts (finding 4)

def test_an_ordinary_session_ends_after_the_idle_timeout(app, world):
    c = sign_in(app, "manager1")
    (row,) = rows_of(world.manager1)
    move_back(row, last_seen_at=timedelta(minutes=29))
    assert signed_in(c)
    (row,) = rows_of(world.manager1)
    move_back(row, last_seen_at=timedelta(minutes=31))
    response = c.get("/clients")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    (row,) = rows_of(world.manager1)
    assert row.end_reason == "idle"
    assert "没有使用" in c.get("/login").get_data(as_text=True)
    assert not signed_in(c)


def test_the_idle_timeout_follows_the_setting(app, world):
    app.config["CRM_SESSION_IDLE_SECONDS"] = 5 * 60
    c = sign_in(app, "manager1")
    (row,) = rows_of(world.manager1)
    move_back(row, last_seen_at=timedelta(minutes=6))
    assert not signed_in(c)


def test_activity_is_written_at_most_once_a_minute(app, world):
    c = sign_in(app, "manager1")
    (row,) = rows_of(world.manager1)
    move_back(row, last_seen_at=timedelta(seconds=30))
    before = rows_of(world.manager1)[0].last_seen_at
    assert signed_in(c) and signed_in(c)
    assert rows_of(world.manager1)[0].last_seen_at == before
    move_back(rows_of(world.manager1)[0], last_seen_at=timedelta(minutes=2))
    assert signed_in(c)
    assert utcnow() - rows_of(world.manager1)[0].last_seen_at < timedelta(seconds=5)


def test_asking_how_long_is_left_does_not_keep_the_session_alive(app, world):
    c = sign_in(app, "manager1")
    (row,) = rows_of(world.manager1)
    move_back(row, last_seen_at=timedelta(minutes=25))
    seen = rows_of(world.manager1)[0].last_seen_at
    status = c.get("/session/status").get_json()
    assert status["signed_in"] and 4 * 60 < status["seconds"] <= 5 * 60
    c.get("/clients", headers={"X-Session-Background": "1"})
    assert rows_of(world.manager1)[0].last_seen_at == seen


def test_stay_signed_in_extends_the_idle_deadline(app, world):
    c = sign_in(app, "manager1")
    move_back(rows_of(world.manager1)[0], last_seen_at=timedelta(minutes=28))
    answer = c.post("/session/keep-alive", headers={"Accept": "application/json"})
    assert answer.status_code == 200
    assert 29 * 60 < answer.get_json()["seconds"] <= 30 * 60
    assert c.get("/session/status").get_json()["seconds"] > 29 * 60


def test_stay_signed_in_without_javascript_goes_back_to_the_page(app, world):
    c = sign_in(app, "manager1")
    response = c.post("/session/keep-alive", data={"next": "/clients?q=张"})
    assert response.status_code == 303
    assert response.headers["Location"] in ("/clients?q=%E5%BC%A0", "/clients?q=张")
    assert c.post("/session/keep-alive", data={"next": "//evil.example/"}).headers["Location"] == "/"


def test_stay_signed_in_after_the_end_answers_401(app, world):
    c = sign_in(app, "manager1")
    move_back(rows_of(world.manager1)[0], last_seen_at=timedelta(minutes=31))
    answer = c.post("/session/keep-alive", headers={"Accept": "application/json"})
    assert answer.status_code == 401 and answer.get_json() == {"seconds": 0, "signed_in": False}
    assert rows_of(world.manager1)[0].end_reason == "idle"


def test_an_ordinary_session_ends_after_its_lifetime_however_active(app, world):
    c = sign_in(app, "manager1")
    (row,) = rows_of(world.manager1)
    assert abs((row.expires_at - row.created_at) - timedelta(hours=12)) < timedelta(seconds=2)
    move_back(row, created_at=timedelta(hours=12, minutes=1), expires_at=timedelta(hours=12, minutes=1))
    assert not signed_in(c)
    assert rows_of(world.manager1)[0].end_reason == "expired"


def test_a_remembered_session_has_no_idle_timeout_but_ends_at_its_remember_limit(app, world):
    c = sign_in(app, "manager1", remember=True)
    remember = cookie(c, REMEMBER_COOKIE)
    (row,) = rows_of(world.manager1)
    assert abs((row.expires_at - row.created_at) - timedelta(days=30)) < timedelta(seconds=2)
    move_back(row, last_seen_at=timedelta(days=3))
    assert signed_in(c)
    (row,) = rows_of(world.manager1)
    move_back(row, created_at=timedelta(days=30), expires_at=timedelta(days=30),
              remember_until=timedelta(days=30))
    assert not signed_in(c)
    assert not signed_in(replay(app, **{REMEMBER_COOKIE: remember}))
    assert rows_of(world.manager1)[0].end_reason == "expired"


def test_the_page_carries_the_idle_deadline_only_for_ordinary_sessions(app, world):
    page = sign_in(app, "manager1").get("/clients").get_data(as_text=True)
    seconds = int(re.search(r'data-seconds-left="(\d+)"', page).group(1))
    assert 29 * 60 < seconds <= 30 * 60
    assert 'src="/static/session-timeout.js"' in page and 'role="alert"' in page
    assert "data-seconds-left" not in sign_in(app, "manager2", remember=True).get("/clients").get_data(as_text=True)


# ---------------------------------------------------------------- my sessions

def test_my_sessions_lists_each_live_session_with_its_device(app, world):
    phone = sign_in(app, "manager1", agent=IPHONE_WECHAT)
    sign_in(app, "manager1", agent=WINDOWS_EDGE)
    ended = sign_in(app, "manager1", agent=ANDROID_CHROME)
    ended.post("/logout")
    sign_in(app, "manager2", agent=ANDROID_CHROME)
    page = phone.get("/settings/sessions").get_data(as_text=True)
    assert "iPhone · 微信" in page and "Windows · Edge" in page
    assert "Android · Chrome" not in page  # signed out, and another user's
    assert page.count("本设备") == 1
    assert 'href="/settings/sessions"' in phone.get("/settings").get_data(as_text=True)


def test_ending_a_session_from_my_sessions_signs_that_device_out(app, world):
    phone = sign_in(app, "manager1", remember=True, agent=IPHONE_WECHAT)
    remember = cookie(phone, REMEMBER_COOKIE)
    laptop = sign_in(app, "manager1", agent=WINDOWS_EDGE)
    phone_row = rows_of(world.manager1)[0]
    response = laptop.post(f"/settings/sessions/{phone_row.id}/end")
    assert response.status_code == 303 and response.headers["Location"] == "/settings/sessions"
    assert not signed_in(phone)
    assert not signed_in(replay(app, **{REMEMBER_COOKIE: remember}))
    assert signed_in(laptop)
    (event,) = actions("auth.session_ended")
    assert event.actor_id == world.manager1.id and event.params == {"device": "iPhone · WeChat", "end_reason": "user"}


def test_ending_another_users_session_is_a_404(app, world):
    other = sign_in(app, "manager2")
    other_row = rows_of(world.manager2)[0]
    mine = sign_in(app, "manager1")
    assert mine.post(f"/settings/sessions/{other_row.id}/end").status_code == 404
    assert mine.post("/settings/sessions/99999999/end").status_code == 404
    assert signed_in(other)


def test_sign_out_every_other_device_keeps_this_one(app, world):
    others = [sign_in(app, "manager1") for _ in range(2)]
    this = sign_in(app, "manager1")
    assert this.post("/settings/sessions/end-others").status_code == 303
    assert signed_in(this)
    assert not any(signed_in(c) for c in others)
    (event,) = actions("auth.sessions_ended")
    assert event.params == {"count": 2, "end_reason": "user"}


def test_ending_this_device_from_my_sessions_signs_it_out(app, world):
    c = sign_in(app, "manager1")
    (row,) = rows_of(world.manager1)
    response = c.post(f"/settings/sessions/{row.id}/end")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert not signed_in(c)
    assert rows_of(world.manager1)[0].end_reason == "sign-out"
    assert len(actions("auth.sign_out")) == 1 and not actions("auth.session_ended")  # recorded once


def test_stay_signed_in_goes_back_only_to_a_page_of_this_site(app, world):
    c = sign_in(app, "manager1")
    for target, expected in [("/clients?stage=prospect", "/clients?stage=prospect"), ("/\t/evil.com", "/"),
                             ("//evil.com", "/"), ("/\\evil.com", "/"), ("https://evil.com/", "/"),
                             ("/\nevil", "/")]:
        response = c.post("/session/keep-alive", data={"next": target})
        assert response.status_code == 303
        assert response.headers["Location"] == expected, target


def test_session_pages_need_a_session_and_the_form_check(app, world):
    assert app.test_client().get("/settings/sessions").status_code == 302
    app.config["WTF_CSRF_ENABLED"] = True
    c = app.test_client()
    token = csrf_token(c.get("/login").get_data(as_text=True))
    assert c.post("/login", data={"username": "manager1", "password": PASSWORD,
                                  "csrf_token": token}).status_code == 303
    assert c.post("/settings/sessions/end-others").status_code == 400
    assert c.post("/session/keep-alive", headers={"Accept": "application/json"}).status_code == 400
    page = c.get("/clients").get_data(as_text=True)
    header_token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    assert c.post("/session/keep-alive", headers={"Accept": "application/json",
                                                  "X-CSRFToken": header_token}).status_code == 200


# ---------------------------------------------------------------- admin: sign out everywhere

def test_admin_signs_a_user_out_everywhere(app, world, login):
    phones = [sign_in(app, "manager1", remember=True), sign_in(app, "manager1")]
    remember = cookie(phones[0], REMEMBER_COOKIE)
    admin = login("admin")
    page = admin.get(f"/admin/users/{world.manager1.id}").get_data(as_text=True)
    assert page.count('data-session-id="') == 2
    response = admin.post(f"/admin/users/{world.manager1.id}/sessions/end")
    assert response.status_code == 303
    assert not any(signed_in(c) for c in phones)
    assert not signed_in(replay(app, **{REMEMBER_COOKIE: remember}))
    (event,) = actions("auth.sessions_ended")
    assert event.actor_id == world.admin.id and event.object_id == world.manager1.id
    assert event.params == {"count": 2, "end_reason": "admin"}
    assert "已在所有设备上退出登录（结束 2 个会话）" in admin.get(f"/admin/users/{world.manager1.id}").get_data(as_text=True)
    assert signed_in(admin)


def test_only_admins_sign_others_out_everywhere(app, world, login):
    phone = sign_in(app, "manager1")
    lead = login("lead")
    assert lead.post(f"/admin/users/{world.manager1.id}/sessions/end").status_code == 403
    assert signed_in(phone)


def test_the_audit_trail_names_the_session_events(app, world, login):
    c = sign_in(app, "manager1", agent=IPHONE_WECHAT)
    admin = login("admin")
    admin.post(f"/admin/users/{world.manager1.id}/sessions/end")
    assert not signed_in(c)
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "iPhone · WeChat；保持登录：否" in page
    assert "全部设备退出登录" in page and "结束 1 个会话：管理员结束" in page


# ---------------------------------------------------------------- keeping form input

def _time_out(user) -> None:
    row = rows_of(user)[-1]
    move_back(row, last_seen_at=timedelta(minutes=31))


CAPTURE = {"name": "周晓梅", "mobile": "13912340001", "source_channel": "walk_in", "interests": "理财到期，想了解基金",
           "token": "one-time", "csrf_token": "old"}


def test_a_capture_typed_after_the_session_ended_is_kept_for_the_same_user(app, world):
    c = sign_in(app, "manager1")
    _time_out(world.manager1)
    response = c.post("/clients/new", data=CAPTURE)
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/clients/new"
    assert db.session.query(Client).count() == 0
    (draft,) = db.session.execute(sa.select(FormDraft)).scalars()
    assert draft.user_id == world.manager1.id and "token" not in draft.data["fields"]
    assert "csrf_token" not in draft.data["fields"]
    assert "会话已结束" in c.get("/login?next=/clients/new").get_data(as_text=True)
    signed = c.post("/login?next=/clients/new", data={"username": "manager1", "password": PASSWORD})
    assert signed.headers["Location"] == "/clients/new"
    page = c.get("/clients/new").get_data(as_text=True)
    assert 'value="周晓梅"' in page and 'value="13912340001"' in page and "理财到期，想了解基金" in page
    assert "已恢复" in page
    assert 'value="one-time"' not in page
    assert db.session.query(FormDraft).count() == 0
    again = c.get("/clients/new").get_data(as_text=True)
    assert "周晓梅" not in again


def test_a_kept_capture_is_never_shown_to_someone_else(app, world):
    c = sign_in(app, "manager1")
    _time_out(world.manager1)
    c.post("/clients/new", data=CAPTURE)
    assert c.post("/login?next=/clients/new", data={"username": "manager2", "password": PASSWORD}).status_code == 303
    page = c.get("/clients/new").get_data(as_text=True)
    assert "周晓梅" not in page and "13912340001" not in page
    assert db.session.query(FormDraft).count() == 0


def test_after_sign_out_nothing_is_kept(app, world):
    c = sign_in(app, "manager1")
    c.post("/logout")
    response = c.post("/clients/new", data=CAPTURE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert db.session.query(FormDraft).count() == 0


def test_a_visit_typed_after_the_session_ended_is_kept(app, world):
    client = make_client(world.manager1)
    db.session.commit()
    c = sign_in(app, "manager1")
    _time_out(world.manager1)
    url = f"/clients/{client.id}/visits/new"
    response = c.post(url, data={"channel": "phone", "summary": "约周五来网点面谈", "token": "t"})
    assert response.status_code == 303 and response.headers["Location"] == f"/login?next={url}"
    c.post(f"/login?next={url}", data={"username": "manager1", "password": PASSWORD})
    page = c.get(url).get_data(as_text=True)
    assert "约周五来网点面谈" in page


def test_old_drafts_and_sessions_are_purged_at_sign_in(app, world):
    old = sign_in(app, "manager1")
    old.post("/logout")
    move_back(rows_of(world.manager1)[0], ended_at=timedelta(days=31))
    db.session.add(FormDraft(user_id=world.manager2.id, endpoint="clients.new", data={},
                             created_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    sign_in(app, "manager1")
    assert len(rows_of(world.manager1)) == 1
    assert db.session.query(FormDraft).count() == 0


# ---------------------------------------------------------------- journeys

def test_journey_a_shared_phone_at_the_outlet(app, world):
    """王经理 signs out on the counter phone; 赵经理 picks it up and cannot get back into 王经理's work."""
    phone = sign_in(app, "manager1", remember=True)
    client = make_client(world.manager1, name="吴先生")
    db.session.commit()
    assert phone.get(f"/clients/{client.id}").status_code == 200
    before_sign_out = {name: cookie(phone, name) for name in ("session", REMEMBER_COOKIE)}
    phone.post("/logout")
    assert phone.get(f"/clients/{client.id}").status_code == 302
    assert phone.get("/", follow_redirects=True).request.path == "/login"
    assert not signed_in(replay(app, **before_sign_out))
    phone.post("/login", data={"username": "manager2", "password": PASSWORD})
    assert phone.get(f"/clients/{client.id}").status_code == 404


def test_journey_an_admin_ends_a_lost_phones_sessions(app, world, login):
    """A manager reports a lost phone; compliance signs them out everywhere; the phone lands on sign-in."""
    lost = sign_in(app, "manager1", remember=True, agent=IPHONE_WECHAT)
    desk = sign_in(app, "manager1", agent=WINDOWS_EDGE)
    admin = login("admin")
    page = admin.get(f"/admin/users/{world.manager1.id}").get_data(as_text=True)
    assert "iPhone · 微信" in page
    admin.post(f"/admin/users/{world.manager1.id}/sessions/end")
    response = lost.get("/today")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert lost.get("/today").status_code == 302
    assert desk.get("/today").status_code == 302
    fresh = sign_in(app, "manager1", agent=WINDOWS_EDGE)
    assert signed_in(fresh)


def test_journey_a_lead_ends_a_forgotten_laptop_session_from_the_phone(app, world):
    laptop = sign_in(app, "lead", agent=WINDOWS_EDGE)
    phone = sign_in(app, "lead", agent=IPHONE_WECHAT)
    page = phone.get("/settings/sessions").get_data(as_text=True)
    laptop_id = rows_of(world.lead)[0].id
    assert f"/settings/sessions/{laptop_id}/end" in page
    phone.post(f"/settings/sessions/{laptop_id}/end")
    assert not signed_in(laptop) and signed_in(phone)


# ---------------------------------------------------------------- devices and settings

@pytest.mark.parametrize("agent, expected", [
    (IPHONE_WECHAT, ("iPhone", "wechat")),
    (ANDROID_CHROME, ("Android", "chrome")),
    (WINDOWS_EDGE, ("Windows", "edge")),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4 Mobile/15E148 Safari/604.1", ("iPhone", "safari")),
    ("Mozilla/5.0 (Linux; Android 12; HUAWEI P50) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0 "
     "HuaweiBrowser/14.0.0.300 Mobile Safari/537.36", ("Android", "huawei")),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
     "Safari/605.1.15", ("Mac", "safari")),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", ("Windows", "firefox")),
    ("curl/8.5.0", ("", "")),
    ("", ("", "")),
])
def test_devices_are_named_by_platform_and_browser(agent, expected):
    assert tuple(read_device(agent)) == expected


def test_session_settings_have_defaults_and_refuse_nonsense(tmp_path):
    config = from_environment(str(tmp_path), {"CRM_SECRET_KEY": "k"})
    assert config["CRM_SESSION_IDLE_SECONDS"] == 30 * 60
    assert config["CRM_SESSION_HOURS"] == 12 and config["CRM_REMEMBER_DAYS"] == 30
    custom = from_environment(str(tmp_path), {"CRM_SECRET_KEY": "k", "CRM_SESSION_IDLE_MINUTES": "15",
                                              "CRM_REMEMBER_DAYS": "7"})
    assert custom["CRM_SESSION_IDLE_SECONDS"] == 15 * 60 and custom["CRM_REMEMBER_DAYS"] == 7
    for name in ("CRM_SESSION_IDLE_MINUTES", "CRM_REMEMBER_DAYS", "CRM_SESSION_HOURS"):
        with pytest.raises(ConfigError, match=name):
            from_environment(str(tmp_path), {"CRM_SECRET_KEY": "k", name: "0"})


# ---------------------------------------------------------------- the operator's command

def test_end_sessions_command_signs_a_lost_phone_out_from_the_server(app, world):
    phone = sign_in(app, "manager1", remember=True)
    copied = {"session": cookie(phone, "session"), REMEMBER_COOKIE: cookie(phone, REMEMBER_COOKIE)}
    other = sign_in(app, "manager2")
    result = app.test_cli_runner().invoke(args=["end-sessions", "manager1"])
    assert result.exit_code == 0, result.output
    assert "Ended 1 live session(s) of 'manager1'" in result.output
    assert not signed_in(replay(app, **copied))
    assert not signed_in(phone)
    assert signed_in(other)
    [event] = actions("auth.sessions_ended")
    assert event.actor_id is None and event.source == "cli"
    assert event.params == {"count": 1, "end_reason": "operator"}


def test_end_sessions_all_also_ends_remembered_sessions_a_new_secret_key_would_not(app, world):
    # A new CRM_SECRET_KEY invalidates the signed session cookie, but "keep me signed in" is a token
    # checked against the database: only ending the rows signs such a phone out.
    remembered = {REMEMBER_COOKIE: cookie(sign_in(app, "manager1", remember=True), REMEMBER_COOKIE)}
    lead = sign_in(app, "lead")
    result = app.test_cli_runner().invoke(args=["end-sessions", "--all"])
    assert result.exit_code == 0, result.output
    assert "Ended 2 live session(s) of every user" in result.output
    assert not signed_in(replay(app, **remembered))
    assert not signed_in(lead)
    assert len(actions("auth.sessions_ended")) == 2  # one per user who had a live session


def test_end_sessions_command_refuses_unclear_requests(app, world):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["end-sessions"]).exit_code != 0
    assert runner.invoke(args=["end-sessions", "manager1", "--all"]).exit_code != 0
    result = runner.invoke(args=["end-sessions", "nobody"])
    assert result.exit_code != 0 and "no user 'nobody'" in result.output


def test_my_sessions_shows_where_a_session_was_last_used(app, world):
    c = app.test_client()
    response = c.post("/login", data={"username": "manager1", "password": PASSWORD},
                      environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert response.status_code == 303
    (row,) = rows_of(world.manager1)
    assert row.address == "10.1.1.1"
    move_back(row, last_seen_at=timedelta(minutes=2))  # past the once-a-minute touch
    page = c.get("/settings/sessions", environ_base={"REMOTE_ADDR": "10.2.2.2"}).get_data(as_text=True)
    assert rows_of(world.manager1)[0].address == "10.2.2.2"
    assert "10.2.2.2" in page


def test_a_device_signed_out_from_elsewhere_is_told_so(app, world):
    phone = sign_in(app, "manager1", agent=IPHONE_WECHAT)
    laptop = sign_in(app, "manager1", agent=WINDOWS_EDGE)
    laptop.post(f"/settings/sessions/{rows_of(world.manager1)[0].id}/end")
    response = phone.get("/clients", follow_redirects=True)
    assert "此设备已退出登录（可能是在其他设备上操作、由管理员结束，或出于安全原因），请重新登录。" in response.get_data(as_text=True)
    # Signing out here is not "elsewhere": the usual sign-in page.
    laptop.post("/logout")
    assert "此设备已退出登录" not in laptop.get("/clients", follow_redirects=True).get_data(as_text=True)


def test_a_password_change_with_no_other_device_records_no_empty_sign_out_everywhere(app, world):
    phone = sign_in(app, "manager1")
    new_password = "a-fresh-Passphrase-42"
    response = phone.post("/settings", data={"locale": "zh_CN", "current_password": PASSWORD,
                                             "new_password": new_password, "confirm": new_password})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert actions("auth.password_changed") and not actions("auth.sessions_ended")
    sign_in_elsewhere = app.test_client()
    assert sign_in_elsewhere.post("/login", data={"username": "manager1", "password": new_password}).status_code == 303
    phone.post("/settings", data={"locale": "zh_CN", "current_password": new_password,
                                  "new_password": "another-Passphrase-43", "confirm": "another-Passphrase-43"})
    (event,) = actions("auth.sessions_ended")
    assert event.params == {"count": 1, "end_reason": "password-change"}
