"""Working days on the Shanghai calendar: weekends, holidays, make-up days (调休), unknown years, overrides."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from crm.domain.workdays import add_working_days, end_of_day, is_working_day, working_days_between

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
    (date(2035, 1, 1), True, "a year the calendar does not know: a Monday is a working day"),
    (date(2035, 1, 6), False, "a year the calendar does not know: Saturday is off"),
])
def test_is_working_day_follows_the_chinese_calendar(day, working, why):
    assert is_working_day(day) is working, why


@pytest.mark.parametrize(("day", "override", "expected"), [
    (date(2025, 11, 24), False, False),   # an extra holiday on a Monday
    (date(2025, 11, 29), True, True),     # a Saturday worked
    (date(2025, 10, 1), True, True),      # even a public holiday, if the admin says so
    (date(2035, 1, 1), False, False),     # New Year in a year the package does not cover
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
    (_at(2034, 12, 29), 1, date(2035, 1, 1)),     # Friday + 1 in an unknown year: Monday (weekends only)
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
    # A year the package does not know: the admin adds New Year's Day.
    assert add_working_days(_at(2034, 12, 29), 1, {date(2035, 1, 1): False}) == end_of_day(date(2035, 1, 2))


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
