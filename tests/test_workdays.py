"""Working days on the Shanghai calendar: weekends, holidays, make-up days (调休), unknown years, overrides."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import sqlalchemy as sa

from crm.domain.workdays import (
    add_working_days,
    end_of_day,
    is_working_day,
    known_years,
    statutory_days_off,
    statutory_holidays,
    working_days_between,
    years_without_notice,
)
from crm.extensions import db

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("day", "working", "why"), [
    (date(2025, 11, 24), True, "an ordinary Monday"),
    (date(2025, 11, 29), False, "a Saturday"),
    (date(2025, 11, 30), False, "a Sunday"),
    (date(2025, 1, 26), True, "Sunday made a working day before Spring Festival 2025"),
    (date(2025, 1, 28), False, "Spring Festival 2025 eve (Tuesday)"),
    (date(2025, 2, 4), False, "last day of Spring Festival 2025 (Tuesday)"),
    (date(2025, 2, 5), True, "first working day after Spring Festival 2025"),
    (date(2025, 2, 8), True, "Saturday made a working day after Spring Festival 2025"),
    (date(2025, 9, 28), True, "Sunday made a working day before National Day 2025"),
    (date(2025, 10, 1), False, "National Day 2025"),
    (date(2025, 10, 8), False, "last day of the National Day 2025 holiday (Wednesday)"),
    (date(2025, 10, 9), True, "first working day after National Day 2025"),
    (date(2025, 10, 11), True, "Saturday made a working day after National Day 2025"),
    (date(2026, 2, 14), True, "Saturday made a working day before Spring Festival 2026"),
    (date(2026, 2, 16), False, "Spring Festival 2026 eve (Monday)"),
    (date(2026, 2, 23), False, "last day of Spring Festival 2026 (Monday)"),
    (date(2026, 2, 24), True, "first working day after Spring Festival 2026"),
    (date(2026, 2, 28), True, "Saturday made a working day after Spring Festival 2026"),
    (date(2025, 12, 31), True, "New Year's Eve 2025 (Wednesday)"),
    (date(2026, 1, 1), False, "New Year's Day 2026"),
    (date(2026, 1, 2), False, "New Year holiday 2026 (Friday)"),
    (date(2026, 1, 4), True, "Sunday made a working day after New Year 2026"),
    (date(2035, 1, 8), True, "a year the calendar does not know: an ordinary Monday is a working day"),
    (date(2035, 1, 6), False, "a year the calendar does not know: Saturday is off"),
    (date(2035, 1, 1), False, "a year the calendar does not know: New Year's Day is still a holiday"),
])
def test_is_working_day_follows_the_chinese_calendar(day, working, why):
    assert is_working_day(day) is working, why


@pytest.mark.parametrize(("day", "override", "expected"), [
    (date(2025, 11, 24), False, False),   # an extra holiday on a Monday
    (date(2025, 11, 29), True, True),     # a Saturday worked
    (date(2025, 10, 1), True, True),      # even a public holiday, if the admin says so
    (date(2035, 1, 8), False, False),     # a bridging day in a year the package does not cover
    (date(2035, 1, 6), True, True),       # a make-up Saturday in a year the package does not cover
])
def test_overrides_win_over_the_calendar(day, override, expected):
    assert is_working_day(day, {day: override}) is expected
    assert is_working_day(day, {date(2000, 1, 1): True}) is not expected


def _at(y, m, d, hh=10, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


@pytest.mark.parametrize(("start", "n", "due_day"), [
    (_at(2025, 11, 24), 1, date(2025, 11, 25)),   # Monday + 1 → Tuesday
    (_at(2025, 11, 28), 1, date(2025, 12, 1)),    # Friday + 1 → Monday
    (_at(2025, 11, 29), 1, date(2025, 12, 1)),    # Saturday + 1 → Monday
    (_at(2025, 11, 24), 0, date(2025, 11, 24)),   # n = 0: end of the same day
    (_at(2025, 11, 24), 15, date(2025, 12, 15)),  # three weeks of weekdays
    (_at(2025, 1, 27), 1, date(2025, 2, 5)),      # across Spring Festival 2025
    (_at(2025, 2, 7), 1, date(2025, 2, 8)),       # Friday + 1 → the make-up Saturday
    (_at(2025, 9, 26), 1, date(2025, 9, 28)),     # Friday + 1 → the make-up Sunday
    (_at(2025, 9, 30), 1, date(2025, 10, 9)),     # across National Day 2025
    (_at(2025, 9, 30), 3, date(2025, 10, 11)),    # 9th, 10th, make-up Saturday 11th
    (_at(2026, 2, 13), 1, date(2026, 2, 14)),     # Friday + 1 → make-up Saturday before Spring Festival 2026
    (_at(2026, 2, 14), 1, date(2026, 2, 24)),     # across Spring Festival 2026
    (_at(2025, 12, 31), 1, date(2026, 1, 4)),     # across the year end and New Year 2026
    (_at(2034, 12, 29), 1, date(2035, 1, 2)),     # Friday + 1 in an unknown year: not Monday 元旦, Tuesday
])
def test_add_working_days_ends_at_the_end_of_the_nth_working_day(start, n, due_day):
    due = add_working_days(start, n)
    assert due == end_of_day(due_day)
    assert due.tzinfo is not None
    assert due.astimezone(SHANGHAI).time().isoformat() == "23:59:59.999999"


def test_add_working_days_counts_from_the_shanghai_date_of_a_utc_start():
    # 2025-11-24 17:00 UTC is Tuesday 01:00 in Shanghai: one working day later is Wednesday.
    due = add_working_days(datetime(2025, 11, 24, 17, 0, tzinfo=timezone.utc), 1)
    assert due == end_of_day(date(2025, 11, 26))


def test_add_working_days_honours_overrides():
    start = _at(2025, 11, 24)
    assert add_working_days(start, 1, {date(2025, 11, 25): False}) == end_of_day(date(2025, 11, 26))
    assert add_working_days(_at(2025, 11, 28), 1, {date(2025, 11, 29): True}) == end_of_day(date(2025, 11, 29))
    # A year the package does not know: the admin adds a bridging day after New Year's Day.
    assert add_working_days(_at(2034, 12, 29), 1, {date(2035, 1, 2): False}) == end_of_day(date(2035, 1, 3))


def test_add_working_days_refuses_naive_datetimes_and_negative_counts():
    with pytest.raises(ValueError):
        add_working_days(datetime(2025, 11, 24, 10), 1)
    with pytest.raises(ValueError):
        add_working_days(_at(2025, 11, 24), -1)


@pytest.mark.parametrize(("a", "b", "expected"), [
    (_at(2025, 11, 24), _at(2025, 11, 24, 18), 0),
    (_at(2025, 11, 24), _at(2025, 11, 25), 1),
    (_at(2025, 11, 28), _at(2025, 12, 1), 1),      # over a weekend
    (_at(2025, 9, 30), _at(2025, 10, 9), 1),       # over National Day 2025
    (_at(2025, 9, 30), _at(2025, 10, 11), 3),
    (_at(2026, 2, 13), _at(2026, 2, 24), 2),       # make-up Saturday 14th, then the 24th
    (_at(2025, 11, 25), _at(2025, 11, 24), -1),    # negative when b is before a
])
def test_working_days_between_counts_working_days_after_a_up_to_b(a, b, expected):
    assert working_days_between(a, b) == expected


def test_working_days_between_is_the_inverse_of_add_working_days():
    start = _at(2025, 9, 25)
    for n in range(0, 20):
        assert working_days_between(start, add_working_days(start, n)) == n


# ------------------------------------------------------------------ years the package does not know

def test_the_package_knows_2004_to_2026_so_2027_needs_the_statutory_rules():
    # If a new chinesecalendar release adds 2027, the cases below still hold for its statutory days.
    assert known_years()[0] == 2004
    assert 2026 in known_years()


def test_a_complaint_registered_on_new_years_eve_2026_is_not_due_on_new_years_day_2027():
    # Thursday 17:00; Friday 2027-01-01 is 元旦, Saturday and Sunday are off: due at the end of Monday.
    due = add_working_days(_at(2026, 12, 31, 17, 0), 1)
    assert due == end_of_day(date(2027, 1, 4))
    assert not is_working_day(date(2027, 1, 1))


@pytest.mark.parametrize(("day", "working", "why"), [
    (date(2027, 2, 4), True, "Thursday before Spring Festival 2027"),
    (date(2027, 2, 5), False, "除夕 2027 (Friday)"),
    (date(2027, 2, 8), False, "初三 2027 (Monday)"),
    (date(2027, 2, 9), False, "初一 2027 fell on Saturday: given back on Tuesday"),
    (date(2027, 2, 10), False, "初二 2027 fell on Sunday: given back on Wednesday"),
    (date(2027, 2, 11), True, "Thursday after Spring Festival 2027 (no notice entered)"),
    (date(2027, 4, 5), False, "清明 2027 (Monday)"),
    (date(2027, 5, 3), False, "劳动节 2027 fell on the weekend: given back on Monday"),
    (date(2027, 5, 4), False, "劳动节 2027 fell on the weekend: given back on Tuesday"),
    (date(2027, 6, 9), False, "端午 2027 (Wednesday)"),
    (date(2027, 9, 15), False, "中秋 2027 (Wednesday)"),
    (date(2027, 10, 1), False, "国庆 2027 (Friday)"),
    (date(2027, 10, 4), False, "国庆 2027: 2 and 3 October fell on the weekend"),
    (date(2027, 10, 5), False, "国庆 2027: given back on Tuesday"),
    (date(2027, 10, 6), True, "Wednesday after National Day 2027 (no notice entered)"),
    (date(2028, 1, 3), False, "元旦 2028 fell on Saturday: given back on Monday"),
    (date(2028, 1, 25), False, "除夕 2028 (Tuesday)"),
    (date(2028, 1, 28), False, "初三 2028 (Friday)"),
    (date(2028, 1, 31), True, "Monday after Spring Festival 2028"),
    (date(2028, 10, 4), False, "国庆 2028: 1 October fell on Sunday"),
    (date(2028, 10, 5), False, "国庆 2028: 中秋 on 3 October, the same day as 国庆: one more day"),
    (date(2028, 10, 6), True, "Friday after National Day 2028"),
    (date(2029, 2, 12), False, "除夕 2029 (Monday)"),
    (date(2029, 2, 15), False, "初三 2029 (Thursday)"),
    (date(2029, 2, 16), True, "Friday after Spring Festival 2029 (a bridging day only if the notice says so)"),
    (date(2030, 2, 2), False, "除夕 2030 (Saturday)"),
    (date(2030, 2, 7), False, "Spring Festival 2030: 除夕 and 初一 fell on the weekend, given back Wednesday, Thursday"),
    (date(2030, 2, 8), True, "Friday after Spring Festival 2030"),
    (date(2030, 10, 3), False, "国庆 2030 (Thursday)"),
    (date(2030, 10, 4), True, "Friday after National Day 2030 (a bridging day only if the notice says so)"),
])
def test_unknown_years_keep_the_statutory_holidays(day, working, why):
    assert day.year not in known_years()
    assert is_working_day(day) is working, why


def test_beyond_the_lunar_calendar_only_weekends_are_off():
    # An extension to a far date must not break the countdown: weekends only after 2099.
    assert is_working_day(date(2100, 1, 1)) is (date(2100, 1, 1).weekday() < 5)
    assert working_days_between(_at(2099, 12, 31), _at(2100, 1, 8)) == 6  # Fri 1st, Mon 4th to Fri 8th


@pytest.mark.parametrize(("start", "n", "due_day"), [
    (_at(2027, 2, 4), 1, date(2027, 2, 11)),     # across Spring Festival 2027
    (_at(2027, 1, 22), 15, date(2027, 2, 18)),   # 15 working days over Spring Festival 2027
    (_at(2027, 9, 30), 1, date(2027, 10, 6)),    # across National Day 2027
    (_at(2028, 9, 29), 1, date(2028, 10, 6)),    # National Day and Mid-Autumn 2028 together
    (_at(2029, 2, 9), 1, date(2029, 2, 16)),     # across Spring Festival 2029
    (_at(2030, 9, 30), 3, date(2030, 10, 8)),    # 国庆 2030: Friday 4th, Monday 7th, Tuesday 8th
])
def test_add_working_days_skips_the_statutory_holidays_of_unknown_years(start, n, due_day):
    assert add_working_days(start, n) == end_of_day(due_day)


def test_the_notice_entered_as_overrides_wins_over_the_statutory_rules():
    # A notice for 2027 might make Sunday 7 Feb a working day and Thursday 11 Feb a bridging day.
    notice = {date(2027, 2, 7): True, date(2027, 2, 11): False, date(2027, 2, 12): False}
    assert is_working_day(date(2027, 2, 7), notice)
    assert add_working_days(_at(2027, 2, 4), 1, notice) == end_of_day(date(2027, 2, 7))
    assert add_working_days(_at(2027, 2, 7), 1, notice) == end_of_day(date(2027, 2, 15))


@pytest.mark.parametrize("year", range(2004, 2027))
def test_the_statutory_holidays_are_holidays_in_every_year_the_package_knows(year):
    # The rules of each year's version of the 办法, checked against the official calendars.
    for festival, days in statutory_holidays(year).items():
        for day in days:
            assert not chinese_calendar.is_workday(day), (festival, day)


# 补假 the notices did not give as "the next weekday": 2012 gave the 端午 Saturday back the Friday
# before; 2015 did not give the 中秋 Sunday back at all.
NOTICE_EXCEPTIONS = {date(2012, 6, 25), date(2015, 9, 28)}


@pytest.mark.parametrize("year", range(2004, 2027))
def test_weekend_holidays_given_back_on_the_next_weekday_match_the_package(year):
    for day in statutory_days_off(year) - NOTICE_EXCEPTIONS:
        assert not chinese_calendar.is_workday(day), day


@pytest.mark.parametrize(("year", "eve", "first", "dragon_boat", "mid_autumn", "qingming"), [
    (2025, date(2025, 1, 28), date(2025, 1, 29), date(2025, 5, 31), date(2025, 10, 6), date(2025, 4, 4)),
    (2026, date(2026, 2, 16), date(2026, 2, 17), date(2026, 6, 19), date(2026, 9, 25), date(2026, 4, 5)),
    (2027, date(2027, 2, 5), date(2027, 2, 6), date(2027, 6, 9), date(2027, 9, 15), date(2027, 4, 5)),
    (2028, date(2028, 1, 25), date(2028, 1, 26), date(2028, 5, 28), date(2028, 10, 3), date(2028, 4, 4)),
    (2029, date(2029, 2, 12), date(2029, 2, 13), date(2029, 6, 16), date(2029, 9, 22), date(2029, 4, 4)),
    (2030, date(2030, 2, 2), date(2030, 2, 3), date(2030, 6, 5), date(2030, 9, 12), date(2030, 4, 5)),
])
def test_statutory_holidays_from_2025(year, eve, first, dragon_boat, mid_autumn, qingming):
    h = statutory_holidays(year)
    assert h["new_year"] == (date(year, 1, 1),)
    assert h["spring_festival"] == (eve, first, first + timedelta(days=1), first + timedelta(days=2))
    assert h["qingming"] == (qingming,)
    assert h["labour_day"] == (date(year, 5, 1), date(year, 5, 2))
    assert h["dragon_boat"] == (dragon_boat,)
    assert h["mid_autumn"] == (mid_autumn,)
    assert h["national_day"] == (date(year, 10, 1), date(year, 10, 2), date(year, 10, 3))


@pytest.mark.parametrize("year", range(2008, 2027))
def test_qingming_is_in_the_packages_tomb_sweeping_holiday(year):
    (qingming,) = statutory_holidays(year)["qingming"]
    assert chinese_calendar.get_holiday_detail(qingming) == (True, "Tomb-sweeping Day")


@pytest.mark.parametrize(("today", "overrides", "expected"), [
    (date(2026, 6, 1), {}, []),                                  # 2026 is known, 2027 is far
    (date(2026, 10, 2), {}, []),
    (date(2026, 10, 3), {}, [2027]),                             # 90 days before 2027
    (date(2026, 12, 1), {}, [2027]),
    (date(2026, 12, 1), {date(2027, 2, 7): True}, []),           # the notice is (being) entered
    (date(2026, 12, 1), {date(2026, 12, 24): False}, [2027]),    # an override in 2026 is not 2027's notice
    (date(2027, 3, 1), {}, [2027]),
    (date(2027, 11, 1), {date(2027, 2, 7): True}, [2028]),
])
def test_years_without_notice_are_the_unknown_years_ahead_without_overrides(today, overrides, expected):
    assert years_without_notice(today, overrides) == expected


# ------------------------------------------------------------------ the admin page and the log

def _clock(monkeypatch, moment: datetime) -> None:
    """The page and the calendar loader read this moment as now (the warning depends on the date)."""
    from crm.routes import complaints as complaint_routes
    from crm.services import complaints

    monkeypatch.setattr(complaint_routes, "utcnow", lambda: moment)
    monkeypatch.setattr(complaints, "utcnow", lambda: moment)
    monkeypatch.setattr(complaints, "_notices_logged", set())


def test_the_calendar_page_and_the_log_warn_that_next_years_notice_is_missing(login, world, monkeypatch, caplog):
    _clock(monkeypatch, datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc))
    c = login("admin")
    with caplog.at_level("WARNING", logger="crm.services.complaints"):
        page = c.get("/admin/workdays").get_data(as_text=True)
        c.get("/admin/workdays")
    assert 'id="notice-missing-2027"' in page
    assert "2027年国务院放假安排尚未录入：仅按法定节假日计算，调休请在此录入" in page
    warnings = [r.getMessage() for r in caplog.records if "holiday notice for 2027" in r.getMessage()]
    assert len(warnings) == 1, warnings  # once a day per process, not on every read of the calendar
    assert "statutory holidays only" in warnings[0]


def test_the_warning_goes_once_the_notice_is_entered(login, world, monkeypatch, caplog):
    _clock(monkeypatch, datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc))
    c = login("admin")
    assert c.post("/admin/workdays", data={"day": "2027-02-07", "is_working_day": "1",
                                           "note": "春节调休上班"}).status_code == 303
    monkeypatch.setattr("crm.services.complaints._notices_logged", set())
    with caplog.at_level("WARNING", logger="crm.services.complaints"):
        page = c.get("/admin/workdays").get_data(as_text=True)
    assert "notice-missing" not in page and "尚未录入" not in page
    assert not [r for r in caplog.records if "holiday notice" in r.getMessage()]


def test_no_warning_while_the_package_covers_the_year_ahead(login, world, monkeypatch, caplog):
    _clock(monkeypatch, datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc))
    with caplog.at_level("WARNING", logger="crm.services.complaints"):
        page = login("admin").get("/admin/workdays").get_data(as_text=True)
    assert "2004–2026" in page
    assert "notice-missing" not in page
    assert not [r for r in caplog.records if "holiday notice" in r.getMessage()]


# ------------------------------------------------------------------ the callers get the statutory holidays

def test_a_complaint_registered_on_new_years_eve_2026_is_due_after_new_years_day(world):
    from crm.services import complaints
    from tests.factories import make_client

    client = make_client(world.manager1, name="张三")
    data = {"complainant_name": "张三", "complainant_contact": "13800001234", "channel": "phone",
            "category": "fees", "severity": "normal", "facts": "佣金比约定高", "client_request": "退还多收佣金"}
    complaint = complaints.register(world.manager1, data, client=client, now=_at(2026, 12, 31, 17, 0))
    db.session.commit()
    assert complaint.ack_due_at == end_of_day(date(2027, 1, 4))        # not Friday 1 January (元旦)
    assert complaint.resolve_due_at == end_of_day(date(2027, 1, 22))   # 15 working days: 4–8, 11–15, 18–22


def test_the_scan_spreads_flag_follow_ups_over_the_working_days_after_new_years_day(world):
    from crm.models import FollowUp
    from crm.services import settings
    from crm.services.scan import scan_clients
    from tests.factories import make_client

    now = _at(2026, 12, 31, 10, 0).astimezone(timezone.utc)
    settings.set_int("flag_followups_per_day", 1, world.admin)
    for _ in range(3):
        client = make_client(world.manager1)
        client.stage, client.created_at = "active", now - timedelta(days=400)
        client.last_contact_at = now - timedelta(days=200)
    db.session.commit()
    scan_clients(now)
    db.session.commit()
    dues = sorted(db.session.execute(sa.select(FollowUp.due_at).where(FollowUp.kind == "flag")).scalars())
    assert dues == [now, _at(2027, 1, 4, 9, 0), _at(2027, 1, 5, 9, 0)]
