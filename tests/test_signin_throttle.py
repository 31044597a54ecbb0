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


def own_phone(app, username: str, address: str = OUTLET):
    """A browser where `username` signed in (so it holds a device key for it) and then signed out."""
    phone = app.test_client()
    assert post(phone, username, PASSWORD, address).status_code == 303
    assert phone.get_cookie(signin.DEVICE_COOKIE) is not None
    phone.post("/logout")
    return phone


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

def test_past_twenty_failures_every_try_without_a_device_key_waits_at_most_a_minute_but_not_the_owners_phone(
        app, world):
    phone = own_phone(app, "manager1")
    for i in range(20):
        assert post(app.test_client(), "manager1", "bad-guess", f"10.40.0.{i}").status_code == 422
    # Every try of the username without its device key now waits, at most the cap (60 s), even from an
    # address that never failed: rotating addresses gains nothing...
    for address in ("10.40.0.3", "10.40.9.9", OUTLET):
        again = post(app.test_client(), "manager1", PASSWORD, address)
        assert again.status_code == 429, address
        assert 0 < int(again.headers["Retry-After"]) <= 60
        assert error_text(again) == f"尝试次数过多，请 {again.headers['Retry-After']} 秒后再试。"
        assert signin.wait_for("manager1", address).scope == signin.ACCOUNT
    # ...while the owner's own phone, holding its device key, signs in at once.
    assert post(phone, "manager1", PASSWORD, OUTLET).status_code == 303
    assert post(app.test_client(), "manager2", PASSWORD, "10.40.9.9").status_code == 303  # other usernames: no
    pass_time(61)
    assert post(app.test_client(), "manager1", PASSWORD, "10.40.0.3").status_code == 303


def test_the_account_wide_delay_never_exceeds_its_cap_however_many_addresses_fail(app, world):
    start = utcnow()
    for i in range(200):
        signin.record_failure("manager1", f"10.50.{i // 200}.{i % 200}", start + timedelta(seconds=i))
    now = start + timedelta(seconds=200)
    found = signin.wait_for("manager1", "10.50.0.199", now)
    assert found.scope == signin.ACCOUNT and 0 < found.seconds <= 60
    assert 0 < signin.wait_for("manager1", OUTLET, now).seconds <= 60
    assert signin.wait_for("manager1", "10.50.0.199", now + timedelta(seconds=60)) is None


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


# ---------------------------------------------------------------- the flood guard

def test_junk_and_throttled_posts_do_not_fill_the_flood_guard_so_a_colleague_still_signs_in(app, world):
    app.config["CRM_LOGIN_LIMIT_PER_ADDRESS"] = "10 per 5 minutes"
    junk = app.test_client()
    assert statuses(junk, "nobody", "bad-guess", 5) == [422] * 5  # 5 checked passwords: these count
    codes = [junk.post("/login", data={}, environ_base={"REMOTE_ADDR": OUTLET}).status_code for _ in range(145)]
    codes += statuses(junk, "nobody", "bad-guess", 150)  # all refused by the throttle, unchecked
    assert set(codes) == {422, 429} and codes.count(429) == 150
    assert post(app.test_client(), "manager2", PASSWORD).status_code == 303
    # Checked, wrong passwords still fill it: the 11th is the flood guard's plain 429.
    assert [post(app.test_client(), f"guess{i}", "bad-guess").status_code for i in range(6)] == [422] * 5 + [429]
    assert post(app.test_client(), "manager1", PASSWORD).status_code == 429
    assert post(own_phone_client(app, world), "manager1", PASSWORD).status_code == 303  # its own phone: exempt


def own_phone_client(app, world):
    """A browser holding manager1's device key, made without a request (the flood guard is full)."""
    phone = app.test_client()
    with app.test_request_context():
        phone.set_cookie(signin.DEVICE_COOKIE, signin.device_cookie(None, "manager1"))
    return phone


# ---------------------------------------------------------------- the owner's own browser (device key)

def test_a_sign_in_sets_a_long_lived_http_only_device_cookie_that_keeps_other_usernames(app, world):
    phone = app.test_client()
    response = post(phone, "manager1", PASSWORD)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("crm_device="))
    assert "HttpOnly" in header and "SameSite=Lax" in header and f"Max-Age={180 * 86400}" in header
    assert "Secure" not in header  # like the session cookie, which is Secure in production
    first = phone.get_cookie(signin.DEVICE_COOKIE).value
    assert "manager1" not in first
    phone.post("/logout")
    assert post(phone, "manager2", PASSWORD).status_code == 303
    both = phone.get_cookie(signin.DEVICE_COOKIE).value
    with app.test_request_context():
        assert signin.device_key(both, "MANAGER1 ") == signin.device_key(first, "manager1") is not None
        assert signin.device_key(both, "manager2") not in (None, signin.device_key(first, "manager1"))
        assert signin.device_key(first, "manager2") is None
        assert signin.device_key(first.replace(first[-1], "0" if first[-1] != "0" else "1"), "manager1") is None
        assert signin.device_key("x" * 5000 + "²", "manager1") is None
        assert signin.device_key(first, "manager1", utcnow() + timedelta(days=181)) is None
    app.config["SESSION_COOKIE_SECURE"] = True
    secure = post(app.test_client(), "manager1", PASSWORD).headers.getlist("Set-Cookie")
    assert any(h.startswith("crm_device=") and "Secure" in h for h in secure)


def test_a_colleague_behind_the_same_address_cannot_hold_the_owners_phone_out(app, world):
    phone = own_phone(app, "manager1")
    pass_time(200)  # the phone signed in a while ago
    colleague = app.test_client()
    # At the outlet's address: the pair rule (6+ failures), the account rule (20+), the address rule (100+).
    start = utcnow() - timedelta(seconds=100)
    for i in range(20):
        signin.record_failure("manager1", OUTLET, start + timedelta(seconds=i))
    for i in range(80):
        signin.record_failure(f"guess{i}", OUTLET, start + timedelta(seconds=i))
    signin.record_failure("manager1", OUTLET)  # the last one just now
    db.session.commit()
    held = post(colleague, "manager1", PASSWORD)
    assert held.status_code == 429 and int(held.headers["Retry-After"]) > 60  # the pair rule, up to 5 minutes
    assert post(app.test_client(), "lead", PASSWORD).status_code == 429  # the address rule
    # The owner's phone, with its device key, signs in at once.
    assert post(phone, "manager1", PASSWORD).status_code == 303
    # A new browser of the owner elsewhere waits at most the account delay.
    laptop = app.test_client()
    waiting = post(laptop, "manager1", PASSWORD, ELSEWHERE)
    assert waiting.status_code == 429 and 0 < int(waiting.headers["Retry-After"]) <= 60
    pass_time(61)
    assert post(laptop, "manager1", PASSWORD, ELSEWHERE).status_code == 303


def test_failures_on_the_owners_own_phone_throttle_that_phone_only(app, world):
    phone = own_phone(app, "manager1")
    assert statuses(phone, "manager1", "bad-guess", 5) == [422] * 5
    waiting = post(phone, "manager1", PASSWORD)
    assert waiting.status_code == 429 and waiting.headers["Retry-After"] == "30"
    [throttled] = events("auth.throttled")
    assert throttled.params["scope"] == signin.DEVICE
    assert {a.device for a in attempts() if not a.succeeded} == {signin.device_key(
        phone.get_cookie(signin.DEVICE_COOKIE).value, "manager1")}
    # They are not the colleagues' failures: another browser at the same address is not held by them.
    assert post(app.test_client(), "manager1", PASSWORD).status_code == 303
    pass_time(31)
    assert post(phone, "manager1", "bad-guess").status_code == 422
    assert post(phone, "manager1", PASSWORD).status_code == 429  # 6th failure: 60 s
    pass_time(61)
    assert post(phone, "manager1", PASSWORD).status_code == 303


def test_a_device_key_counts_only_for_the_username_it_was_given_for(app, world):
    phone = own_phone(app, "manager1")
    assert statuses(app.test_client(), "manager2", "bad-guess", 5) == [422] * 5
    assert post(phone, "manager2", PASSWORD).status_code == 429  # manager2 never signed in here


# ---------------------------------------------------------------- networks, not single addresses

@pytest.mark.parametrize("address, counted_as", [
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"), ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
    ("::ffff:10.20.0.5", "10.20.0.5"), ("10.20.0.5", "10.20.0.5"), ("fe80::1%eth0", "fe80::/64"),
    ("", ""), ("unix-socket", "unix-socket"),
])
def test_ipv6_addresses_are_counted_by_their_64_network(address, counted_as):
    assert signin.network(address) == counted_as


def test_sixty_ipv6_addresses_from_one_64_are_one_guesser(app, world):
    codes = [post(app.test_client(), "manager1", "bad-guess", f"2001:db8:1:2::{i:x}").status_code
             for i in range(1, 61)]
    assert codes == [422] * 5 + [429] * 55
    assert len(attempts()) == 5
    assert {a.address for a in attempts()} == {"2001:db8:1:2::/64"}
    assert post(app.test_client(), "manager1", PASSWORD, "2001:db8:1:3::1").status_code == 303  # next /64


def test_an_outlet_network_past_a_hundred_failures_holds_ipv6_neighbours_too(app, world):
    start = utcnow() - timedelta(seconds=100)
    for i in range(100):
        signin.record_failure(f"guess{i}", f"2001:db8:9:9::{i + 1:x}", start + timedelta(seconds=i))
    db.session.commit()
    held = post(app.test_client(), "manager2", PASSWORD, "2001:db8:9:9:ffff::1")
    assert held.status_code == 429 and 0 < int(held.headers["Retry-After"]) <= 60


# ---------------------------------------------------------------- the current password on Settings

def change(client, current: str, address: str = OUTLET):
    return client.post("/settings", data={"locale": "zh_CN", "current_password": current,
                                          "new_password": "Fresh-pass-for-me-2026", "confirm": "Fresh-pass-for-me-2026"},
                       environ_base={"REMOTE_ADDR": address})


def test_guessing_the_current_password_on_settings_is_audited_and_ends_the_session_after_five(app, world):
    phone = app.test_client()
    assert post(phone, "manager1", PASSWORD).status_code == 303
    for i in range(4):
        wrong = change(phone, f"guess-{i}")
        assert wrong.status_code == 422 and "当前密码不正确" in wrong.get_data(as_text=True)
    fifth = change(phone, "guess-4")
    assert fifth.status_code == 303 and fifth.headers["Location"] == "/login"
    failures = events("auth.sign_in_failed")
    assert len(failures) == 5
    assert all((f.actor_id, f.object_id, f.params["username"], f.params["where"]) ==
               (None, world.manager1.id, "manager1", "settings") for f in failures)
    # The fifth ended this browser's session: back to sign-in, told why.
    assert phone.get("/clients").status_code == 302
    page = phone.get("/login").get_data(as_text=True)
    assert "当前密码已输错 5 次，已为您退出登录，请重新登录。" in page
    assert events("auth.sign_out")[-1].object_id == world.manager1.id
    db.session.refresh(world.manager1)
    assert world.manager1.check_password(PASSWORD)


def test_the_current_password_on_settings_goes_through_the_sign_in_throttle(app, world):
    app.config["CRM_SIGNIN_FAILURES"] = 2
    phone = app.test_client()
    assert post(phone, "manager1", PASSWORD).status_code == 303
    assert [change(phone, "guess").status_code for _ in range(2)] == [422, 422]
    waiting = change(phone, PASSWORD)  # even the right one: not looked at
    assert waiting.status_code == 429 and waiting.headers["Retry-After"] == "30"
    assert "尝试次数过多，请 30 秒后再试。" in waiting.get_data(as_text=True)
    db.session.refresh(world.manager1)
    assert world.manager1.check_password(PASSWORD)
    [throttled] = events("auth.throttled")
    assert throttled.params["scope"] == signin.DEVICE  # this browser's own failures, nobody else's


def test_the_right_current_password_on_settings_still_changes_it(app, world):
    phone = app.test_client()
    assert post(phone, "manager1", PASSWORD).status_code == 303
    assert change(phone, "guess").status_code == 422
    assert change(phone, PASSWORD).status_code == 303
    db.session.refresh(world.manager1)
    assert world.manager1.check_password("Fresh-pass-for-me-2026")
    assert [a.succeeded for a in attempts()][-2:] == [False, True]


# ---------------------------------------------------------------- the same work for unknown usernames

def test_a_failure_runs_the_same_queries_whether_the_username_exists_or_not(app, world):
    def queries(username: str) -> list[str]:
        seen = []

        def note(_conn, _cursor, statement, *_args):
            seen.append(re.sub(r"\s+", " ", statement))

        sa.event.listen(db.engine, "before_cursor_execute", note)
        try:
            with app.test_request_context():
                signin.record_failure(username, ELSEWHERE)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", note)
        db.session.rollback()
        return seen

    assert queries("manager1") == queries("nobody")


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
    # Nobody is the actor of a failure: the account tried is its object.
    assert (known.actor_id, known.object_id, known.params, known.remote_addr) == (
        None, world.manager1.id, {"username": "manager1", "where": "login"}, OUTLET)
    assert (unknown.actor_id, unknown.object_id, unknown.params) == (None, None,
                                                                      {"username": "no…(13)", "where": "login"})
    assert "nobody-at-all" not in unknown.detail
    assert events("auth.throttled") == []
    statuses(c, "manager1", "bad-guess", 5)  # the 5th failure starts a delay; the 6th try is refused
    assert len(events("auth.sign_in_failed")) == 6
    [throttled] = events("auth.throttled")
    assert throttled.params == {"username": "manager1", "seconds": 30, "scope": "account_address"}
    assert (throttled.actor_id, throttled.object_id) == (None, world.manager1.id)


def test_a_password_typed_into_the_username_field_is_not_on_the_audit_trail(app, world, login):
    secret = "Correct-Horse-Battery-9"
    c = app.test_client()
    for _ in range(6):  # failures, then a wait: neither audit row names it
        post(c, secret, "manager1")
    rows = [*events("auth.sign_in_failed"), *events("auth.throttled")]
    assert len(rows) == 6
    assert all(secret.lower() not in f"{row.params} {row.detail}".lower() for row in rows)
    assert {row.params["username"] for row in rows} == {"Co…(23)"}
    page = login("admin").get("/admin/audit", query_string={"action": "auth"}).get_data(as_text=True)
    assert secret not in page and "用户名 Co…(23)（登录页）" in page


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
    assert "账号 manager1 需等待 30 秒后再试，原因：同一网络多次输错该账号密码" in rows
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
