"""Tap to call is a POST with the form check: a GET or a link from another site never writes the audit row."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import AuditEvent
from tests.factories import PASSWORD, make_client

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def app_config(app_config):
    """Real CSRF protection, as in production."""
    return {**app_config, "WTF_CSRF_ENABLED": True}


@pytest.fixture
def zhang(world):
    client = make_client(world.manager1, name="张三", mobile="13812341234")
    db.session.commit()
    return client


def calls() -> list[tuple[int, int]]:
    db.session.expire_all()
    return db.session.execute(sa.select(AuditEvent.actor_id, AuditEvent.object_id)
                              .where(AuditEvent.action == "reveal.mobile.call")).all()


def signed_in(app, username: str):
    c = app.test_client()
    token = CSRF.search(c.get("/login").get_data(as_text=True)).group(1)
    response = c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)
    return c


def call_form_token(c, client_id: int) -> str:
    """The CSRF token inside the Call form of the client file."""
    page = c.get(f"/clients/{client_id}").get_data(as_text=True)
    form = re.search(rf'<form method="post" action="/clients/{client_id}/call"[^>]*>(.*?)</form>', page, re.S)
    assert form, "the client file has a Call form"
    return CSRF.search(form.group(1)).group(1)


def test_a_get_is_refused_and_writes_nothing(app, zhang):
    c = signed_in(app, "manager1")
    response = c.get(f"/clients/{zhang.id}/call")
    assert response.status_code == 405
    assert "tel:" not in response.headers.get("Location", "")
    assert calls() == []


def test_a_post_without_the_form_token_is_refused(app, zhang):
    c = signed_in(app, "manager1")
    response = c.post(f"/clients/{zhang.id}/call")
    assert response.status_code == 400
    assert calls() == []


def test_the_owner_calls_and_the_call_is_logged(app, zhang, world):
    c = signed_in(app, "manager1")
    response = c.post(f"/clients/{zhang.id}/call", data={"csrf_token": call_form_token(c, zhang.id)})
    assert response.status_code == 303
    assert response.headers["Location"] == "tel:+8613812341234"
    assert calls() == [(world.manager1.id, zhang.id)]


def test_another_manager_gets_404_and_nothing_is_logged(app, zhang):
    c = signed_in(app, "othermanager")
    token = CSRF.search(c.get("/clients/new").get_data(as_text=True)).group(1)
    response = c.post(f"/clients/{zhang.id}/call", data={"csrf_token": token})
    assert response.status_code == 404
    assert "13812341234" not in response.get_data(as_text=True)
    assert calls() == []


def test_the_client_file_has_a_call_button_in_a_form_not_a_link(app, zhang):
    c = signed_in(app, "manager1")
    page = c.get(f"/clients/{zhang.id}").get_data(as_text=True)
    assert f'href="/clients/{zhang.id}/call"' not in page
    form = re.search(rf'<form method="post" action="/clients/{zhang.id}/call"([^>]*)>(.*?)</form>', page, re.S)
    assert form and 'hx-boost="false"' in form.group(1) and "style=" not in form.group(0)
    assert '<button class="button small" type="submit">' in form.group(2)
