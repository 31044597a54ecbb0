"""Ids too large for 64 bits, non-ASCII digits and out-of-range dates in URLs, queries and forms: never a 500."""
from __future__ import annotations

import pytest

from crm.domain.formats import MAX_ID, parse_id
from crm.extensions import db
from tests.factories import make_client

HUGE = "9" * 25


@pytest.mark.parametrize("text, expected", [
    ("1", 1), ("42", 42), (" 7 ", 7), (str(MAX_ID), MAX_ID),
    (str(MAX_ID + 1), None), (HUGE, None), ("0", None), ("-1", None), ("²", None), ("١٢", None),
    ("1e3", None), ("", None), (None, None), ("12a", None),
])
def test_parse_id_accepts_only_ascii_digits_of_a_64_bit_id(text, expected):
    assert parse_id(text) == expected


@pytest.mark.parametrize("user, url", [
    ("manager1", f"/clients/{HUGE}"),
    ("manager1", f"/followups/{HUGE}"),
    ("manager1", f"/clients/{HUGE}/visits/new"),
    ("manager1", "/clients/{client}/visits/new?followup=" + HUGE),
    ("manager1", "/clients/{client}/visits/new?followup=²"),
    ("manager1", "/complaints/new?client=" + HUGE),
    ("manager1", "/complaints/new?client=²"),
    ("manager1", "/clients/{client}/recommendations/new?visit=" + HUGE),
    ("lead", "/team?assignee=" + HUGE),
    ("lead", "/team?assignee=²&page=²"),
    ("lead", "/team?page=" + HUGE),
    ("lead", "/plans?owner=" + HUGE),
    ("admin", "/admin/audit?user=" + HUGE),
    ("admin", "/admin/audit?client=²&before=" + HUGE),
    ("admin", "/admin/audit?until=9999-12-31"),
    ("admin", "/admin/audit?since=0001-01-01&format=csv"),
    ("admin", "/admin/outbox?before=" + HUGE),
    ("admin", "/compliance/recommendations?until=9999-12-31&since=0001-01-01"),
    ("admin", "/compliance/recommendations?product=" + HUGE),
])
def test_bad_ids_and_dates_never_answer_a_server_error(login, world, user, url):
    client = make_client(world.manager1, name="张三")
    db.session.commit()
    response = login(user).get(url.format(client=client.id))
    assert response.status_code in (200, 404), (url, response.status_code)


def test_a_bad_date_in_the_audit_filter_is_explained_not_dropped_silently(login, world):
    page = login("admin").get("/admin/audit?until=9999-12-31").get_data(as_text=True)
    assert "YYYY-MM-DD" in page or "2026-12-01" in page


def test_handing_over_huge_or_non_ascii_ids_changes_nothing(login, world):
    response = login("lead").post("/team", data={"followup_ids": [HUGE, "²"],
                                                 "assignee_id": str(world.manager2.id)})
    assert response.status_code in (200, 303, 422)
