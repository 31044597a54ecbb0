"""When service-plan items fall due: every cadence, month ends, 29 February, lunar holidays."""
from __future__ import annotations

from datetime import date

import pytest

from crm.domain.cadence import (
    Cadence,
    Schedule,
    add_months,
    birthday_in,
    holiday_in,
    next_occurrence,
    occurrences,
)

D = date


@pytest.mark.parametrize(("schedule", "start", "end", "expected"), [
    # Every N days / weeks: counted from the first day, never before it.
    (Schedule(Cadence.DAYS, D(2026, 1, 1), every=10), D(2026, 1, 1), D(2026, 1, 31),
     [D(2026, 1, 1), D(2026, 1, 11), D(2026, 1, 21), D(2026, 1, 31)]),
    (Schedule(Cadence.DAYS, D(2026, 1, 5), every=10), D(2025, 12, 1), D(2026, 1, 20),
     [D(2026, 1, 5), D(2026, 1, 15)]),
    (Schedule(Cadence.WEEKS, D(2026, 2, 25), every=2), D(2026, 3, 1), D(2026, 3, 31),
     [D(2026, 3, 11), D(2026, 3, 25)]),
    (Schedule(Cadence.WEEKS, D(2026, 12, 24), every=1), D(2026, 12, 25), D(2027, 1, 8),
     [D(2026, 12, 31), D(2027, 1, 7)]),
    # Every N months: the starting day of the month, clamped to short months, never drifting.
    (Schedule(Cadence.MONTHS, D(2026, 1, 31), every=1), D(2026, 1, 1), D(2026, 5, 31),
     [D(2026, 1, 31), D(2026, 2, 28), D(2026, 3, 31), D(2026, 4, 30), D(2026, 5, 31)]),
    (Schedule(Cadence.MONTHS, D(2027, 11, 30), every=3), D(2027, 11, 1), D(2028, 12, 31),
     [D(2027, 11, 30), D(2028, 2, 29), D(2028, 5, 30), D(2028, 8, 30), D(2028, 11, 30)]),
    (Schedule(Cadence.MONTHS, D(2026, 8, 31), every=6), D(2026, 9, 1), D(2028, 3, 31),
     [D(2027, 2, 28), D(2027, 8, 31), D(2028, 2, 29)]),
    (Schedule(Cadence.MONTHS, D(2026, 3, 15), every=12), D(2026, 1, 1), D(2028, 12, 31),
     [D(2026, 3, 15), D(2027, 3, 15), D(2028, 3, 15)]),
    # Once: on its day, if the window holds it.
    (Schedule(Cadence.ONCE, D(2026, 6, 1)), D(2026, 5, 1), D(2026, 6, 30), [D(2026, 6, 1)]),
    (Schedule(Cadence.ONCE, D(2026, 6, 1)), D(2026, 6, 2), D(2026, 6, 30), []),
    # Birthdays: every year; 29 February falls on 28 February outside leap years.
    (Schedule(Cadence.BIRTHDAY, D(2026, 1, 1), birthday=D(1980, 2, 29)), D(2026, 1, 1), D(2029, 3, 31),
     [D(2026, 2, 28), D(2027, 2, 28), D(2028, 2, 29), D(2029, 2, 28)]),
    (Schedule(Cadence.BIRTHDAY, D(2026, 3, 1), birthday=D(1975, 12, 31)), D(2026, 3, 1), D(2027, 12, 31),
     [D(2026, 12, 31), D(2027, 12, 31)]),
    (Schedule(Cadence.BIRTHDAY, D(2026, 6, 1), birthday=D(1990, 5, 20)), D(2026, 1, 1), D(2026, 12, 31), []),
    (Schedule(Cadence.BIRTHDAY, D(2026, 1, 1), birthday=None), D(2026, 1, 1), D(2026, 12, 31), []),
    # Holidays: lunar ones move (Spring Festival 2026-02-17, 2027-02-06; Mid-Autumn 2026-09-25).
    (Schedule(Cadence.HOLIDAYS, D(2026, 1, 1), holidays=("spring_festival", "mid_autumn", "national_day")),
     D(2026, 1, 1), D(2027, 2, 28),
     [D(2026, 2, 17), D(2026, 9, 25), D(2026, 10, 1), D(2027, 2, 6)]),
    (Schedule(Cadence.HOLIDAYS, D(2026, 1, 1), holidays=("new_year", "dragon_boat", "double_ninth")),
     D(2026, 1, 1), D(2026, 12, 31), [D(2026, 1, 1), D(2026, 6, 19), D(2026, 10, 18)]),
    # An empty window.
    (Schedule(Cadence.DAYS, D(2026, 1, 1)), D(2026, 2, 1), D(2026, 1, 1), []),
])
def test_occurrences(schedule, start, end, expected):
    assert occurrences(schedule, start, end) == expected


@pytest.mark.parametrize(("anchor", "months", "expected"), [
    (D(2026, 1, 31), 1, D(2026, 2, 28)),
    (D(2028, 1, 31), 1, D(2028, 2, 29)),
    (D(2026, 1, 31), 2, D(2026, 3, 31)),
    (D(2026, 10, 31), 2, D(2026, 12, 31)),
    (D(2026, 11, 30), 3, D(2027, 2, 28)),
    (D(2026, 12, 15), 1, D(2027, 1, 15)),
    (D(2026, 5, 15), 0, D(2026, 5, 15)),
    (D(2026, 5, 31), 24, D(2028, 5, 31)),
])
def test_add_months_clamps_to_the_month_end(anchor, months, expected):
    assert add_months(anchor, months) == expected


@pytest.mark.parametrize(("year", "expected"), [
    (2026, D(2026, 2, 28)), (2027, D(2027, 2, 28)), (2028, D(2028, 2, 29)), (2100, D(2100, 2, 28)),
    (2000, D(2000, 2, 29)),
])
def test_a_29_february_birthday(year, expected):
    assert birthday_in(year, D(1984, 2, 29)) == expected


@pytest.mark.parametrize(("code", "year", "expected"), [
    ("spring_festival", 2026, D(2026, 2, 17)),
    ("spring_festival", 2027, D(2027, 2, 6)),
    ("spring_festival", 2028, D(2028, 1, 26)),
    ("dragon_boat", 2027, D(2027, 6, 9)),
    ("mid_autumn", 2026, D(2026, 9, 25)),
    ("mid_autumn", 2028, D(2028, 10, 3)),
    ("double_ninth", 2026, D(2026, 10, 18)),
    ("national_day", 2031, D(2031, 10, 1)),
    ("new_year", 2030, D(2030, 1, 1)),
])
def test_holiday_dates(code, year, expected):
    assert holiday_in(year, code) == expected


def test_next_occurrence_looks_past_the_end_of_the_year():
    schedule = Schedule(Cadence.BIRTHDAY, D(2026, 1, 1), birthday=D(1970, 1, 3))
    assert next_occurrence(schedule, D(2026, 1, 4)) == D(2027, 1, 3)
    assert next_occurrence(Schedule(Cadence.ONCE, D(2026, 1, 1)), D(2026, 1, 2)) is None


@pytest.mark.parametrize("bad", [
    {"cadence": Cadence.MONTHS, "every": 0},
    {"cadence": Cadence.DAYS, "every": -3},
    {"cadence": Cadence.HOLIDAYS, "holidays": ("christmas",)},
])
def test_a_schedule_refuses_nonsense(bad):
    with pytest.raises(ValueError):
        Schedule(starts_on=D(2026, 1, 1), **bad)
