"""QR self-registration (扫码登记): the public form, its limits and honeypot, and what a registration becomes."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.domain.clock import SHANGHAI
from crm.domain.consent import CURRENT
from crm.domain.workdays import add_working_hour
from crm.extensions import db
from crm.models import (
    AuditEvent,
    Client,
    FollowUp,
    Notification,
    OutboxEmail,
    QrCard,
    RegistrationOutcome,
    SelfRegistration,
    utcnow,
)
from crm.routes import register as register_routes
from crm.services import qr_cards, self_registration
from tests.factories import make_client

# ------------------------------------------------------------------ one working hour


def sh(y, m, d, hh, mm) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


@pytest.mark.parametrize("start, due, overrides", [
    (sh(2026, 12, 2, 10, 0), sh(2026, 12, 2, 11, 0), {}),        # Wednesday morning
    (sh(2026, 12, 2, 7, 15), sh(2026, 12, 2, 10, 0), {}),        # before opening: from 09:00
    (sh(2026, 12, 2, 16, 30), sh(2026, 12, 2, 17, 30), {}),      # exactly to closing
    (sh(2026, 12, 2, 17, 0), sh(2026, 12, 3, 9, 30), {}),        # half an hour spills to Thursday
    (sh(2026, 12, 2, 17, 30), sh(2026, 12, 3, 10, 0), {}),       # at closing: the next morning
    (sh(2026, 12, 2, 22, 0), sh(2026, 12, 3, 10, 0), {}),        # evening
    (sh(2026, 12, 4, 16, 50), sh(2026, 12, 7, 9, 20), {}),       # Friday afternoon spills to Monday
    (sh(2026, 12, 5, 11, 0), sh(2026, 12, 7, 10, 0), {}),        # Saturday
    (sh(2026, 12, 4, 18, 0), sh(2026, 12, 8, 10, 0), {date(2026, 12, 7): False}),  # Monday made a day off
    (sh(2026, 12, 5, 11, 0), sh(2026, 12, 5, 12, 0), {date(2026, 12, 5): True}),   # a make-up Saturday
])
def test_add_working_hour(start, due, overrides):
    assert add_working_hour(start, overrides) == due
    assert add_working_hour(start.astimezone(timezone.utc), overrides) == due


def test_add_working_hour_refuses_a_naive_time():
    with pytest.raises(ValueError):
        add_working_hour(datetime(2026, 12, 2, 10, 0))


# ------------------------------------------------------------------ the service

NOW = sh(2026, 12, 2, 10, 0).astimezone(timezone.utc)


def data(mobile="13955550001", name="陈小姐", **extra):
    return {"name": name, "mobile": mobile, "interest": "funds", "preferred_time": "morning",
            "consent_version": CURRENT, **extra}


@pytest.fixture
def card(app, world):
    card = qr_cards.issue_card(world.manager1, world.outlets[1])
    db.session.commit()
    return card


def followups_of(client_id):
    return db.session.execute(sa.select(FollowUp).where(FollowUp.client_id == client_id)).scalars().all()


def test_a_new_mobile_becomes_the_card_managers_prospect_with_a_call_back_within_a_working_hour(app, world, card):
    done = self_registration.register(card, data(), "zh_CN", NOW)
    db.session.commit()
    reg = done.registration
    client = db.session.get(Client, reg.client_id)
    assert reg.outcome == RegistrationOutcome.NEW and reg.consent_version == CURRENT and done.created
    assert (client.owner_id, client.source_channel, client.outlet_id, client.qr_card_id) == (
        world.manager1.id, "qr_self_registration", world.outlets[1].id, card.id)
    assert client.consent_contact and client.consent_at == NOW and client.protection_started_at == NOW
    assert "基金" in client.interests
    [followup] = followups_of(client.id)
    assert followup.assignee_id == world.manager1.id and followup.kind == "call"
    assert followup.due_at == add_working_hour(NOW) == sh(2026, 12, 2, 11, 0)
    assert followup.self_registration_id == reg.id and followup.source == "qr"
    assert followup.title == "扫码登记：回电"
    assert db.session.query(Notification).filter_by(user_id=world.manager1.id).count() == 1
    assert db.session.query(OutboxEmail).filter_by(to_address="m1@example.com").count() == 1
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "qr.register")).scalar_one()
    assert event.actor_id is None and event.client_id == client.id and event.params["became"] == "new"


def test_the_card_managers_own_client_is_attached(app, world, card):
    mine = make_client(world.manager1, mobile="13955550002")
    db.session.commit()
    reg = self_registration.register(card, data("13955550002"), "zh_CN", NOW).registration
    assert reg.outcome == RegistrationOutcome.OWN and reg.client_id == mine.id
    assert db.session.query(Client).count() == 1
    assert len(followups_of(mine.id)) == 1


def test_another_managers_client_is_not_reassigned_its_owner_is_told_and_the_card_manager_learns_no_name(
        app, world, card):
    theirs = make_client(world.other_manager, name="孙先生", mobile="13955550003")
    db.session.commit()
    reg = self_registration.register(card, data("13955550003", name="孙先生"), "zh_CN", NOW).registration
    db.session.commit()
    db.session.expire_all()
    assert reg.outcome == RegistrationOutcome.OTHER_OWNER
    assert db.session.get(Client, theirs.id).owner_id == world.other_manager.id
    assert followups_of(theirs.id) == []
    [told_owner] = db.session.query(Notification).filter_by(user_id=world.other_manager.id).all()
    assert "孙先生" in told_owner.text
    [told_manager] = db.session.query(Notification).filter_by(user_id=world.manager1.id).all()
    assert "孙先生" not in told_manager.text and "5555" not in told_manager.text
    assert told_manager.link == f"/cards/{card.id}"


def test_a_prospect_in_the_card_managers_team_pool_is_claimed(app, world, card):
    pooled = make_client(world.manager2, mobile="13955550004")
    pooled.pool_team_id, pooled.pooled_at = world.team.id, utcnow() - timedelta(days=1)
    db.session.commit()
    reg = self_registration.register(card, data("13955550004"), "zh_CN", NOW).registration
    db.session.commit()
    db.session.expire_all()
    client = db.session.get(Client, pooled.id)
    assert reg.outcome == RegistrationOutcome.POOL_CLAIMED
    assert client.owner_id == world.manager1.id and client.pool_team_id is None
    assert [f.assignee_id for f in followups_of(client.id)] == [world.manager1.id]


def test_another_teams_pool_prospect_stays_where_it_is(app, world, card):
    pooled = make_client(world.other_manager, mobile="13955550005")
    pooled.pool_team_id, pooled.pooled_at = world.other_team.id, utcnow()
    db.session.commit()
    reg = self_registration.register(card, data("13955550005"), "zh_CN", NOW).registration
    db.session.commit()
    db.session.expire_all()
    assert reg.outcome == RegistrationOutcome.OTHER_OWNER
    assert db.session.get(Client, pooled.id).pool_team_id == world.other_team.id


def test_the_same_number_on_the_same_card_within_ten_minutes_is_one_registration(app, world, card):
    first = self_registration.register(card, data(), "zh_CN", NOW)
    twin = self_registration.register(card, data(), "zh_CN", NOW + timedelta(minutes=9))
    assert twin.registration.id == first.registration.id and not twin.created
    later = self_registration.register(card, data(), "zh_CN", NOW + timedelta(minutes=11))
    assert later.created and later.registration.outcome == RegistrationOutcome.OWN
    assert db.session.query(SelfRegistration).count() == 2
    assert len(followups_of(first.registration.client_id)) == 2  # one call per registration


# ------------------------------------------------------------------ the public form

FORM = {"name": "陈小姐", "mobile": "139 5555 0006", "interest": "stocks", "preferred_time": "evening",
        "consent": "y", "consent_version": CURRENT}


def path_of(card) -> str:
    return f"/r/{qr_cards.card_token(card)}"


def test_the_form_registers_and_thanks_and_the_follow_up_is_due_per_working_hour(app, world, card, client,
                                                                                 monkeypatch):
    moment = sh(2026, 12, 4, 17, 10).astimezone(timezone.utc)  # Friday, twenty minutes before closing
    monkeypatch.setattr(register_routes, "utcnow", lambda: moment)
    response = client.post(path_of(card), data=FORM)
    assert response.status_code == 303 and response.headers["Location"].endswith(path_of(card) + "/thanks")
    reg = db.session.execute(sa.select(SelfRegistration)).scalar_one()
    assert (reg.mobile, reg.interest, reg.preferred_time, reg.consent_version, reg.locale) == (
        "13955550006", "stocks", "evening", CURRENT, "zh_CN")
    [followup] = followups_of(reg.client_id)
    assert followup.due_at == sh(2026, 12, 7, 9, 40)
    assert "谢谢" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_consent_is_required_and_bad_input_re_renders_with_field_errors(app, world, card, client):
    response = client.post(path_of(card), data={**FORM, "consent": "", "mobile": "12345"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert page.count('class="field-error"') == 2
    assert db.session.query(SelfRegistration).count() == 0


def test_the_consent_text_and_its_version_are_shown(app, world, card, client):
    page = client.get(path_of(card)).get_data(as_text=True)
    assert CURRENT in page and "保存1年后删除" in page and "撤回" in page


def test_a_filled_honeypot_gets_the_same_thanks_and_nothing_is_stored(app, world, card, client):
    page = client.get(path_of(card)).get_data(as_text=True)
    assert re.search(r'<input[^>]*autocomplete="off"[^>]*name="website"[^>]*tabindex="-1"', page) or \
        re.search(r'name="website"', page)
    assert 'aria-hidden="true"' in page and 'class="visually-hidden"' in page
    response = client.post(path_of(card), data={**FORM, "website": "http://spam.example"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/thanks")
    assert db.session.query(SelfRegistration).count() == 0 and db.session.query(Client).count() == 0


def test_a_browser_preferring_english_gets_english_and_the_locale_is_kept(app, world, card, client):
    page = client.get(path_of(card), headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"}).get_data(as_text=True)
    assert "Leave your details" in page and "deleted after 1 year" in page and 'lang="en"' in page
    assert "留下您的联系方式" in client.get(path_of(card), headers={"Accept-Language": "zh-CN,en;q=0.5"}).get_data(
        as_text=True)
    assert "留下您的联系方式" in client.get(path_of(card)).get_data(as_text=True)
    client.post(path_of(card), data=FORM, headers={"Accept-Language": "en"})
    assert db.session.execute(sa.select(SelfRegistration.locale)).scalar_one() == "en"


def test_csrf_stays_on_for_the_public_form(app, world, card, client):
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get(path_of(card)).get_data(as_text=True)
    assert 'name="csrf_token"' in page
    refused = client.post(path_of(card), data=FORM)
    assert refused.status_code == 400 and "/login" not in refused.get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post(path_of(card), data={**FORM, "csrf_token": token}).status_code == 303


@pytest.fixture
def app_config(app_config):
    return {**app_config, "CRM_QR_LIMIT_PER_ADDRESS": "3 per hour", "CRM_QR_LIMIT_PER_CARD": "5 per hour"}


def test_posts_are_limited_per_address_with_a_friendly_page_in_the_visitors_language(app, world, card):
    c = app.test_client()
    other = qr_cards.issue_card(world.manager2, world.outlets[0])
    db.session.commit()
    answers = [c.post(path_of(card), data={**FORM, "mobile": f"1395555010{i}"},
                      environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code for i in range(3)]
    assert answers == [303, 303, 303]
    limited = c.post(path_of(other), data=FORM, environ_base={"REMOTE_ADDR": "10.0.0.1"},
                     headers={"Accept-Language": "en"})
    assert limited.status_code == 429 and "Please wait" in limited.get_data(as_text=True)
    assert c.get(path_of(card), environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200  # reading is free
    assert c.post(path_of(card), data={**FORM, "mobile": "13955550109"},
                  environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 303


def test_posts_are_limited_per_card_whatever_the_address(app, world, card):
    c = app.test_client()
    answers = [c.post(path_of(card), data={**FORM, "mobile": f"1395555020{i}"},
                      environ_base={"REMOTE_ADDR": f"10.0.1.{i}"}).status_code for i in range(6)]
    assert answers == [303] * 5 + [429]
    assert "稍候" in c.post(path_of(card), data=FORM, environ_base={"REMOTE_ADDR": "10.0.2.1"}).get_data(as_text=True)
    assert db.session.query(SelfRegistration).count() == 5


class Links(HTMLParser):
    """Every href, action, src (and formaction) of a page."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "action", "src", "formaction", "hx-get", "hx-post"):
                self.found.append((tag, name, value))


def test_no_public_page_links_or_posts_to_a_signed_in_page(app, world, card, client):
    revoked = qr_cards.issue_card(world.manager2, world.outlets[0])
    qr_cards.revoke_card(revoked, world.manager2)
    db.session.commit()
    responses = [
        client.get(path_of(card)),
        client.get(path_of(card), headers={"Accept-Language": "en"}),
        client.post(path_of(card), data={**FORM, "mobile": "1"}),
        client.post(path_of(card), data=FORM, follow_redirects=True),
        client.get(path_of(revoked)),
        client.get("/r/not-a-token"),
    ]
    app.config["CRM_QR_LIMIT_PER_ADDRESS"] = "0 per hour"
    responses.append(client.post(path_of(card), data=FORM))
    assert {r.status_code for r in responses} == {200, 410, 404, 422, 429}
    for response in responses:
        parser = Links()
        parser.feed(response.get_data(as_text=True))
        assert parser.found, response.status_code
        for tag, name, value in parser.found:
            assert value.startswith(("/r/", "/static/")), (response.status_code, tag, name, value)
        assert "session-timeout" not in response.get_data(as_text=True)


@given(fields=st.fixed_dictionaries({}, optional={
    name: st.text(max_size=200) for name in ("name", "mobile", "interest", "preferred_time", "consent",
                                               "consent_version", "website")}))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_public_form_never_answers_500(app, world, fields):
    card = db.session.execute(sa.select(QrCard)).scalars().first() or qr_cards.issue_card(world.manager1,
                                                                                         world.outlets[0])
    db.session.commit()
    app.config["CRM_QR_LIMIT_PER_ADDRESS"] = app.config["CRM_QR_LIMIT_PER_CARD"] = "100000 per hour"
    response = app.test_client().post(path_of(card), data=fields)
    assert response.status_code in (303, 422), response.status_code
