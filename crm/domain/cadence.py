"""When a service-plan item falls due: every N days/weeks/months, on a birthday, on holidays, or once.

Pure date arithmetic, no database. Rules a client manager would expect:

- "Every N months" keeps the day of the month it started on, clamped to the month's last day
  (started 31 January → 28/29 February, 31 March, 30 April...): the day never drifts.
- A 29 February birthday falls on 28 February in other years (care comes early, never late).
- Holidays are the traditional dates: lunar ones (Spring Festival, Dragon Boat, Mid-Autumn,
  Double Ninth) are converted with `lunardate`, which covers 1900–2099.
"""
from __future__ import annotations

import calendar
import enum
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from lunardate import LunarDate


class Cadence(enum.StrEnum):
    """How an item repeats."""

    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"
    BIRTHDAY = "birthday"
    HOLIDAYS = "holidays"
    ONCE = "once"


REPEATING = (Cadence.DAYS, Cadence.WEEKS, Cadence.MONTHS)

# Holiday code → (calendar, month, day): "solar" dates are fixed, "lunar" ones move every year.
HOLIDAYS: dict[str, tuple[str, int, int]] = {
    "new_year": ("solar", 1, 1),           # 元旦
    "spring_festival": ("lunar", 1, 1),    # 春节
    "dragon_boat": ("lunar", 5, 5),        # 端午
    "mid_autumn": ("lunar", 8, 15),        # 中秋
    "double_ninth": ("lunar", 9, 9),       # 重阳 (care for older clients)
    "national_day": ("solar", 10, 1),      # 国庆
}


@dataclass(frozen=True)
class Schedule:
    """An item's timing: the cadence, its step (N), the first day, and what fixed dates need."""

    cadence: Cadence
    starts_on: date
    every: int = 1
    holidays: tuple[str, ...] = ()
    birthday: date | None = None

    def __post_init__(self) -> None:
        if self.cadence in REPEATING and self.every < 1:
            raise ValueError("every must be at least 1")
        unknown = [code for code in self.holidays if code not in HOLIDAYS]
        if unknown:
            raise ValueError(f"unknown holidays {unknown}")


def add_months(anchor: date, months: int) -> date:
    """`anchor` moved by whole months, its day clamped to the target month's length."""
    year, month_index = divmod(anchor.month - 1 + months, 12)
    year += anchor.year
    month = month_index + 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def birthday_in(year: int, birthday: date) -> date:
    """The day a birthday is marked in `year`; 29 February → 28 February outside leap years."""
    if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return birthday.replace(year=year)


def holiday_in(year: int, code: str) -> date | None:
    """The date of a holiday in a Gregorian year; None outside the lunar table (1900–2099)."""
    kind, month, day = HOLIDAYS[code]
    if kind == "solar":
        return date(year, month, day)
    # A lunar date belongs to the lunar year that starts in this Gregorian year (never late December).
    try:
        return LunarDate(year, month, day).to_solar_date()
    except ValueError:
        return None


def _repeating(schedule: Schedule) -> Iterator[date]:
    step = 0
    while True:
        if schedule.cadence == Cadence.MONTHS:
            yield add_months(schedule.starts_on, step * schedule.every)
        else:
            days = schedule.every * (7 if schedule.cadence == Cadence.WEEKS else 1)
            yield schedule.starts_on + timedelta(days=step * days)
        step += 1


def occurrences(schedule: Schedule, start: date, end: date) -> list[date]:
    """Every due date of the schedule within [start, end], never before the schedule starts."""
    start = max(start, schedule.starts_on)
    if end < start:
        return []
    if schedule.cadence == Cadence.ONCE:
        return [schedule.starts_on] if start <= schedule.starts_on <= end else []
    if schedule.cadence in REPEATING:
        found = []
        for day in _repeating(schedule):
            if day > end:
                return found
            if day >= start:
                found.append(day)
    days: set[date] = set()
    for year in range(start.year, end.year + 1):
        if schedule.cadence == Cadence.BIRTHDAY:
            candidates = [birthday_in(year, schedule.birthday)] if schedule.birthday else []
        else:
            candidates = [holiday_in(year, code) for code in schedule.holidays]
        days.update(d for d in candidates if d is not None and start <= d <= end)
    return sorted(days)


def next_occurrence(schedule: Schedule, after: date, horizon_days: int = 800) -> date | None:
    """The first due date on or after `after` (within a bit more than two years), if any."""
    found = occurrences(schedule, after, after + timedelta(days=horizon_days))
    return found[0] if found else None
