"""Outlet coverage (驻点排班), the pure rules: who is planned where on a day, which outlets are left
uncovered, and how coarse a consented check-in location is kept.

- A weekly pattern applies on its weekday (0 Monday … 6 Sunday) from `starts_on` to `ends_on`, both
  included (`ends_on` None: until changed). A Monday-to-Friday pattern is skipped on a day off (a
  public holiday); a Saturday or Sunday pattern is an outlet open at the weekend and applies on its day.
- An exception replaces the patterns of that manager on that day: LEAVE puts them nowhere, ELSEWHERE
  at its outlet (a swap, or covering for a colleague), whatever the calendar says.
- A gap is a working day on which an active outlet has nobody planned; weekends and holidays are not gaps.

Records are read by their attributes (the models, or any object with the same names), nothing here
touches a database.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Protocol

from crm.domain.refusals import RuleError

LEAVE, ELSEWHERE = "leave", "elsewhere"  # crm.models.CoverageExceptionKind's stored values
TWO_DECIMALS = Decimal("0.01")

Working = Callable[[date], bool]


class PatternLike(Protocol):
    user_id: int
    outlet_id: int
    weekday: int
    starts_on: date
    ends_on: date | None


class ExceptionLike(Protocol):
    user_id: int
    day: date
    kind: str
    outlet_id: int | None


def _every_day(day: date) -> bool:
    return True


def monday_of(day: date) -> date:
    """The Monday of the week `day` is in."""
    return day - timedelta(days=day.weekday())


def week_days(monday: date) -> list[date]:
    """The seven days of the week that starts on `monday`."""
    return [monday + timedelta(days=i) for i in range(7)]


def pattern_applies(pattern: PatternLike, day: date, working: Working = _every_day) -> bool:
    """Whether the weekly pattern puts its manager at its outlet on `day` (exceptions aside)."""
    if pattern.weekday != day.weekday() or day < pattern.starts_on:
        return False
    if pattern.ends_on is not None and day > pattern.ends_on:
        return False
    return pattern.weekday >= 5 or working(day)


def user_day(patterns: Iterable[PatternLike], exceptions: Iterable[ExceptionLike], user_id: int, day: date,
             working: Working = _every_day) -> list[int]:
    """The outlet ids where the manager is planned on `day` (usually one; none on leave)."""
    for exception in exceptions:
        if exception.user_id == user_id and exception.day == day:
            return [exception.outlet_id] if exception.kind == ELSEWHERE and exception.outlet_id else []
    return sorted({p.outlet_id for p in patterns if p.user_id == user_id and pattern_applies(p, day, working)})


def week_plan(patterns: Iterable[PatternLike], exceptions: Iterable[ExceptionLike], days: Iterable[date],
              working: Working = _every_day) -> dict[tuple[date, int], list[int]]:
    """{(day, outlet id): [user ids planned there]} for each of `days`; an outlet with nobody is absent."""
    patterns, exceptions = list(patterns), list(exceptions)
    users = sorted({p.user_id for p in patterns} | {e.user_id for e in exceptions})
    plan: dict[tuple[date, int], list[int]] = {}
    for day in days:
        for user_id in users:
            for outlet_id in user_day(patterns, exceptions, user_id, day, working):
                plan.setdefault((day, outlet_id), []).append(user_id)
    return plan


def gaps(plan: dict[tuple[date, int], list[int]], outlets: Iterable[int], days: Iterable[date],
         working: Working = _every_day) -> list[tuple[date, int]]:
    """The (day, outlet id) pairs of working days on which an outlet (active ones given) has nobody."""
    outlets = list(outlets)
    return [(day, outlet_id) for day in days if working(day) for outlet_id in outlets
            if not plan.get((day, outlet_id))]


def _coordinate(value: object, limit: int, field: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise RuleError("coverage.location_invalid", field) from None
    if not number.is_finite() or not -limit <= number <= limit:
        raise RuleError("coverage.location_invalid", field)
    return number.quantize(TWO_DECIMALS, rounding=ROUND_HALF_UP)


def coarse(latitude: object, longitude: object) -> tuple[Decimal, Decimal]:
    """The location rounded to two decimals (about a kilometre); out of range or not a number is refused."""
    return _coordinate(latitude, 90, "latitude"), _coordinate(longitude, 180, "longitude")
