"""The one calendar: times are stored in UTC and counted and shown on the Asia/Shanghai calendar."""
from __future__ import annotations

from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

