"""Idle sessions on a 390 px phone: the warning before the end, "stay signed in", and a capture typed
after the end that survives signing in again. The idle timeout is a few seconds here (app config)."""
from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import Client, FormDraft, UserSession
from tests.browser.conftest import HAVE_PLAYWRIGHT
from tests.factories import PASSWORD

if HAVE_PLAYWRIGHT:  # otherwise conftest marks every test here skipped
    from playwright.sync_api import Page, expect

    from tests.browser.helpers import sign_in

IDLE_SECONDS = 6
WARN_SECONDS = 4


@pytest.fixture
def app_config(app_config):
    """Sessions that go idle after a few seconds, warned about shortly before."""
    return {**app_config, "CRM_SESSION_IDLE_SECONDS": IDLE_SECONDS, "CRM_SESSION_WARN_SECONDS": WARN_SECONDS}


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def last_seen(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.max(UserSession.last_seen_at)))


def test_the_idle_warning_appears_and_stay_signed_in_extends_the_session(app, page: "Page"):
    sign_in(page, "manager1", lands_on="today")
    warning = page.locator("#session-timeout")
    expect(warning).to_be_hidden()
    expect(warning).to_be_visible(timeout=(IDLE_SECONDS - WARN_SECONDS + 3) * 1000)
    expect(warning).to_have_attribute("role", "alert")
    expect(warning).to_contain_text("后将自动退出登录")
    before = last_seen(app)
    warning.locator("button[type=submit]").click()
    expect(warning).to_be_hidden()
    assert last_seen(app) > before
    # Left alone again, it warns again and then says the session has ended.
    expect(warning).to_be_visible(timeout=(IDLE_SECONDS + 3) * 1000)
    expect(warning).to_contain_text("会话已结束", timeout=(WARN_SECONDS + 4) * 1000)
    expect(warning.locator("button[type=submit]")).to_be_hidden()
    page.reload()
    expect(page).to_have_url(re.compile(r"/login"))


def test_a_capture_typed_after_the_session_ended_survives_signing_in_again(app, page: "Page"):
    sign_in(page, "manager1", lands_on="today")
    page.goto("/clients/new")
    page.locator("input[name=name]").fill("周晓梅")
    page.locator("input[name=mobile]").fill("13912340001")
    warning = page.locator("#session-timeout")
    expect(warning).to_contain_text("填写的内容会保留", timeout=(IDLE_SECONDS + 4) * 1000)
    time.sleep(1)  # well past the deadline on the server's clock too
    page.locator("form[action='/clients/new'] button[type=submit]").click()
    expect(page.locator("input[name=username]")).to_be_visible()
    expect(page.locator(".flashes")).to_contain_text("刚才填写的内容已保留")
    assert count(app, Client) == 0 and count(app, FormDraft) == 1
    page.locator("input[name=username]").fill("manager1")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form[action^='/login'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/clients/new$"))
    expect(page.locator("input[name=name]")).to_have_value("周晓梅")
    expect(page.locator("input[name=mobile]")).to_have_value("13912340001")
    expect(page.locator(".flashes")).to_contain_text("已恢复")
    page.locator("form[action='/clients/new'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/clients/\d+$"))
    assert count(app, Client, Client.name == "周晓梅") == 1 and count(app, FormDraft) == 0
