"""The one calendar: times are stored in UTC and counted and shown on the Asia/Shanghai calendar."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai_date(moment: datetime) -> date:
    """The Shanghai calendar date of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the Shanghai date of a moment needs an aware datetime")
    return moment.astimezone(SHANGHAI).date()
