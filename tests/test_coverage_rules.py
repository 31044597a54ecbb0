"""Outlet coverage's pure rules (crm.domain.coverage), table-tested without an app."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest

from crm.domain import workdays
from crm.domain.coverage import coarse, gaps, monday_of, pattern_applies, user_day, week_days, week_plan
from crm.domain.refusals import RuleError

A, B, C = 1, 2, 3            # outlets
ANNA, BO, CUI = 10, 20, 30   # managers
MON = date(2026, 3, 2)       # a Monday; no holiday that week
WEEK = week_days(MON)
NATIONAL_DAY_MON = date(2026, 9, 28)  # the week of 1 October 2026: Thursday 1 Oct is a holiday


@dataclass
class P:
    user_id: int
    outlet_id: int
    weekday: int
    starts_on: date = date(2026, 1, 1)
    ends_on: date | None = None


@dataclass
class E:
    user_id: int
    day: date
    kind: str
    outlet_id: int | None = None


def weekdays_only(day: date) -> bool:
    return day.weekday() < 5


def calendar(day: date) -> bool:
    return workdays.is_working_day(day)


def test_monday_of_and_week_days():
    assert monday_of(date(2026, 3, 8)) == MON  # a Sunday
    assert monday_of(MON) == MON
    assert WEEK[0] == MON and WEEK[-1] == MON + timedelta(days=6) and len(WEEK) == 7


@pytest.mark.parametrize("pattern, day, expected", [
    (P(ANNA, A, 0), MON, True),
    (P(ANNA, A, 1), MON, False),                                            # another weekday
    (P(ANNA, A, 0, starts_on=MON), MON, True),                              # first day included
    (P(ANNA, A, 0, starts_on=MON + timedelta(days=1)), MON, False),         # starts later
    (P(ANNA, A, 0, ends_on=MON), MON, True),                                # last day included
    (P(ANNA, A, 0, ends_on=MON - timedelta(days=1)), MON, False),           # ended the day before
    (P(ANNA, A, 3), date(2026, 10, 1), False),                              # a weekday holiday: skipped
    (P(ANNA, A, 5), date(2026, 3, 7), True),                                # a weekend pattern applies
])
def test_a_pattern_applies_on_its_weekday_between_its_days(pattern, day, expected):
    assert pattern_applies(pattern, day, calendar) is expected


@pytest.mark.parametrize("exceptions, expected", [
    ([], [A]),
    ([E(ANNA, MON, "leave")], []),                      # leave: nowhere
    ([E(ANNA, MON, "elsewhere", B)], [B]),              # a swap: at its outlet
    ([E(ANNA, MON + timedelta(days=7), "leave")], [A]), # another day's exception
    ([E(BO, MON, "leave")], [A]),                       # someone else's exception
])
def test_an_exception_replaces_the_pattern_for_that_user_and_day(exceptions, expected):
    assert user_day([P(ANNA, A, 0)], exceptions, ANNA, MON) == expected


def test_an_elsewhere_exception_places_someone_without_a_pattern_even_on_a_day_off():
    saturday = MON + timedelta(days=5)
    assert user_day([], [E(CUI, saturday, "elsewhere", C)], CUI, saturday, calendar) == [C]


def test_the_week_plan_lists_who_is_where_each_day():
    patterns = [P(ANNA, A, d) for d in range(5)] + [P(BO, B, d) for d in range(5)]
    plan = week_plan(patterns, [], WEEK, calendar)
    assert plan[(MON, A)] == [ANNA] and plan[(MON, B)] == [BO]
    assert (WEEK[5], A) not in plan  # Saturday: no weekend pattern


def test_a_pattern_ending_mid_week_and_another_starting_mid_week():
    wednesday = MON + timedelta(days=2)
    patterns = [P(ANNA, A, d, ends_on=wednesday) for d in range(5)]
    patterns += [P(BO, A, d, starts_on=wednesday + timedelta(days=1)) for d in range(5)]
    plan = week_plan(patterns, [], WEEK, calendar)
    assert [plan.get((d, A)) for d in WEEK[:5]] == [[ANNA], [ANNA], [ANNA], [BO], [BO]]
    assert gaps(plan, [A], WEEK, calendar) == []


def test_a_pattern_ending_mid_week_leaves_the_rest_of_the_week_as_gaps():
    tuesday = MON + timedelta(days=1)
    plan = week_plan([P(ANNA, A, d, ends_on=tuesday) for d in range(5)], [], WEEK, calendar)
    assert gaps(plan, [A], WEEK, calendar) == [(d, A) for d in WEEK[2:5]]


def test_the_weekend_is_not_a_gap():
    plan = week_plan([P(ANNA, A, d) for d in range(5)], [], WEEK, weekdays_only)
    assert gaps(plan, [A], WEEK, weekdays_only) == []


def test_a_holiday_is_not_a_gap_and_a_weekday_pattern_skips_it():
    days = week_days(NATIONAL_DAY_MON)
    plan = week_plan([P(ANNA, A, d) for d in range(5)], [], days, calendar)
    assert (date(2026, 10, 1), A) not in plan
    assert gaps(plan, [A], days, calendar) == []


def test_a_make_up_working_sunday_without_anyone_is_a_gap():
    # 调休: Sunday 20 September 2026 is a working day (the National Day holiday's make-up day).
    sunday = date(2026, 9, 20)
    assert calendar(sunday)
    days = week_days(monday_of(sunday))
    plan = week_plan([P(ANNA, A, d) for d in range(5)], [], days, calendar)
    assert (sunday, A) in gaps(plan, [A], days, calendar)


def test_a_swap_fills_one_outlet_and_may_open_a_gap_at_another():
    patterns = [P(ANNA, A, 0), P(BO, B, 0)]
    swap = [E(ANNA, MON, "elsewhere", C)]
    before = week_plan(patterns, [], [MON], calendar)
    after = week_plan(patterns, swap, [MON], calendar)
    assert gaps(before, [A, B, C], [MON], calendar) == [(MON, C)]
    assert gaps(after, [A, B, C], [MON], calendar) == [(MON, A)]
    assert after[(MON, C)] == [ANNA]


def test_leave_opens_a_gap_and_two_people_at_one_outlet_are_both_listed():
    patterns = [P(ANNA, A, 0), P(BO, A, 0)]
    assert week_plan(patterns, [], [MON])[(MON, A)] == [ANNA, BO]
    both_away = [E(ANNA, MON, "leave"), E(BO, MON, "leave")]
    assert gaps(week_plan(patterns, both_away, [MON]), [A], [MON]) == [(MON, A)]
    one_away = both_away[:1]
    assert gaps(week_plan(patterns, one_away, [MON]), [A], [MON]) == []


def test_an_inactive_outlet_is_not_a_gap_when_left_out():
    plan = week_plan([P(ANNA, A, 0)], [], [MON])
    assert gaps(plan, [A], [MON]) == []
    assert gaps(plan, [A, B], [MON]) == [(MON, B)]


@pytest.mark.parametrize("lat, lon, expected", [
    ("39.9087", "116.3975", (Decimal("39.91"), Decimal("116.40"))),
    (39.904, 116.405, (Decimal("39.90"), Decimal("116.41"))),
    ("-33.865", "151.2094", (Decimal("-33.87"), Decimal("151.21"))),   # half away from zero
    ("90", "-180", (Decimal("90.00"), Decimal("-180.00"))),            # the edges
    (" 31.2304 ", "121.4737", (Decimal("31.23"), Decimal("121.47"))),
])
def test_coarse_keeps_two_decimals(lat, lon, expected):
    assert coarse(lat, lon) == expected


@pytest.mark.parametrize("lat, lon, field", [
    ("90.01", "0", "latitude"),
    ("-91", "0", "latitude"),
    ("0", "180.5", "longitude"),
    ("abc", "0", "latitude"),
    ("0", "", "longitude"),
    ("NaN", "0", "latitude"),
    ("0", "Infinity", "longitude"),
    ("1e400", "0", "latitude"),
])
def test_coarse_refuses_what_is_not_a_position(lat, lon, field):
    with pytest.raises(RuleError) as refused:
        coarse(lat, lon)
    assert (refused.value.code, refused.value.field) == ("coverage.location_invalid", field)
