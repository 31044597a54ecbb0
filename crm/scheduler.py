"""The long-lived scheduler process (`flask --app wsgi scheduler`); web workers never run jobs.

Several scheduler processes may run (one per server): every job run goes through
`crm.services.job_runs.run_once`, so each slot is executed by exactly one of them. The jobs and their
times come from `crm.jobs.SCHEDULED`, the same declarations the CLI commands use; nothing here is
about one job in particular.

A scheduler that starts, or wakes from a suspend, after a daily job's time while that day's slot is
still unclaimed runs the job then (catch-up): it checks at start and every minute. Each job is logged
at start with its next run time, and each run with its outcome.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from crm import jobs
from crm.domain.clock import SHANGHAI
from crm.models import utcnow
from crm.services import audit, heartbeats, job_runs, processes

CATCH_UP_EVERY = timedelta(minutes=1)
log = logging.getLogger("crm.scheduler")


def trigger(job: jobs.Job, config) -> BaseTrigger:
    """When APScheduler fires the job: its Asia/Shanghai time, or every reminder interval."""
    if job.schedule == jobs.EVERY:
        # Aligned to the epoch so that every process fires at the same instants and computes the same slot.
        return IntervalTrigger(seconds=int(job_runs.reminder_interval(config).total_seconds()),
                               start_date=datetime(2020, 1, 1, tzinfo=SHANGHAI))
    at = job.local_time(config)
    yearly = {"month": 1, "day": 1} if job.schedule == jobs.YEARLY else {}
    return CronTrigger(hour=at.hour, minute=at.minute, second=at.second, timezone=SHANGHAI, **yearly)


def run_job(app: Flask, job: jobs.Job) -> None:
    """Run the job's current slot (once across processes) and log the outcome."""
    with app.app_context():
        now = utcnow()
        key = job.run_key(now, app.config)
        try:
            result = jobs.run_scheduled(job, now, app.config)
        except Exception:
            log.exception("%s %s: failed", job.name, key)
            return
        log.info("%s %s: %s", job.name, result.run_key, result.outcome if result.ran else "run by another process")
        if job.beats and result.ran:
            heartbeats.beat(app.config, "scheduler", pass_at=now, pass_outcome=result.outcome)


def catch_up(app: Flask) -> None:
    """Run the daily and yearly jobs whose time has passed today while their slot is still unclaimed."""
    with app.app_context():
        missed = jobs.missed(utcnow(), app.config)
        heartbeats.beat(app.config, "scheduler")
    for job in missed:
        log.info("catch-up: %s was due at %s and has not run in this slot", job.name,
                 job.local_time(app.config).isoformat())
        run_job(app, job)


def build(app: Flask) -> BlockingScheduler:
    """The scheduler with every declared job at its Asia/Shanghai time, and the catch-up check."""
    scheduler = BlockingScheduler(timezone=SHANGHAI)
    every = int(job_runs.reminder_interval(app.config).total_seconds())
    for job in jobs.SCHEDULED:
        grace = every if job.schedule == jobs.EVERY else 3600
        scheduler.add_job(run_job, trigger(job, app.config), args=[app, job], id=job.name,
                          misfire_grace_time=grace, coalesce=True, max_instances=1)
    scheduler.add_job(catch_up, IntervalTrigger(seconds=int(CATCH_UP_EVERY.total_seconds())), args=[app],
                      id="catch-up", next_run_time=datetime.now(SHANGHAI), coalesce=True, max_instances=1)
    return scheduler


def log_plan(app: Flask, scheduler: BlockingScheduler, now: datetime) -> None:
    """Log each job with its schedule and next run time, so an operator sees what will happen when."""
    for job in jobs.SCHEDULED:
        fire = scheduler.get_job(job.name).trigger.get_next_fire_time(None, now)
        log.info("job %s: %s, next run %s", job.name, job.describe(app.config), fire.isoformat())


def run(app: Flask, for_seconds: float | None = None) -> None:
    """Run until stopped (or for `for_seconds`, for smoke tests and the exactly-once test)."""
    heartbeats.set_kind("scheduler")
    audit.set_process_source("scheduler")  # audit rows the jobs write say where they came from
    scheduler = build(app)
    if for_seconds:
        scheduler.add_job(scheduler.shutdown, "date", run_date=datetime.now(SHANGHAI) + timedelta(seconds=for_seconds),
                          kwargs={"wait": False}, id="stop")
    log.info("scheduler %s started (Asia/Shanghai times)", processes.owner_name())
    log_plan(app, scheduler, datetime.now(SHANGHAI))
    with app.app_context():
        heartbeats.beat(app.config, "scheduler")
    scheduler.start()
