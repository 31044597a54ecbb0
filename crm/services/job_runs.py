"""Scheduled work, run exactly once across processes: each run claims a unique (job, run key) row.

Every process (APScheduler in `flask scheduler`, or cron calling the CLI with `--scheduled`) computes the same run key
for the same slot — the local date of a daily job, the start of a reminder interval — and tries to
insert it into `job_runs`. The unique constraint lets exactly one insert commit; the others see an
IntegrityError and skip. This works the same on SQLite and PostgreSQL, needs no lock held while the
job runs, and leaves a record of who ran what and how it ended. A process that dies mid-run leaves
its row without `finished_at`: the slot is not retried automatically (the next slot picks up the
remaining reminders; a failed scan can be rerun by hand with `flask scan-clients`).

Scheduled and by hand are different rows: the scheduler (or cron with `--scheduled`) claims the slot
itself, e.g. `scan-clients 2026-03-01`; a run by hand records its own key
(`2026-03-01#manual-<time>-<pid>`), so it never uses up the day's scheduled run. Each job is declared
once in `crm.jobs.JOBS` (name, schedule, run-key rule, the service it calls), read by the scheduler and
by the CLI; this module is only the machinery, and holds no business rule.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from crm.domain.clock import SHANGHAI
from crm.extensions import db
from crm.models import JobRun, utcnow
from crm.services.processes import owner_name


@dataclass
class RunResult:
    """What happened when a process asked to run a job slot."""

    job: str
    run_key: str
    ran: bool
    outcome: str = ""


def claim(job: str, run_key: str, owner: str | None = None) -> bool:
    """Insert the run row and commit; False when another process already has this slot."""
    try:
        db.session.add(JobRun(job=job, run_key=run_key, owner=owner or owner_name(), started_at=utcnow()))
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
        return False


def own_key(run_key: str, why: str = "manual") -> str:
    """A run key of its own for a run outside the schedule: names the slot, the moment and the process."""
    return f"{run_key}#{why}-{utcnow().strftime('%Y%m%dT%H%M%S%f')}-{os.getpid()}"


def run_once(job: str, run_key: str, work: Callable[[], object], force: bool = False) -> RunResult:
    """Run `work` for this slot unless another process already did; record its outcome."""
    # A forced run always runs: its key names the moment and the process that forced it.
    key = run_key if not force else own_key(run_key, "forced")
    if not claim(job, key):
        return RunResult(job, key, ran=False, outcome="already claimed")
    try:
        outcome = str(work())
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        outcome = f"error: {exc!r}"[:500]
        _finish(job, key, outcome)
        raise
    _finish(job, key, outcome)
    return RunResult(job, key, ran=True, outcome=outcome)


def _finish(job: str, key: str, outcome: str) -> None:
    db.session.execute(sa.update(JobRun).where(JobRun.job == job, JobRun.run_key == key)
                       .values(finished_at=utcnow(), outcome=outcome[:500]))
    db.session.commit()


# ---------------------------------------------------------------- run keys

def local_day_key(now: datetime) -> str:
    """The Asia/Shanghai date of `now`: the key of a daily job."""
    return now.astimezone(SHANGHAI).date().isoformat()


def slot_key(now: datetime, every: timedelta) -> str:
    """The start of the interval containing `now`: the key of a repeating job."""
    seconds = int(every.total_seconds())
    stamp = int(now.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(stamp, SHANGHAI).isoformat(timespec="seconds")


def reminder_interval(config) -> timedelta:
    """The reminder/escalation slot length: CRM_REMINDER_EVERY_SECONDS (tests) or _MINUTES."""
    return timedelta(seconds=config.get("CRM_REMINDER_EVERY_SECONDS") or config["CRM_REMINDER_EVERY_MINUTES"] * 60)


def parse_local_time(text: str) -> time:
    """'06:30' → time(6, 30); seconds are allowed ('06:30:15'), for tests that start a job soon."""
    parts = text.strip().split(":")
    try:
        if not 2 <= len(parts) <= 3 or not all(p.strip().isdigit() for p in parts):
            raise ValueError(text)
        return time(*(int(p) for p in parts))
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day: write HH:MM, e.g. 06:30") from None


def slot_claimed(job: str, run_key: str) -> JobRun | None:
    """The row of whoever claimed this slot, or None while it is free."""
    return db.session.execute(sa.select(JobRun).where(JobRun.job == job, JobRun.run_key == run_key)).scalar_one_or_none()
