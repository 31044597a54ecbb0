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
once in `JOBS` (name, schedule, work), read by the scheduler and by the CLI.
"""
from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import orm as so
from sqlalchemy.exc import IntegrityError

from crm.domain.clock import SHANGHAI
from crm.extensions import db
from crm.models import Client, ClientFlag, FollowUp, FollowUpStatus, JobRun, Role, User, utcnow
from crm.services import callbacks, followups, mail, settings
from crm.services.links import absolute_url
from crm.services.scan import flagged_clients, flagged_for_clients


def owner_name() -> str:
    """Who is running: host and process id, recorded on each claimed run."""
    return f"{socket.gethostname()}:{os.getpid()}"


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


# ---------------------------------------------------------------- the jobs

def reminder_cutoff(now: datetime, every: timedelta, lead: timedelta) -> datetime:
    """The latest due time whose reminder this pass sends.

    A reminder is due `lead` before the follow-up (the `reminder_lead_minutes` setting). Passes run
    every `every`, so the pass at `now` sends each reminder due no later than the next pass (`now +
    every`): waiting for that pass would hand it to the mail server too late. Hence: due_at <= now +
    every + lead.
    """
    return now + every + lead


def send_reminders(now: datetime | None = None) -> str:
    """Queue a reminder email for each follow-up whose reminder falls before the next pass, then deliver them.

    A follow-up wants a reminder when it has a `reminder_at` (plan follow-ups have none: they come in
    the morning digest); its time is `due_at - reminder_lead_minutes`, whatever `reminder_at` holds, so
    that the setting applies to every follow-up, snoozed ones included (a snooze moves `due_at` and
    clears `reminded_at`). Emails are queued due at `now`, so this same pass delivers them.
    """
    from crm.services import outbox

    now = now or utcnow()
    lead = timedelta(minutes=settings.get_int("reminder_lead_minutes"))
    cutoff = reminder_cutoff(now, reminder_interval(current_app.config), lead)
    due = list(db.session.execute(
        sa.select(FollowUp).options(so.joinedload(FollowUp.client), so.joinedload(FollowUp.assignee))
        .where(FollowUp.status.in_([FollowUpStatus.OPEN.value, FollowUpStatus.SNOOZED.value]),
               FollowUp.reminder_at.is_not(None), FollowUp.reminded_at.is_(None), FollowUp.due_at <= cutoff)
        .order_by(FollowUp.due_at).limit(500)).scalars())
    due = _claim_reminders(due, now)
    for followup in due:
        mail.queue(followup.assignee, "followup_reminder", send_after=now,
                   dedupe_key=f"reminder:{followup.id}:{followup.assignee_id}:{followup.due_at.isoformat()}",
                   followup=followup, url=absolute_url("followups.show", followup_id=followup.id))
    db.session.commit()
    report = outbox.deliver_due(now=now)
    return f"reminders queued {len(due)}; {report.sent} sent, {report.retried} to retry, {report.failed} failed" + (
        f", {report.skipped_no_smtp} waiting: no SMTP server configured" if report.skipped_no_smtp else "")


def _claim_reminders(due: list[FollowUp], now: datetime) -> list[FollowUp]:
    """Mark these follow-ups reminded; keep those that no overlapping pass marked first.

    Passes overlap when one outlasts the interval or several schedulers run. The conditional UPDATE
    is the pass's first write: a second pass waits for the first to commit, then finds the rows taken
    (instead of queueing the same reminders and failing on the outbox's unique dedupe key).
    """
    if not due:
        return []
    taken = set(db.session.execute(
        sa.update(FollowUp).where(FollowUp.id.in_([f.id for f in due]), FollowUp.reminded_at.is_(None))
        .values(reminded_at=now).returning(FollowUp.id)
        .execution_options(synchronize_session=False)).scalars())
    return [f for f in due if f.id in taken]


def send_digests(now: datetime | None = None) -> str:
    """Morning digest to each manager (overdue, today, new flags) and a team summary to each lead."""
    now = now or utcnow()
    day = now.astimezone(SHANGHAI).date()
    since = now - timedelta(days=1)
    people = list(db.session.execute(sa.select(User).where(User.active.is_(True), User.email != "")).scalars())
    sent = 0
    for user in people:
        if user.role in (Role.MANAGER, Role.LEAD):
            view = followups.today_view(user, now=now)
            flags = list(db.session.execute(
                sa.select(ClientFlag).join(Client, Client.id == ClientFlag.client_id)
                .options(so.contains_eager(ClientFlag.client))
                .where(Client.owner_id == user.id, ClientFlag.cleared_at.is_(None), ClientFlag.since >= since)
            ).scalars())
            if view.overdue or view.today or flags:
                figures = flagged_for_clients([flag.client_id for flag in flags], now=now)
                mail.queue(user, "digest_manager", dedupe_key=f"digest:{user.id}:{day}", view=view, flags=flags,
                           figures=figures, day=day, url=absolute_url("followups.today"))
                sent += 1
        if user.role == Role.LEAD and user.team_id is not None:
            rows = followups.team_board(user, now=now)
            if any(r.open or r.overdue or r.flagged for r in rows):
                # The same list, order and reason texts as the Team page's flagged clients (first 20).
                flagged, _more = flagged_clients([r.user.id for r in rows], now=now)
                mail.queue(user, "digest_lead", dedupe_key=f"team-digest:{user.id}:{day}", rows=rows, day=day,
                           flagged=flagged, url=absolute_url("followups.board"))
                sent += 1
    db.session.commit()
    return f"digests queued {sent}"


def scan(now: datetime | None = None) -> str:
    """The dormant/at-risk scan (see crm.services.scan)."""
    from crm.services.scan import scan_clients

    return str(scan_clients(now=now or utcnow()))


def plan_followups(now: datetime | None = None) -> str:
    """Create the follow-ups of service-plan occurrences coming up (see crm.services.plans)."""
    from crm.services import plans

    return str(plans.generate(now=now or utcnow()))


def escalate_complaints(now: datetime | None = None) -> str:
    """Escalate overdue complaints (see crm.services.complaints)."""
    from crm.services import complaints

    return complaints.escalate_overdue(now or utcnow())


# ---------------------------------------------------------------- one declaration per job

DAILY, EVERY, YEARLY = "daily", "every", "yearly"


@dataclass(frozen=True)
class Job:
    """A scheduled job, declared once: the scheduler reads when it runs, the CLI makes it a command."""

    name: str
    work: Callable[[datetime], object]
    schedule: str  # DAILY at the config time `at`, EVERY reminder interval, YEARLY on 1 January at `at`
    summary: str
    at: str = ""  # config key of the local (Asia/Shanghai) time of a daily or yearly job
    delay: timedelta = timedelta(0)  # after that time

    def run_key(self, now: datetime, config) -> str:
        """The scheduled slot containing `now`: the local date, the interval start, or the year."""
        if self.schedule == DAILY:
            return local_day_key(now)
        if self.schedule == YEARLY:
            return str(now.astimezone(SHANGHAI).year)
        return slot_key(now, reminder_interval(config))

    def local_time(self, config) -> time:
        """The Asia/Shanghai time of day of a daily or yearly job."""
        start = datetime.combine(date(2000, 1, 1), parse_local_time(config[self.at]))
        return (start + self.delay).time()

    def due_time(self, now: datetime, config) -> datetime | None:
        """When the slot containing `now` was (or is) due; None for interval jobs."""
        if self.schedule == EVERY:
            return None
        local = now.astimezone(SHANGHAI).date()
        day = local if self.schedule == DAILY else date(local.year, 1, 1)
        return datetime.combine(day, self.local_time(config), SHANGHAI)

    def describe(self, config) -> str:
        """'daily at 06:30:00', for logs and command help."""
        if self.schedule == EVERY:
            return f"every {int(reminder_interval(config).total_seconds())} s"
        when = self.local_time(config).isoformat()
        return f"daily at {when}" if self.schedule == DAILY else f"yearly on 1 January at {when}"


JOBS: tuple[Job, ...] = (
    Job("scan-clients", scan, DAILY, "Flag dormant and at-risk clients and create their follow-ups.",
        at="CRM_SCAN_AT"),
    # Right after the scan, so that the morning digest already lists the plans' follow-ups.
    Job("plan-followups", plan_followups, DAILY, "Create follow-ups for service-plan occurrences coming up.",
        at="CRM_SCAN_AT", delay=timedelta(seconds=30)),
    Job("send-digests", send_digests, DAILY, "Morning digests to managers and team summaries to leads.",
        at="CRM_DIGEST_AT"),
    Job("send-reminders", send_reminders, EVERY, "Queue due follow-up reminders and deliver the email outbox."),
    Job("escalate-complaints", escalate_complaints, EVERY,
        "Escalate overdue complaints to the team lead, then to compliance."),
    Job("callback-sample", callbacks.yearly_callback_sample, YEARLY, "This year's call-back sample of active clients.",
        at="CRM_SCAN_AT"),
)
JOBS_BY_NAME = {job.name: job for job in JOBS}


def run_scheduled(job: Job, now: datetime, config) -> RunResult:
    """Run the job's scheduled slot for `now`, exactly once across every process that asks."""
    return run_once(job.name, job.run_key(now, config), lambda: job.work(now))


def run_by_hand(job: Job, now: datetime, config, work: Callable[[], object] | None = None) -> RunResult:
    """Run the job now under a key of its own, leaving the scheduled slot to the scheduler."""
    key = own_key(job.run_key(now, config))
    return run_once(job.name, key, work or (lambda: job.work(now)))


def missed(now: datetime, config) -> list[Job]:
    """Daily and yearly jobs whose time has passed in the current slot while that slot is still unclaimed.

    A scheduler that starts (or wakes from a suspend) after 06:30 runs the day's scan then, instead of
    waiting for tomorrow; a run by hand does not count, as it has a key of its own.
    """
    found = []
    for job in JOBS:
        due = job.due_time(now, config)
        if due is not None and now >= due and slot_claimed(job.name, job.run_key(now, config)) is None:
            found.append(job)
    return found
