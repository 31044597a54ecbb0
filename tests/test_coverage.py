"""Outlet coverage (驻点排班): patterns, exceptions, the week with its gaps, check-in and check-out, the
pages, who may change whose coverage, and the capture form defaulting to the checked-in outlet."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.domain.clock import SHANGHAI
from crm.domain.refusals import NotAllowed, NotFound, RuleError
from crm.extensions import db
from crm.models import AuditEvent, CheckIn, CoverageException, CoveragePattern, utcnow
from crm.services import complaints, coverage

MON = date(2026, 3, 2)  # a week without holidays
NATIONAL_DAY_WEEK = date(2026, 9, 28)  # Thursday 1 October is a holiday
MORNING = datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)  # 09:30 in Shanghai, Monday


def _weekdays_pattern(actor, member, outlet, starts_on=date(2026, 1, 5), ends_on=None):
    return coverage.add_pattern(actor, member, outlet, [0, 1, 2, 3, 4], starts_on, ends_on)


def _actions() -> list[str]:
    return list(db.session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.id)).scalars())


# ------------------------------------------------------------------ patterns, exceptions, the week

def test_a_lead_plans_the_team_and_the_week_shows_who_is_where_and_the_gaps(world):
    a, b, c = world.outlets
    _weekdays_pattern(world.lead, world.manager1, a)
    coverage.add_pattern(world.lead, world.manager2, b, [0, 1, 2], date(2026, 1, 5), None)
    db.session.commit()
    week = coverage.week(world.lead, MON)
    rows = {row.outlet.id: row for row in week.outlets}
    assert set(rows) == {a.id, b.id}  # the team's outlets: where its people are based or planned
    assert [cell.planned for cell in rows[a.id].cells[:5]] == [[world.manager1]] * 5
    assert [(d, o.id) for d, o in week.gaps] == [(MON + timedelta(days=3), b.id), (MON + timedelta(days=4), b.id)]
    assert rows[b.id].gap_count == 2
    assert not any(cell.gap for cell in rows[a.id].cells[5:])  # the weekend is no gap
    assert _actions().count("coverage.pattern_add") == 2


def test_exceptions_override_the_pattern_and_a_swap_moves_the_gap(world):
    a, b, _ = world.outlets
    _weekdays_pattern(world.lead, world.manager1, a)
    _weekdays_pattern(world.lead, world.manager2, b)
    coverage.add_exception(world.lead, world.manager1, MON, "leave", None, "年假")
    coverage.add_exception(world.lead, world.manager2, MON + timedelta(days=1), "elsewhere", a, "顶班")
    db.session.commit()
    week = coverage.week(world.lead, MON)
    assert [(d, o.id) for d, o in week.gaps] == [(MON, a.id), (MON + timedelta(days=1), b.id)]
    rows = {row.outlet.id: row for row in week.outlets}
    assert rows[a.id].cells[1].planned == [world.manager1, world.manager2]
    mine = coverage.my_week(world.manager1, MON, on=MON)
    assert mine.today.outlets == [] and mine.today.exception.kind == "leave"
    assert coverage.my_week(world.manager2, MON).days[1].outlets == [a]


def test_an_outlet_shown_only_for_a_swap_is_no_gap_of_the_team(world):
    a, b, c = world.outlets
    _weekdays_pattern(world.lead, world.manager1, a)
    _weekdays_pattern(world.lead, world.manager2, b)
    coverage.add_exception(world.lead, world.manager2, MON, "elsewhere", c, "顶班")
    db.session.commit()
    week = coverage.week(world.lead, MON)
    rows = {row.outlet.id: row for row in week.outlets}
    assert rows[c.id].cells[0].planned == [world.manager2] and rows[c.id].gap_count == 0
    assert [(d, o.id) for d, o in week.gaps] == [(MON, b.id)]
    # An admin looking at every team counts every active outlet.
    assert {o.id for d, o in coverage.week(world.admin, MON).gaps if d == MON + timedelta(days=1)} == {c.id}


def test_a_holiday_in_the_week_is_no_gap_and_an_override_counts(world):
    a = world.outlets[0]
    _weekdays_pattern(world.lead, world.manager1, a)
    db.session.commit()
    week = coverage.week(world.lead, NATIONAL_DAY_WEEK)
    assert [d for d, o in week.gaps if o.id == a.id] == []
    # 赵经理's home outlet has nobody: a gap on the working days only (Monday to Wednesday).
    assert [d.day for d, o in week.gaps] == [28, 29, 30]
    holiday = {row.outlet.id: row for row in week.outlets}[a.id].cells[3]
    assert holiday.day == date(2026, 10, 1) and not holiday.working and holiday.planned == []
    # The admin marks a Saturday of the week as a working day: with nobody planned, it is a gap.
    complaints.add_override(world.admin, MON + timedelta(days=5), True, "调休")
    db.session.commit()
    assert [d for d, o in coverage.week(world.lead, MON).gaps if o.id == a.id] == [MON + timedelta(days=5)]


def test_a_pattern_ending_and_the_overlap_refusal(world):
    a, b, _ = world.outlets
    pattern = _weekdays_pattern(world.lead, world.manager1, a)
    with pytest.raises(RuleError) as refused:
        coverage.add_pattern(world.lead, world.manager1, b, [0], MON, None)
    assert (refused.value.code, refused.value.field) == ("coverage.pattern_overlaps", "weekdays")
    coverage.end_pattern(world.lead, pattern, MON - timedelta(days=1))
    coverage.add_pattern(world.lead, world.manager1, b, [0], MON, None)  # no overlap any more
    with pytest.raises(RuleError) as refused:
        coverage.end_pattern(world.lead, pattern, MON)
    assert refused.value.code == "coverage.pattern_ended"
    db.session.commit()
    assert {row.outlet.id for row in coverage.week(world.lead, MON).outlets if row.cells[0].planned} == {b.id}


def test_the_pattern_rules_refuse_each_field(world):
    with pytest.raises(RuleError) as refused:
        coverage.add_pattern(world.lead, world.manager1, None, [], MON, MON - timedelta(days=1))
    assert refused.value.fields() == {"weekdays": "coverage.weekday_required", "ends_on": "coverage.ends_before_starts",
                                      "outlet_id": "coverage.outlet_inactive"}
    with pytest.raises(RuleError) as refused:
        coverage.add_exception(world.lead, world.manager1, MON, "elsewhere", None)
    assert refused.value.fields() == {"outlet_id": "coverage.outlet_required"}
    coverage.add_exception(world.lead, world.manager1, MON, "leave", None)
    with pytest.raises(RuleError) as refused:
        coverage.add_exception(world.manager1, world.manager1, MON, "leave", None)
    assert refused.value.fields() == {"day": "coverage.exception_exists"}


def test_who_may_change_whose_coverage(world):
    a = world.outlets[0]
    with pytest.raises(NotFound):  # another team's member
        coverage.add_pattern(world.lead, world.other_manager, a, [0], MON, None)
    with pytest.raises(NotAllowed):  # a manager never plans patterns, not even their own
        coverage.add_pattern(world.manager1, world.manager1, a, [0], MON, None)
    with pytest.raises(NotFound):  # nor records a colleague's leave
        coverage.add_exception(world.manager1, world.manager2, MON, "leave", None)
    own = coverage.add_exception(world.manager1, world.manager1, MON, "leave", None, "病假")  # their own: yes
    coverage.add_pattern(world.admin, world.other_manager, a, [0], MON, None)  # an admin: anyone
    coverage.remove_exception(world.manager1, own)
    assert _actions() == ["coverage.exception_add", "coverage.pattern_add", "coverage.exception_remove"]


# ------------------------------------------------------------------ check-in

def test_check_in_with_consent_keeps_a_coarse_location(world):
    row = coverage.check_in(world.manager1, world.outlets[0], MORNING, True, "39.90876", "116.39749")
    db.session.commit()
    row = db.session.get(CheckIn, row.id)
    assert (row.location_consent, row.latitude, row.longitude) == (True, Decimal("39.91"), Decimal("116.40"))
    assert row.day == MON and row.checked_in_at.replace(tzinfo=timezone.utc) == MORNING


def test_check_in_without_consent_stores_no_coordinates(world):
    row = coverage.check_in(world.manager1, world.outlets[0], MORNING, False, "39.90876", "116.39749")
    db.session.commit()
    stored = db.session.execute(sa.select(CheckIn.location_consent, CheckIn.latitude, CheckIn.longitude)
                                .where(CheckIn.id == row.id)).one()
    assert tuple(stored) == (False, None, None)


def test_a_consented_but_unreadable_location_is_refused_on_the_box(world):
    with pytest.raises(RuleError) as refused:
        coverage.check_in(world.manager1, world.outlets[0], MORNING, True, "999", "0")
    assert refused.value.fields() == {"share_location": "coverage.location_invalid"}


def test_check_in_is_idempotent_and_check_out_closes_it(world):
    first = coverage.check_in(world.manager1, world.outlets[0], MORNING, False)
    again = coverage.check_in(world.manager1, world.outlets[0], MORNING + timedelta(minutes=1), False)
    assert again.id == first.id and again.checked_in_at == MORNING
    assert db.session.execute(sa.select(sa.func.count()).select_from(CheckIn)).scalar_one() == 1
    assert coverage.checked_in_outlet_id(world.manager1, MON) == world.outlets[0].id
    closed = coverage.check_out(world.manager1, MORNING + timedelta(hours=8))
    assert closed.id == first.id and closed.checked_out_at == MORNING + timedelta(hours=8)
    assert coverage.checked_in_outlet_id(world.manager1, MON) is None
    with pytest.raises(RuleError) as refused:
        coverage.check_out(world.manager1, MORNING + timedelta(hours=9))
    assert refused.value.code == "coverage.not_checked_in"
    assert _actions() == ["coverage.check_in", "coverage.check_out"]


def test_the_day_of_a_check_in_is_the_shanghai_date(world):
    late_utc = datetime(2026, 3, 1, 17, 0, tzinfo=timezone.utc)  # 01:00 Monday in Shanghai
    assert coverage.check_in(world.manager1, world.outlets[0], late_utc, False).day == MON


def test_checking_in_elsewhere_checks_out_of_the_first_outlet(world):
    a, b, _ = world.outlets
    first = coverage.check_in(world.manager1, a, MORNING, False)
    second = coverage.check_in(world.manager1, b, MORNING + timedelta(hours=3), False)
    assert first.checked_out_at == MORNING + timedelta(hours=3) and second.checked_out_at is None
    assert coverage.checked_in_outlet_id(world.manager1, MON) == b.id


def test_the_week_shows_who_checked_in(world):
    a = world.outlets[0]
    _weekdays_pattern(world.lead, world.manager1, a)
    coverage.check_in(world.manager1, a, MORNING, False)
    db.session.commit()
    cell = {row.outlet.id: row for row in coverage.week(world.lead, MON).outlets}[a.id].cells[0]
    assert [c.user_id for c in cell.checked_in] == [world.manager1.id]
    assert coverage.my_week(world.manager1, MON, on=MON).today.check_ins[0].outlet_id == a.id


# ------------------------------------------------------------------ pages

def _today() -> date:
    return utcnow().astimezone(SHANGHAI).date()


def test_the_lead_s_week_page_highlights_a_gap_in_words(world, login):
    _weekdays_pattern(world.lead, world.manager1, world.outlets[0], ends_on=MON + timedelta(days=1))
    db.session.commit()
    page = login("lead").get(f"/coverage?week={MON.isoformat()}").get_data(as_text=True)
    assert page.count('<mark class="gap">') >= 3 and "工商银行 朝阳支行" in page
    assert "王经理" in page and f"week={(MON + timedelta(days=7)).isoformat()}" in page


def test_a_manager_sees_their_own_week_and_records_their_own_leave(world, login):
    _weekdays_pattern(world.lead, world.manager1, world.outlets[0])
    db.session.commit()
    c = login("manager1")
    page = c.get(f"/coverage?week={MON.isoformat()}").get_data(as_text=True)
    assert "工商银行 朝阳支行" in page and "coverage-week" not in page
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"token": token, "user_id": str(world.manager1.id), "day": MON.isoformat(), "kind": "leave", "note": ""}
    assert c.post("/coverage/exceptions", data=data).status_code == 303
    assert c.post("/coverage/exceptions", data=data).status_code == 303  # a double tap: one exception
    assert db.session.execute(sa.select(sa.func.count()).select_from(CoverageException)).scalar_one() == 1
    data["user_id"] = str(world.manager2.id)  # a colleague is no choice of theirs
    assert c.post("/coverage/exceptions", data={**data, "token": "x"}).status_code == 422


def test_the_pattern_form_saves_once_and_shows_field_errors(world, login):
    c = login("lead")
    page = c.get("/coverage/patterns").get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"token": token, "user_id": str(world.manager1.id), "outlet_id": str(world.outlets[0].id),
            "weekdays": ["0", "2"], "starts_on": MON.isoformat()}
    assert c.post("/coverage/patterns", data=data).status_code == 303
    assert c.post("/coverage/patterns", data=data).status_code == 303
    assert db.session.execute(sa.select(sa.func.count()).select_from(CoveragePattern)).scalar_one() == 2
    bad = c.post("/coverage/patterns", data={**data, "token": "t2", "ends_on": "2026-01-01"})
    assert bad.status_code == 422
    assert re.search(r'<p class="field-error" id="ends_on-error">[^<]+</p>', bad.get_data(as_text=True))
    overlap = c.post("/coverage/patterns", data={**data, "token": "t3"})
    assert overlap.status_code == 422


def test_a_lead_cannot_touch_another_team_s_pattern_or_exception(world, login):
    pattern = _weekdays_pattern(world.other_lead, world.other_manager, world.outlets[2])
    exception = coverage.add_exception(world.other_lead, world.other_manager, MON, "leave", None)
    db.session.commit()
    c = login("lead")
    assert c.post(f"/coverage/patterns/{pattern.id}/end").status_code == 404
    assert c.post(f"/coverage/exceptions/{exception.id}/remove").status_code == 404
    assert login("manager1").post(f"/coverage/patterns/{pattern.id}/end").status_code == 403
    pattern_form = c.post("/coverage/patterns", data={"token": "t", "user_id": str(world.other_manager.id),
                                                      "outlet_id": str(world.outlets[0].id), "weekdays": ["0"],
                                                      "starts_on": MON.isoformat()})
    assert pattern_form.status_code == 422  # not among the lead's choices
    assert db.session.get(CoveragePattern, pattern.id).ends_on is None


def test_check_in_page_defaults_to_the_planned_outlet_and_a_double_tap_is_one_check_in(world, login):
    today = _today()
    coverage.add_pattern(world.lead, world.manager1, world.outlets[1], [today.weekday()], today, None)
    db.session.commit()
    c = login("manager1")
    page = c.get("/check-in").get_data(as_text=True)
    assert f'<option selected value="{world.outlets[1].id}">' in page
    assert re.search(r'<input id="share_location" name="share_location" type="checkbox" value="y">', page)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"token": token, "outlet_id": str(world.outlets[1].id), "latitude": "39.9", "longitude": "116.4"}
    assert c.post("/check-in", data=data).status_code == 303
    assert c.post("/check-in", data=data).status_code == 303
    rows = db.session.execute(sa.select(CheckIn)).scalars().all()
    assert len(rows) == 1 and rows[0].latitude is None  # box unticked: the coordinates are dropped
    assert "39.9" not in c.get("/check-in").get_data(as_text=True)
    assert c.post("/check-out").status_code == 303
    db.session.expire_all()
    assert db.session.get(CheckIn, rows[0].id).checked_out_at is not None


def test_capture_after_check_in_preselects_that_outlet(world, login):
    c = login("manager1")  # based at outlets[0]
    assert f'<option selected value="{world.outlets[0].id}">' in c.get("/clients/new").get_data(as_text=True)
    coverage.check_in(world.manager1, world.outlets[2], utcnow(), False)
    db.session.commit()
    page = c.get("/clients/new").get_data(as_text=True)
    assert f'<option selected value="{world.outlets[2].id}">' in page
    assert f'<option selected value="{world.outlets[0].id}">' not in page


def test_the_partials_for_today_and_team_render(world, app):
    from flask import render_template

    a = world.outlets[0]
    _weekdays_pattern(world.lead, world.manager1, a)
    row = coverage.check_in(world.manager1, a, utcnow(), False)
    db.session.commit()
    with app.test_request_context("/today"):
        from flask_login import login_user
        login_user(world.manager1)
        today = _today()
        html = render_template("coverage/_today.html", my_week=coverage.my_week(world.manager1, today), check_in=row)
        assert "/check-out" in html and "工商银行 朝阳支行" in html
        team = render_template("coverage/_team.html", team_week=coverage.week(world.lead, today))
        assert "/coverage?week=" in team


# ------------------------------------------------------------------ fuzz: no 500

TEXTS = st.one_of(st.text(max_size=40), st.sampled_from(["", "0", "-1", "99999999999999999999", "2026-02-30",
                                                         "0202-01-01", "NaN", "1e400", "\x00", "<b>"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.fixed_dictionaries({"user_id": TEXTS, "outlet_id": TEXTS, "weekdays": TEXTS, "starts_on": TEXTS,
                              "ends_on": TEXTS, "day": TEXTS, "kind": TEXTS, "note": TEXTS, "latitude": TEXTS,
                              "longitude": TEXTS, "share_location": TEXTS, "token": TEXTS, "last_day": TEXTS}))
def test_the_coverage_forms_never_answer_500(world, login, data):
    c = login("lead")
    for url in ("/coverage/patterns", "/coverage/exceptions", "/check-in", "/check-out"):
        response = c.post(url, data=data)
        assert response.status_code < 500, (url, data)
    assert c.get("/coverage", query_string={"week": data["day"], "team": data["user_id"]}).status_code == 200
