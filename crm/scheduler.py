"""The long-lived scheduler process (`flask --app wsgi scheduler`); web workers never run jobs.

Several scheduler processes may run (one per server): every job run goes through
`crm.services.jobs.run_once`, so each slot is executed by exactly one of them.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from crm.models import utcnow
from crm.services import jobs

SHANGHAI = ZoneInfo("Asia/Shanghai")
log = logging.getLogger("crm.scheduler")


def _daily(app: Flask, name: str, work) -> None:
    with app.app_context():
        now = utcnow()
        result = jobs.run_once(name, jobs.local_day_key(now), lambda: work(now))
        log.info("%s %s: %s", name, result.run_key, result.outcome if result.ran else "run by another process")


def _every(app: Flask, name: str, every: timedelta, work) -> None:
    with app.app_context():
        now = utcnow()
        result = jobs.run_once(name, jobs.slot_key(now, every), lambda: work(now))
        log.info("%s %s: %s", name, result.run_key, result.outcome if result.ran else "run by another process")


def _yearly_callbacks(app: Flask) -> None:
    with app.app_context():
        now = utcnow()
        year = now.astimezone(SHANGHAI).year
        result = jobs.run_once("callback-sample", str(year), lambda: jobs.callback_sample(year, now=now))
        log.info("callback-sample %s: %s", year, result.outcome if result.ran else "already done")


def _escalate_complaints(now: datetime) -> str:
    from crm.services import complaints

    return complaints.escalate_overdue(now)


def build(app: Flask) -> BlockingScheduler:
    """The scheduler with its jobs at the configured Asia/Shanghai times (escalation every reminder slot)."""
    scheduler = BlockingScheduler(timezone=SHANGHAI)
    scan_at = jobs.parse_local_time(app.config["CRM_SCAN_AT"])
    digest_at = jobs.parse_local_time(app.config["CRM_DIGEST_AT"])
    every = jobs.reminder_interval(app.config)
    seconds = int(every.total_seconds())
    scheduler.add_job(_daily, CronTrigger(hour=scan_at.hour, minute=scan_at.minute, timezone=SHANGHAI),
                      args=[app, "scan-clients", jobs.scan], id="scan-clients", misfire_grace_time=3600,
                      coalesce=True)
    # Plan follow-ups right after the scan, so that the morning digest already lists them.
    scheduler.add_job(_daily, CronTrigger(hour=scan_at.hour, minute=scan_at.minute, second=30, timezone=SHANGHAI),
                      args=[app, "plan-followups", jobs.plan_followups], id="plan-followups",
                      misfire_grace_time=3600, coalesce=True)
    scheduler.add_job(_daily, CronTrigger(hour=digest_at.hour, minute=digest_at.minute, timezone=SHANGHAI),
                      args=[app, "send-digests", jobs.send_digests], id="send-digests", misfire_grace_time=3600,
                      coalesce=True)
    # Aligned to the epoch so that every process fires at the same instants and computes the same slot.
    scheduler.add_job(_every, IntervalTrigger(seconds=seconds, start_date=datetime(2020, 1, 1, tzinfo=SHANGHAI)),
                      args=[app, "send-reminders", every, jobs.send_reminders], id="send-reminders",
                      misfire_grace_time=seconds, coalesce=True, max_instances=1)
    scheduler.add_job(_every, IntervalTrigger(seconds=seconds, start_date=datetime(2020, 1, 1, tzinfo=SHANGHAI)),
                      args=[app, "escalate-complaints", every, _escalate_complaints], id="escalate-complaints",
                      misfire_grace_time=seconds, coalesce=True, max_instances=1)
    scheduler.add_job(_yearly_callbacks, CronTrigger(hour=scan_at.hour, minute=scan_at.minute, timezone=SHANGHAI),
                      args=[app], id="callback-sample", misfire_grace_time=3600, coalesce=True)
    return scheduler


def run(app: Flask, for_seconds: float | None = None) -> None:
    """Run until stopped (or for `for_seconds`, for smoke tests and the exactly-once test)."""
    scheduler = build(app)
    if for_seconds:
        scheduler.add_job(scheduler.shutdown, "date", run_date=datetime.now(SHANGHAI) + timedelta(seconds=for_seconds),
                          kwargs={"wait": False}, id="stop")
    log.info("scheduler %s started", jobs.owner_name())
    scheduler.start()
