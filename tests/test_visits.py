"""Visit logs: two taps from the file, last contact updated, one record per submission."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from crm.extensions import db
from crm.models import Client, VisitLog
from tests.factories import make_client

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def prospect(world):
    client = make_client(world.manager1, name="张三")
    db.session.commit()
    return client


def local(dt: datetime) -> str:
    return dt.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def visit_data(**changes):
    when = datetime.now(timezone.utc) - timedelta(hours=1)
    data = {"occurred_at": local(when), "channel": "outlet", "summary": "网点大堂交流",
            "outcome": "interested", "next_step": "下周电话", "token": "v1"}
    data.update(changes)
    return data


def test_visit_form_defaults_to_now_in_shanghai(login, prospect):
    page = login("manager1").get(f"/clients/{prospect.id}/visits/new").get_data(as_text=True)
    assert datetime.now(SHANGHAI).strftime("%Y-%m-%dT") in page


def test_logging_a_visit_updates_last_contact_and_moves_a_prospect_to_contacted(login, prospect):
    data = visit_data()
    response = login("manager1").post(f"/clients/{prospect.id}/visits/new", data=data)
    assert response.status_code == 303
    db.session.expire_all()
    client = db.session.get(Client, prospect.id)
    visit = db.session.query(VisitLog).one()
    assert visit.occurred_at.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M") == data["occurred_at"]
    assert client.last_contact_at == visit.occurred_at
    assert client.stage == "contacted"


def test_an_unreachable_attempt_keeps_the_prospect_stage(login, prospect):
    login("manager1").post(f"/clients/{prospect.id}/visits/new", data=visit_data(outcome="unreachable"))
    db.session.expire_all()
    assert db.session.get(Client, prospect.id).stage == "prospect"


def test_an_older_visit_does_not_move_last_contact_back(login, prospect):
    c = login("manager1")
    c.post(f"/clients/{prospect.id}/visits/new", data=visit_data(token="a"))
    db.session.expire_all()
    latest = db.session.get(Client, prospect.id).last_contact_at
    old = local(datetime.now(timezone.utc) - timedelta(days=30))
    c.post(f"/clients/{prospect.id}/visits/new", data=visit_data(token="b", occurred_at=old))
    db.session.expire_all()
    assert db.session.get(Client, prospect.id).last_contact_at == latest


def test_a_retried_submission_logs_one_visit(login, prospect):
    c = login("manager1")
    first = c.post(f"/clients/{prospect.id}/visits/new", data=visit_data())
    second = c.post(f"/clients/{prospect.id}/visits/new", data=visit_data())
    assert first.status_code == second.status_code == 303
    assert db.session.query(VisitLog).count() == 1


@pytest.mark.parametrize("changes", [
    {"summary": ""},
    {"occurred_at": "not a date"},
    {"occurred_at": local(datetime.now(timezone.utc) + timedelta(days=2))},
    {"occurred_at": "1900-01-01T10:00"},
    {"channel": "telepathy"},
    {"outcome": "maybe"},
    {"next_contact_on": "2020-01-01"},
    {"next_contact_on": "31/12/2026"},
    {"next_step": "长" * 201},
])
def test_bad_visit_input_re_renders_with_errors_and_saves_nothing(login, prospect, changes):
    response = login("manager1").post(f"/clients/{prospect.id}/visits/new", data=visit_data(**changes))
    assert response.status_code == 422
    assert 'class="field-error"' in response.get_data(as_text=True)
    assert db.session.query(VisitLog).count() == 0


def test_a_visit_can_be_read_back(login, prospect):
    login("manager1").post(f"/clients/{prospect.id}/visits/new", data=visit_data())
    visit = db.session.query(VisitLog).one()
    page = login("manager1").get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "网点大堂交流" in page and "下周电话" in page
