"""Every job, declared once: its name, summary, schedule, run-key rule, options and the service it calls.

The scheduler (`crm.scheduler`) and the CLI (`crm.cli`) both build from `JOBS` and hold nothing about
any one job. Two kinds:

- a slot job (`exactly_once`) runs each scheduled slot once across every process, through
  `crm.services.job_runs.run_once`: a daily job at a local time (the slot is the Asia/Shanghai date),
  a job every reminder interval (the slot is the interval's start), a yearly job on 1 January (the slot
  is the year). Its command runs by hand under a key of its own, or with `--scheduled` claims the slot;
- a pass job (`send-email`) may run in several processes at once, as the outbox claims each email with a
  lease (see `crm.services.outbox`); it has no slot and no schedule of its own. The scheduler delivers
  the outbox in every `send-reminders` pass; cron or a worker runs `send-email` where there is no
  scheduler. Its command runs one pass, or with `--every N` keeps running.

This module sits on top: it imports the services, and no service imports it. The jobs hold no rules:
each calls one feature service (reminders, digests, callbacks, scan, plans, complaints, outbox).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l

from crm.domain.clock import SHANGHAI
from crm.services import callbacks, complaints, digests, outbox, plans, pool, reminders, scan
from crm.services.job_runs import (
    RunResult,
    local_day_key,
    own_key,
    parse_local_time,
    reminder_interval,
    run_once,
    slot_claimed,
    slot_key,
)

DAILY, EVERY, YEARLY = "daily", "every", "yearly"


@dataclass(frozen=True)
class Option:
    """A command-line option of a job's command (`--<name>`), passed to its work as the keyword `name`."""

    name: str
    type: type
    default: object = None
    help: str = ""


@dataclass(frozen=True)
class Job:
    """A job, declared once: the scheduler reads when it runs, the CLI makes it a command."""

    name: str
    # A slot job: work(now, **options), its outcome recorded on the run. A pass job: work(**options) on the
    # real clock, returning an outcome whose str() the heartbeat records, with notice() (what the command
    # prints) and idle (nothing was due: a repeating command stays quiet), as outbox.DeliveryReport has.
    work: Callable[..., object]
    schedule: str | None  # DAILY at `at`, EVERY reminder interval, YEARLY on 1 January at `at`; None: not scheduled
    summary: str  # a lazy gettext string: what the job does, in a sentence
    at: str = ""  # config key of the local (Asia/Shanghai) time of a daily or yearly job
    delay: timedelta = timedelta(0)  # after that time
    options: tuple[Option, ...] = ()
    beats: bool = False  # it delivers the outbox: each run is recorded as the process's delivery pass
    exactly_once: bool = True  # False: a pass job, which any number of processes may run at once

    def run_key(self, now: datetime, config, options: dict | None = None) -> str:
        """The slot containing `now`: the local date, the interval start, or the year (`--year` if given)."""
        if self.schedule == DAILY:
            return local_day_key(now)
        if self.schedule == YEARLY:
            return str((options or {}).get("year") or now.astimezone(SHANGHAI).year)
        return slot_key(now, reminder_interval(config))

    def local_time(self, config) -> time:
        """The Asia/Shanghai time of day of a daily or yearly job."""
        start = datetime.combine(date(2000, 1, 1), parse_local_time(config[self.at]))
        return (start + self.delay).time()

    def due_time(self, now: datetime, config) -> datetime | None:
        """When the slot containing `now` was (or is) due; None for interval and unscheduled jobs."""
        if self.schedule not in (DAILY, YEARLY):
            return None
        local = now.astimezone(SHANGHAI).date()
        day = local if self.schedule == DAILY else date(local.year, 1, 1)
        return datetime.combine(day, self.local_time(config), SHANGHAI)

    def describe(self, config) -> str:
        """'daily at 06:30:00', for logs and command help (of a scheduled job)."""
        if self.schedule == EVERY:
            return f"every {int(reminder_interval(config).total_seconds())} s"
        when = self.local_time(config).isoformat()
        return f"daily at {when}" if self.schedule == DAILY else f"yearly on 1 January at {when}"


JOBS: tuple[Job, ...] = (
    Job("scan-clients", scan.scan_clients, DAILY, _l("Flag dormant and at-risk clients and create their follow-ups."),
        at="CRM_SCAN_AT"),
    # Right after the scan, so that the morning digest already lists the plans' follow-ups.
    Job("plan-followups", plans.generate, DAILY, _l("Create follow-ups for service-plan occurrences coming up."),
        at="CRM_SCAN_AT", delay=timedelta(seconds=30)),
    Job("send-digests", digests.send_digests, DAILY, _l("Morning digests to managers and team summaries to leads."),
        at="CRM_DIGEST_AT"),
    Job("send-reminders", reminders.send_reminders, EVERY,
        _l("Queue due follow-up reminders and deliver the email outbox."), beats=True),
    Job("escalate-complaints", complaints.escalate_overdue, EVERY,
        _l("Escalate overdue complaints to the team lead, then to compliance.")),
    # Every reminder interval, not daily: a protection ends at an exact instant, and the release follows it
    # within one interval (as escalation follows a deadline); a pass with nothing lapsed is one UPDATE.
    Job("release-prospects", pool.release_lapsed, EVERY,
        _l("Release prospects not contacted within the protection period to their team pool.")),
    Job("callback-sample", callbacks.yearly_callback_sample, YEARLY,
        _l("This year's call-back sample of active clients."), at="CRM_SCAN_AT",
        options=(Option("year", int, help="Default: this year."),)),
    Job("send-email", outbox.deliver_all_due, None,
        _l("Deliver the due emails of the outbox over SMTP; without CRM_SMTP_HOST they stay queued."),
        options=(Option("limit", int, 50, "Emails per SMTP connection."),), beats=True, exactly_once=False),
)
JOBS_BY_NAME = {job.name: job for job in JOBS}
SCHEDULED = tuple(job for job in JOBS if job.schedule is not None)


def run_scheduled(job: Job, now: datetime, config, options: dict | None = None) -> RunResult:
    """Run the job's scheduled slot for `now`, exactly once across every process that asks."""
    options = options or {}
    return run_once(job.name, job.run_key(now, config, options), lambda: job.work(now, **options))


def run_by_hand(job: Job, now: datetime, config, work: Callable[[], object] | None = None,
                options: dict | None = None) -> RunResult:
    """Run the job now under a key of its own, leaving the scheduled slot to the scheduler."""
    options = options or {}
    key = own_key(job.run_key(now, config, options))
    return run_once(job.name, key, work or (lambda: job.work(now, **options)))


def missed(now: datetime, config) -> list[Job]:
    """Daily and yearly jobs whose time has passed in the current slot while that slot is still unclaimed.

    A scheduler that starts (or wakes from a suspend) after 06:30 runs the day's scan then, instead of
    waiting for tomorrow; a run by hand does not count, as it has a key of its own.
    """
    found = []
    for job in SCHEDULED:
        due = job.due_time(now, config)
        if due is not None and now >= due and slot_claimed(job.name, job.run_key(now, config)) is None:
            found.append(job)
    return found


def run_pass(job: Job, options: dict | None = None) -> object:
    """One pass of a pass job, on the real clock (no slot is claimed)."""
    return job.work(**(options or {}))

