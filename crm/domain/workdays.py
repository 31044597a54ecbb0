"""Working days on the Asia/Shanghai calendar: weekends, public holidays and make-up days (调休).

Public holidays and make-up working days come from `chinese_calendar`, which only knows the years
it was released for; other years fall back to "weekends off". Admin overrides (a date marked as a
working day or a day off) win over both.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59, 999999)
_NO_OVERRIDES: Mapping[date, bool] = MappingProxyType({})


def is_working_day(day: date, overrides: Mapping[date, bool] = _NO_OVERRIDES) -> bool:
    """Whether `day` is a working day: overrides, else the Chinese calendar, else Monday to Friday."""
    if day in overrides:
        return bool(overrides[day])
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def _local_date(moment: datetime) -> date:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: working days are counted from an aware datetime")
    return moment.astimezone(SHANGHAI).date()


def end_of_day(day: date) -> datetime:
    """23:59:59.999999 Asia/Shanghai on `day`, aware."""
    return datetime.combine(day, END_OF_DAY, SHANGHAI)


def add_working_days(start: datetime, n: int, overrides: Mapping[date, bool] = _NO_OVERRIDES) -> datetime:
    """The end (Shanghai) of the n-th working day after the Shanghai date of `start`.

    The day of `start` itself never counts, even when it is a working day: a complaint registered
    on Monday with n = 1 is due at the end of Tuesday. n = 0 gives the end of the day of `start`.
    """
    if n < 0:
        raise ValueError("n must be 0 or more")
    day = _local_date(start)
    left = n
    while left:
        day += timedelta(days=1)
        if is_working_day(day, overrides):
            left -= 1
    return end_of_day(day)


def working_days_between(a: datetime, b: datetime, overrides: Mapping[date, bool] = _NO_OVERRIDES) -> int:
    """Working days after the Shanghai date of `a` up to and including that of `b`; negative if b < a.

    For a countdown: from now to a deadline, the number of working days left (0 on the last day).
    """
    first, last = _local_date(a), _local_date(b)
    sign = 1
    if last < first:
        first, last, sign = last, first, -1
    count = 0
    day = first
    while day < last:
        day += timedelta(days=1)
        if is_working_day(day, overrides):
            count += 1
    return sign * count
