"""Sign-in throttling that slows guessing but cannot lock the owner out, the owner's email, and the audit of failures.

Real app and database (SQLite, or PostgreSQL with CRM_TEST_DATABASE_URL), a real SMTP server for the email.
Time passes by moving the stored attempts back (`pass_time`) or by giving the service a `now`.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm import create_app
from crm.config import ConfigError, from_environment
from crm.extensions import db
from crm.models import AuditEvent, Role, SignInAttempt, utcnow
from crm.services import outbox, signin
from tests.conftest import PASSWORD, RequestIsolatingClient
from tests.factories import create_user
from tests.test_outbox import SmtpServer

OUTLET = "10.20.0.5"  # the outlet's NAT address
ELSEWHERE = "10.30.0.9"


def post(client, username: str, password: str, address: str = OUTLET):
    """One sign-in try from `address`."""
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def statuses(client, username: str, password: str, times: int, address: str = OUTLET) -> list[int]:
    return [post(client, username, password, address).status_code for _ in range(times)]


def pass_time(seconds: float) -> None:
    """As if `seconds` had passed: every stored attempt and audit event becomes that much older."""
    delta = timedelta(seconds=seconds)
    db.session.expire_all()
    for row in [*db.session.execute(sa.select(SignInAttempt)).scalars(),
                *db.session.execute(sa.select(AuditEvent)).scalars()]:
        row.at -= delta
    db.session.commit()
    db.session.expire_all()


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)).scalars())


def attempts() -> list[SignInAttempt]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(SignInAttempt).order_by(SignInAttempt.id)).scalars())


def error_text(response) -> str:
    found = re.search(r'<p class="field-error" id="password-error">([^<]*)</p>', response.get_data(as_text=True))
    return found.group(1) if found else ""


# ---------------------------------------------------------------- per username and address

def test_the_sixth_wrong_try_from_one_address_waits_and_the_password_is_not_checked(app, world):
    c = app.test_client()
    assert statuses(c, "manager1", "bad-guess", 5) == [422] * 5
    waiting = post(c, "manager1", PASSWORD)
    assert waiting.status_code == 429
    assert error_text(waiting) == "尝试次数过多，请 30 秒后再试。"
    assert waiting.headers["Retry-After"] == "30"
    assert 'value="manager1"' in waiting.get_data(as_text=True)  # the form keeps the username
    # Refused before the password: not stored, so hammering does not lengthen anyone's wait.
    assert len(attempts()) == 5
    pass_time(31)
    assert post(c, "manager1", PASSWORD).status_code == 303


def test_the_wait_is_counted_from_the_last_failure_and_doubles_up_to_five_minutes(app, world):
    start = utcnow()
    waits = []
    for n in range(1, 11):
        now = start + timedelta(seconds=10 * n)
        signin.record_failure("manager1", OUTLET, now)
        found = signin.wait_for("manager1", OUTLET, now)
        waits.append(found.seconds if found else 0)
    assert waits == [0, 0, 0, 0, 30, 60, 120, 240, 300, 300]
    last = start + timedelta(seconds=100)
    assert signin.wait_for("manager1", OUTLET, last + timedelta(seconds=299)).seconds == 1
    assert signin.wait_for("manager1", OUTLET, last + timedelta(seconds=300)) is None


def test_the_owner_from_another_address_signs_in_at_once_while_the_guesser_waits(app, world):
    guesser = app.test_client()
    assert statuses(guesser, "manager1", "bad-guess", 7, ELSEWHERE) == [422] * 5 + [429, 429]
    owner = app.test_client()
    assert post(owner, "manager1", PASSWORD, OUTLET).status_code == 303
    assert post(guesser, "manager1", PASSWORD, ELSEWHERE).status_code == 429


def test_a_success_clears_the_count_of_its_username_and_address(app, world):
    assert statuses(app.test_client(), "manager1", "bad-guess", 4) == [422] * 4
    assert post(app.test_client(), "manager1", PASSWORD).status_code == 303
    c = app.test_client()
    assert statuses(c, "manager1", "bad-guess", 6) == [422] * 5 + [429]


def test_failures_older_than_the_window_no_longer_count(app, world):
    c = app.test_client()
    assert statuses(c, "manager1", "bad-guess", 5) == [422] * 5
    pass_time(15 * 60 + 1)
    assert statuses(c, "manager1", "bad-guess", 5) == [422] * 5


# ---------------------------------------------------------------- per username from every address

def test_many_addresses_failing_on_one_username_slow_each_by_at_most_a_minute_but_not_the_owner(app, world):
    for i in range(25):
        assert post(app.test_client(), "manager1", "bad-guess", f"10.40.0.{i}").status_code == 422
    # Each of those addresses now waits before its next try, at most the cap (60 s)...
    again = post(app.test_client(), "manager1", PASSWORD, "10.40.0.3")
    assert again.status_code == 429
    assert 0 < int(again.headers["Retry-After"]) <= 60
    assert error_text(again) == f"尝试次数过多，请 {again.headers['Retry-After']} 秒后再试。"
    # ...while the owner, who has not failed, signs in at once from the outlet.
    assert post(app.test_client(), "manager1", PASSWORD, OUTLET).status_code == 303
    pass_time(61)
    assert post(app.test_client(), "manager1", PASSWORD, "10.40.0.3").status_code == 303


def test_the_account_wide_delay_never_exceeds_its_cap_however_many_addresses_fail(app, world):
    start = utcnow()
    for i in range(200):
        signin.record_failure("manager1", f"10.50.{i // 200}.{i % 200}", start + timedelta(seconds=i))
    now = start + timedelta(seconds=200)
    found = signin.wait_for("manager1", "10.50.0.199", now)
    assert found.scope == signin.ACCOUNT and 0 < found.seconds <= 60
    assert signin.wait_for("manager1", OUTLET, now) is None


# ---------------------------------------------------------------- per address (an outlet's NAT)

def test_forty_colleagues_behind_one_address_each_mistyping_twice_all_sign_in(app, world):
    colleagues = [create_user(f"staff{i:02d}", f"员工{i}", PASSWORD, Role.MANAGER, team=world.team)
                  for i in range(40)]
    db.session.commit()
    for person in colleagues:
        c = app.test_client()
        assert statuses(c, person.username, "typo-in-it", 2) == [422, 422]
        assert post(c, person.username, PASSWORD).status_code == 303, person.username


def test_an_address_past_a_hundred_failures_waits_a_minute_for_any_username(app, world):
    start = utcnow() - timedelta(seconds=100)
    for i in range(100):
        signin.record_failure(f"guess{i}", OUTLET, start + timedelta(seconds=i))
    db.session.commit()
    held = post(app.test_client(), "manager2", PASSWORD, OUTLET)
    assert held.status_code == 429 and 0 < int(held.headers["Retry-After"]) <= 60
    assert post(app.test_client(), "manager2", PASSWORD, ELSEWHERE).status_code == 303
    # Successes never count against an address: 99 failures and many successes do not hold it.
    assert signin.wait_for("lead", OUTLET, utcnow() + timedelta(seconds=61)) is None
    pass_time(61)
    assert post(app.test_client(), "manager2", PASSWORD, OUTLET).status_code == 303


def test_below_the_address_threshold_successes_and_failures_of_others_do_not_hold_an_address(app, world):
    start = utcnow() - timedelta(seconds=100)
    for i in range(99):
        signin.record_failure(f"guess{i}", OUTLET, start + timedelta(seconds=i))
    db.session.commit()
    assert post(app.test_client(), "manager2", PASSWORD, OUTLET).status_code == 303


# ---------------------------------------------------------------- shared by every process

def test_two_app_instances_on_one_database_share_the_counts(app, app_config, world):
    other = create_app(app_config)
    other.test_client_class = RequestIsolatingClient
    try:
        first, second = app.test_client(), other.test_client()
        assert statuses(first, "manager1", "bad-guess", 3) == [422] * 3
        assert statuses(second, "manager1", "bad-guess", 2) == [422] * 2
        assert post(first, "manager1", PASSWORD).status_code == 429
        assert post(second, "manager1", PASSWORD).status_code == 429
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


# ---------------------------------------------------------------- no user enumeration

def test_an_unknown_username_is_counted_and_answered_exactly_like_a_real_one(app, world):
    def run(username: str) -> tuple[list[int], str]:
        c = app.test_client()
        codes = statuses(c, username, "bad-guess", 5, ELSEWHERE)
        last = post(c, username, "bad-guess", ELSEWHERE)
        page = re.sub(r'(csrf_token" value="|"X-CSRFToken": ")[^"]+', "TOKEN", last.get_data(as_text=True))
        return codes + [last.status_code], page.replace(username, "NAME")

    real, unknown = run("manager1"), run("nobody")
    assert real == unknown
    assert real[0] == [422] * 5 + [429]


# ---------------------------------------------------------------- the owner is told

@pytest.fixture
def smtp(app):
    server = SmtpServer()
    server.start()
    app.config.update(CRM_SMTP_HOST="127.0.0.1", CRM_SMTP_PORT=server.port, CRM_SMTP_TLS="none",
                      CRM_SMTP_USER="", CRM_MAIL_FROM="Outlet CRM <crm@example.com>")
    yield server
    server.stop()


def fail_from(app, addresses: list[str], each: int = 3, username: str = "manager1") -> None:
    for address in addresses:
        assert statuses(app.test_client(), username, "bad-guess", each, address) == [422] * each


def test_the_owner_is_emailed_once_an_hour_about_repeated_failures(app, world, smtp):
    fail_from(app, ["10.60.0.1", "10.60.0.2", "10.60.0.3"])  # 9 failures: no email yet
    assert outbox.deliver_due().sent == 0
    fail_from(app, ["10.60.0.4"], each=1)  # the 10th
    assert outbox.deliver_due().sent == 1
    fail_from(app, ["10.60.0.5", "10.60.0.6"])  # more in the same hour: no second email
    assert outbox.deliver_due().sent == 0
    [message] = smtp.inbox.messages
    assert message["To"] == "m1@example.com"
    assert message["Subject"] == "您的网点客户管理账号有登录失败记录"
    text = message.get_body(("plain",)).get_content()
    assert "过去一小时内，您的账号 manager1 登录失败 10 次。" in text
    assert "10.60.0.1" in text and "10.60.0.4" in text
    assert "请告知系统管理员" in text and "账号没有被锁定" in text
    assert "登录失败 10 次" in message.get_body(("html",)).get_content()
    [notice] = events("auth.failures_notified")
    assert notice.object_id == world.manager1.id and notice.params["failures"] == 10
    # An hour later (the service's clock), ten new failures: a second email.
    later = utcnow() + timedelta(minutes=61)
    for i in range(10):
        signin.record_failure("manager1", f"10.60.1.{i}", later)
        db.session.commit()
        assert len(events("auth.failures_notified")) == (2 if i == 9 else 1)
    assert outbox.deliver_due(now=later).sent == 1
    assert len(smtp.inbox.messages) == 2


def test_the_email_is_in_the_owners_language_and_names_no_more_than_five_addresses(app, world, smtp):
    world.manager2.locale = "en"
    db.session.commit()
    now = utcnow()
    for i in range(12):
        signin.record_failure("manager2", f"10.70.0.{i}", now)
    db.session.commit()
    assert outbox.deliver_due().sent == 1
    [message] = smtp.inbox.messages
    assert message["Subject"] == "Failed sign-ins to your Outlet CRM account"
    text = message.get_body(("plain",)).get_content()
    assert "In the last hour there were 10 failed sign-ins to your account manager2." in text
    assert "and 5 more addresses" in text


def test_no_email_for_an_unknown_username_or_a_deactivated_account(app, world, smtp):
    world.manager2.active = False
    db.session.commit()
    now = utcnow()
    for i in range(12):
        signin.record_failure("manager2", f"10.80.0.{i}", now)
        signin.record_failure("nobody", f"10.80.0.{i}", now)
    db.session.commit()
    assert outbox.deliver_due().sent == 0 and smtp.inbox.messages == []


# ---------------------------------------------------------------- the audit trail

def test_every_checked_try_is_stored_and_each_failure_and_delay_is_audited(app, world):
    c = app.test_client()
    post(c, "Manager1 ", "bad-guess")
    post(c, "nobody-at-all", "bad-guess")
    post(app.test_client(), "manager2", PASSWORD)
    stored = [(a.username_key, a.address, a.user_id, a.succeeded) for a in attempts()]
    assert stored == [("manager1", OUTLET, world.manager1.id, False), ("nobody-at-all", OUTLET, None, False),
                      ("manager2", OUTLET, world.manager2.id, True)]
    known, unknown = events("auth.sign_in_failed")
    assert (known.actor_id, known.object_id, known.params, known.remote_addr) == (
        world.manager1.id, world.manager1.id, {"username": "manager1"}, OUTLET)
    assert (unknown.actor_id, unknown.object_id, unknown.params) == (None, None, {"username": "nobody-at-all"})
    assert events("auth.throttled") == []
    statuses(c, "manager1", "bad-guess", 5)  # the 5th failure starts a delay; the 6th try is refused
    assert len(events("auth.sign_in_failed")) == 6
    [throttled] = events("auth.throttled")
    assert throttled.params == {"username": "manager1", "seconds": 30, "scope": "account_address"}
    assert throttled.actor_id == world.manager1.id


def test_old_attempts_are_deleted_when_someone_signs_in(app, world):
    post(app.test_client(), "manager1", "bad-guess")
    pass_time(24 * 3600 + 1)
    post(app.test_client(), "manager2", "bad-guess")
    assert len(attempts()) == 2
    post(app.test_client(), "manager2", PASSWORD)
    assert [a.username_key for a in attempts()] == ["manager2", "manager2"]


def test_journey_a_manager_mistypes_six_times_at_the_outlet_waits_signs_in_and_the_admin_sees_it(app, world, login):
    phone = app.test_client()
    assert statuses(phone, "manager1", "wrong-pass", 5) == [422] * 5
    sixth = post(phone, "manager1", "wrong-pass")
    assert sixth.status_code == 429 and "请 30 秒后再试" in sixth.get_data(as_text=True)
    pass_time(30)
    signed_in = post(phone, "manager1", PASSWORD)
    assert signed_in.status_code == 303
    assert phone.get("/", follow_redirects=True).request.path == "/today"

    admin = login("admin")
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert '<option value="auth.sign_in_failed"' in page and '<option value="auth.throttled"' in page
    failures = admin.get("/admin/audit", query_string={"action": "auth.sign_in_failed"}).get_data(as_text=True)
    rows = failures.split("<tbody>")[1]
    assert rows.count("登录失败") == 5 and rows.count("用户名 manager1") == 5 and OUTLET in rows
    assert "王经理" in rows
    throttle = admin.get("/admin/audit", query_string={"action": "auth.throttled"}).get_data(as_text=True)
    rows = throttle.split("<tbody>")[1]
    assert "登录限速（失败次数过多）" in rows
    assert "manager1：30 秒后方可再试（同一地址对该用户名）" in rows
    everything = admin.get("/admin/audit", query_string={"action": "auth"}).get_data(as_text=True)
    assert everything.split("<tbody>")[1].count("<tr>") >= 6


# ---------------------------------------------------------------- settings

def test_the_thresholds_are_settings_with_safe_defaults(tmp_path):
    defaults = from_environment(str(tmp_path), {})
    assert signin.Limits.from_config(defaults) == signin.Limits()
    assert signin.Limits() == signin.Limits(window_minutes=15, failures=5, delay_seconds=30, max_delay_seconds=300,
                                            account_failures=20, account_delay_seconds=60, address_failures=100,
                                            address_delay_seconds=60, notify_failures=10)
    tuned = from_environment(str(tmp_path), {"CRM_SIGNIN_FAILURES": "8", "CRM_SIGNIN_ADDRESS_FAILURES": "400"})
    assert signin.Limits.from_config(tuned).failures == 8 and tuned["CRM_SIGNIN_ADDRESS_FAILURES"] == 400
    with pytest.raises(ConfigError, match="CRM_SIGNIN_FAILURES must be a whole number"):
        from_environment(str(tmp_path), {"CRM_SIGNIN_FAILURES": "five"})
    with pytest.raises(ConfigError, match="CRM_SIGNIN_MAX_DELAY_SECONDS must be at least 1"):
        from_environment(str(tmp_path), {"CRM_SIGNIN_MAX_DELAY_SECONDS": "0"})


def test_a_lower_setting_takes_effect(app, world):
    app.config["CRM_SIGNIN_FAILURES"] = 2
    app.config["CRM_SIGNIN_DELAY_SECONDS"] = 10
    c = app.test_client()
    assert statuses(c, "manager1", "bad-guess", 3) == [422, 422, 429]
    assert post(c, "manager1", PASSWORD).headers["Retry-After"] == "10"
