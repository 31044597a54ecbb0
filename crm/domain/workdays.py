"""Working days on the Asia/Shanghai calendar: weekends, public holidays and make-up days (调休).

Public holidays and make-up working days come from `chinese_calendar`, which only knows the years
it was released for (`known_years()`). For any other year the statutory holidays of 全国年节及纪念日放假办法
are computed from the lunar calendar (`lunardate`) and the solar term 清明 (`statutory_days_off`); only
the State Council's yearly notice (bridging days, make-up working days) cannot be computed, and admins
enter it as overrides (`years_without_notice` tells which years still lack it). Admin overrides (a date
marked as a working day or a day off) win over everything.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import cache
from types import MappingProxyType

import chinese_calendar
from lunardate import LunarDate

from crm.domain.clock import SHANGHAI

END_OF_DAY = time(23, 59, 59, 999999)
_NO_OVERRIDES: Mapping[date, bool] = MappingProxyType({})
FIRST_LUNAR_YEAR, LAST_LUNAR_YEAR = 1900, 2099  # what `lunardate` converts
NOTICE_HORIZON = timedelta(days=90)  # deadlines and follow-ups reach this far ahead: warn that early


@cache
def known_years() -> tuple[int, ...]:
    """The years the installed `chinese_calendar` covers, holidays and make-up days included."""
    return tuple(sorted({d.year for d in chinese_calendar.holidays}))


def _lunar(year: int, month: int, day: int) -> date:
    return LunarDate(year, month, day).to_solar_date()


def _qingming(year: int) -> date:
    """The solar term 清明 (4 or 5 April), by the formula `chinese_calendar` uses for 1900–2100."""
    return next(d for d, name in chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30))
                if name == "清明")


def statutory_holidays(year: int) -> dict[str, tuple[date, ...]]:
    """The public holidays of 全国年节及纪念日放假办法 in `year`, by festival, as the version in force then set them.

    From 2025 (国务院令第798号): 元旦 1 Jan; 春节 除夕 to 初三; 清明; 劳动节 1–2 May; 端午 (5/5); 中秋 (8/15);
    国庆 1–3 Oct. From 2014: 春节 初一 to 初三, 劳动节 1 May. From 2008: 春节 除夕 to 初二; 清明, 端午 and
    中秋 added, 劳动节 cut to 1 May. Before 2008: 春节 初一 to 初三, 劳动节 1–3 May, no 清明, 端午, 中秋.
    """
    new_year = _lunar(year, 1, 1)
    if year >= 2025:
        spring = [new_year - timedelta(days=1), *(new_year + timedelta(days=i) for i in range(3))]
        labour = [date(year, 5, 1), date(year, 5, 2)]
    elif year >= 2014:
        spring = [new_year + timedelta(days=i) for i in range(3)]
        labour = [date(year, 5, 1)]
    elif year >= 2008:
        spring = [new_year + timedelta(days=i) for i in range(-1, 2)]
        labour = [date(year, 5, 1)]
    else:
        spring = [new_year + timedelta(days=i) for i in range(3)]
        labour = [date(year, 5, i) for i in (1, 2, 3)]
    festivals = {"new_year": [date(year, 1, 1)], "spring_festival": spring}
    if year >= 2008:
        festivals["qingming"] = [_qingming(year)]
    festivals["labour_day"] = labour
    if year >= 2008:
        festivals["dragon_boat"] = [_lunar(year, 5, 5)]
        festivals["mid_autumn"] = [_lunar(year, 8, 15)]
    festivals["national_day"] = [date(year, 10, i) for i in (1, 2, 3)]
    return {name: tuple(days) for name, days in festivals.items()}


@cache
def statutory_days_off(year: int) -> frozenset[date]:
    """The days off in `year` that need no yearly notice: the statutory holidays and their 补假.

    A statutory holiday on a Saturday or Sunday (or on the same day as another one, as 中秋 on 国庆)
    is given back on the next weekday after it that is not already off (办法 第六条 补假), as every
    notice has done. Bridging days and make-up working days are the notice's and are not here.
    Outside 1900–2099 (the range of the lunar calendar) only weekends are off.
    """
    if not FIRST_LUNAR_YEAR <= year <= LAST_LUNAR_YEAR:
        return frozenset()
    off: set[date] = set()
    for days in sorted(statutory_holidays(year).values()):
        owed = 0
        for day in days:
            if day.weekday() >= 5 or day in off:
                owed += 1
            off.add(day)
        day = days[-1]
        while owed:
            day += timedelta(days=1)
            if day.weekday() < 5 and day not in off:
                off.add(day)
                owed -= 1
    return frozenset(off)


def is_working_day(day: date, overrides: Mapping[date, bool] = _NO_OVERRIDES) -> bool:
    """Whether `day` is a working day: overrides, else the Chinese calendar, else the statutory rules."""
    if day in overrides:
        return bool(overrides[day])
    if day.year in known_years():
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5 and day not in statutory_days_off(day.year)


def years_without_notice(today: date, overrides: Mapping[date, bool] = _NO_OVERRIDES) -> list[int]:
    """The years from `today` to NOTICE_HORIZON ahead that neither the package nor any override covers.

    For those years only the statutory holidays count; the State Council's notice (bridging days and
    make-up working days) is taken as entered once any override falls in that year.
    """
    entered = {d.year for d in overrides}
    years = range(today.year, (today + NOTICE_HORIZON).year + 1)
    return [y for y in years if y not in known_years() and y not in entered]


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


WORKING_HOURS = (time(9, 0), time(17, 30))  # the outlet's opening hours, Asia/Shanghai


def add_working_hour(start: datetime, overrides: Mapping[date, bool] = _NO_OVERRIDES) -> datetime:
    """One working hour after `start`: counted within 09:00–17:30 Shanghai on working days (aware, Shanghai).

    Time before 09:00 on a working day starts at 09:00; after 17:30, on a day off or a weekend, at 09:00 of
    the next working day. What is left of the hour at 17:30 spills into the next working day's morning
    (16:50 → 09:10 the next working day).
    """
    opens, closes = WORKING_HOURS
    local = start.astimezone(SHANGHAI) if start.tzinfo is not None else None
    if local is None:
        raise ValueError("naive datetime: working hours are counted from an aware datetime")
    day, left = local.date(), timedelta(hours=1)
    moment = local.replace(tzinfo=None)
    while True:
        if is_working_day(day, overrides):
            day_open, day_close = datetime.combine(day, opens), datetime.combine(day, closes)
            begin = max(moment, day_open)
            if begin < day_close:
                if begin + left <= day_close:
                    return (begin + left).replace(tzinfo=SHANGHAI)
                left -= day_close - begin
        day += timedelta(days=1)
        moment = datetime.combine(day, opens)
