"""Scheduled jobs: exactly once per slot across real processes, at the right Asia/Shanghai times."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from crm import jobs
from crm.extensions import db
from crm.models import AuditEvent, FollowUp, JobRun, OutboxEmail, Stage
from crm.services import callbacks, digests, followups, job_runs, reminders
from tests.factories import make_client

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parent.parent


def at(*args) -> datetime:
    """A Shanghai wall-clock time as an aware datetime."""
    return datetime(*args, tzinfo=SHANGHAI)


def test_a_slot_runs_once_and_a_second_claim_is_skipped(app, world):
    calls = []
    first = job_runs.run_once("demo", "2026-11-25", lambda: calls.append(1) or "done")
    second = job_runs.run_once("demo", "2026-11-25", lambda: calls.append(2) or "done")
    assert (first.ran, second.ran, calls) == (True, False, [1])
    run = db.session.query(JobRun).one()
    assert run.finished_at is not None and run.outcome == "done"


def test_a_failed_run_is_recorded_and_not_silently_retried(app, world):
    def boom():
        raise RuntimeError("smtp down")

    with pytest.raises(RuntimeError):
        job_runs.run_once("demo", "k", boom)
    assert "smtp down" in db.session.query(JobRun).one().outcome
    assert job_runs.run_once("demo", "k", lambda: "x").ran is False
    assert job_runs.run_once("demo", "k", lambda: "x", force=True).ran is True


@pytest.mark.parametrize("now, key", [
    (datetime(2026, 1, 31, 15, 59, tzinfo=timezone.utc), "2026-01-31"),   # 23:59 in Shanghai
    (datetime(2026, 1, 31, 16, 0, tzinfo=timezone.utc), "2026-02-01"),    # midnight in Shanghai
    (datetime(2028, 2, 28, 16, 30, tzinfo=timezone.utc), "2028-02-29"),   # leap day
    (datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc), "2027-01-01"),
])
def test_daily_jobs_are_keyed_by_the_shanghai_date(now, key):
    assert job_runs.local_day_key(now) == key


def test_reminder_slots_are_the_same_for_every_process():
    every = timedelta(minutes=5)
    assert job_runs.slot_key(at(2026, 3, 1, 0, 4, 59), every) == job_runs.slot_key(at(2026, 3, 1, 0, 0, 1), every)
    assert job_runs.slot_key(at(2026, 3, 1, 0, 5, 0), every) != job_runs.slot_key(at(2026, 3, 1, 0, 4, 59), every)


@pytest.mark.parametrize("after, expected", [
    (at(2026, 1, 31, 8, 0, 1), at(2026, 2, 1, 8, 0)),     # month end
    (at(2026, 2, 28, 7, 59), at(2026, 2, 28, 8, 0)),
    (at(2026, 12, 31, 23, 0), at(2027, 1, 1, 8, 0)),      # year end
])
def test_the_digest_fires_at_eight_in_shanghai(after, expected):
    trigger = CronTrigger(hour=8, minute=0, timezone=SHANGHAI)
    fire = trigger.get_next_fire_time(None, after)
    assert fire == expected
    assert fire.astimezone(timezone.utc).hour == 0


def test_a_reminder_goes_out_at_the_last_pass_before_due_minus_the_lead_and_once(app, world):
    # Lead 15 minutes (the default), a pass every 5 minutes: due 09:00, reminder due 08:45, so the 08:40
    # pass sends it (the 08:45 pass would be too late).
    client = make_client(world.manager1, name="张三")
    followups.create(client, world.manager1, at(2026, 2, 1, 9, 0), "call", title="月初回访")
    db.session.commit()
    reminders.send_reminders(now=at(2026, 2, 1, 8, 35).astimezone(timezone.utc))
    assert db.session.query(OutboxEmail).count() == 0
    reminders.send_reminders(now=at(2026, 2, 1, 8, 40).astimezone(timezone.utc))
    reminders.send_reminders(now=at(2026, 2, 1, 8, 45).astimezone(timezone.utc))
    email = db.session.query(OutboxEmail).one()
    assert email.to_address == "m1@example.com" and "张三" in email.subject


def test_digests_go_once_per_shanghai_day(app, world):
    client = make_client(world.manager1, name="张三")
    followups.create(client, world.manager1, at(2026, 3, 1, 10, 0), "call")
    db.session.commit()
    digests.send_digests(now=at(2026, 3, 1, 8, 0).astimezone(timezone.utc))
    digests.send_digests(now=at(2026, 3, 1, 8, 0, 30).astimezone(timezone.utc))
    manager_digests = db.session.query(OutboxEmail).filter_by(to_address="m1@example.com").count()
    lead_digests = db.session.query(OutboxEmail).filter_by(to_address="lead@example.com").count()
    assert (manager_digests, lead_digests) == (1, 1)
    digests.send_digests(now=at(2026, 3, 2, 8, 0).astimezone(timezone.utc))
    assert db.session.query(OutboxEmail).filter_by(to_address="m1@example.com").count() == 2


def test_the_yearly_call_back_sample_takes_at_least_ten_percent_once(app, world):
    for i in range(25):
        make_client(world.manager1, name=f"活跃{i}").stage = Stage.ACTIVE.value
    make_client(world.manager1, name="潜客")
    db.session.commit()
    callbacks.callback_sample(2026, now=at(2026, 1, 2, 6, 30))
    callbacks.callback_sample(2026, now=at(2026, 1, 3, 6, 30))
    sample = db.session.query(FollowUp).filter_by(kind="callback").all()
    assert len(sample) == 3  # ceil(25 × 10%)
    assert all(f.client.stage == Stage.ACTIVE.value for f in sample)


def test_two_scheduler_processes_run_each_reminder_slot_once(app, world, database_url, tmp_path):
    """Two real `flask scheduler` processes share the database: every slot is run by exactly one."""
    client = make_client(world.manager1, name="张三")
    for i in range(5):
        followups.create(client, world.manager1, datetime.now(timezone.utc) - timedelta(minutes=i), "call")
    db.session.commit()
    # The daily jobs late in the day, so that no catch-up run (a digest) adds emails at any time of day.
    env = {**os.environ, "CRM_DATABASE_URL": database_url, "CRM_REMINDER_EVERY_SECONDS": "2",
           "CRM_SCAN_AT": "23:59:59", "CRM_DIGEST_AT": "23:59:59",
           "CRM_SMTP_HOST": "", "FLASK_APP": "wsgi", "PYTHONUNBUFFERED": "1"}
    flask = str(Path(sys.executable).parent / "flask")
    procs = [subprocess.Popen([flask, "--app", "wsgi", "scheduler", "--for-seconds", "9"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    ran = [re.findall(r"send-reminders (\S+): (?!run by another)", out) for out in outputs]
    skipped = [re.findall(r"send-reminders (\S+): run by another process", out) for out in outputs]
    ran_keys = ran[0] + ran[1]
    assert len(ran_keys) >= 2, outputs
    assert len(ran_keys) == len(set(ran_keys)), "a slot ran twice"
    assert skipped[0] or skipped[1], "the processes never competed for a slot"
    db.session.expire_all()
    rows = db.session.query(JobRun).filter_by(job="send-reminders").all()
    assert sorted(r.run_key for r in rows) == sorted(ran_keys)
    assert db.session.query(OutboxEmail).count() == 5  # one reminder per follow-up


# ---------------------------------------------------------------- reminder lead time

@pytest.mark.parametrize("pass_at, lead, sent", [
    (at(2026, 2, 1, 8, 39, 59), 15, False),  # the next pass (08:44:59) is still before 08:45
    (at(2026, 2, 1, 8, 40, 0), 15, True),    # the next pass (08:45) would be too late
    (at(2026, 2, 1, 8, 54, 59), 0, False),
    (at(2026, 2, 1, 8, 55, 0), 0, True),
    (at(2026, 2, 1, 7, 55, 0), 60, True),
    (at(2026, 2, 1, 7, 54, 59), 60, False),
])
def test_a_reminder_is_selected_by_the_pass_before_its_time(pass_at, lead, sent):
    due = at(2026, 2, 1, 9, 0)
    cutoff = reminders.reminder_cutoff(pass_at, timedelta(minutes=5), timedelta(minutes=lead))
    assert (due <= cutoff) is sent
    if sent:  # and then it is handed over before due - lead
        assert pass_at < due - timedelta(minutes=lead)


def passes(start: datetime, end: datetime, every: timedelta = timedelta(minutes=5)):
    while start <= end:
        yield start.astimezone(timezone.utc)
        start += every


def test_the_pass_that_queues_a_reminder_delivers_it_before_due_minus_the_lead(app, world):
    from crm.services import settings
    from tests.test_outbox import SmtpServer

    server = SmtpServer()
    server.start()
    try:
        app.config.update(CRM_SMTP_HOST="127.0.0.1", CRM_SMTP_PORT=server.port, CRM_SMTP_TLS="none", CRM_SMTP_USER="")
        settings.set_int("reminder_lead_minutes", 20, world.admin)
        client = make_client(world.manager1, name="张三")
        followup = followups.create(client, world.manager1, at(2026, 2, 1, 9, 2), "call")
        db.session.commit()
        outcomes = {}
        for now in passes(at(2026, 2, 1, 8, 0), at(2026, 2, 1, 9, 0)):
            outcomes[now] = reminders.send_reminders(now=now)
        [email] = db.session.query(OutboxEmail).all()
        assert email.status == "sent" and len(server.inbox.envelopes) == 1
        # Reminder due 08:42: the 08:40 pass queues it and sends it at once.
        assert email.sent_at == at(2026, 2, 1, 8, 40) and email.sent_at < followup.due_at - timedelta(minutes=20)
        assert outcomes[at(2026, 2, 1, 8, 40).astimezone(timezone.utc)].startswith("reminders queued 1; 1 sent")
    finally:
        server.stop()


def test_a_snoozed_follow_up_is_reminded_again_by_the_same_rule(app, world):
    client = make_client(world.manager1, name="张三")
    followup = followups.create(client, world.manager1, at(2026, 2, 1, 9, 0), "call")
    db.session.commit()
    reminders.send_reminders(now=at(2026, 2, 1, 8, 40).astimezone(timezone.utc))
    followups.snooze(followup, world.manager1, at(2026, 2, 3, 14, 0), "客户出差")
    db.session.commit()
    reminders.send_reminders(now=at(2026, 2, 3, 13, 35).astimezone(timezone.utc))
    assert db.session.query(OutboxEmail).count() == 1
    reminders.send_reminders(now=at(2026, 2, 3, 13, 40).astimezone(timezone.utc))
    assert db.session.query(OutboxEmail).count() == 2


def test_follow_ups_without_a_reminder_never_get_one(app, world):
    client = make_client(world.manager1, name="张三")
    followup = followups.create(client, world.manager1, at(2026, 2, 1, 9, 0), "call")
    followup.reminder_at = None  # as plan follow-ups are: they come in the morning digest
    db.session.commit()
    reminders.send_reminders(now=at(2026, 2, 1, 8, 59).astimezone(timezone.utc))
    assert db.session.query(OutboxEmail).count() == 0


def test_the_reminder_lead_is_on_the_rules_page_with_its_label(login, world):
    world.admin.locale = "en"
    db.session.commit()
    page = login("admin").get("/admin/settings").get_data(as_text=True)
    assert "Send follow-up reminder emails this many minutes before the due time" in page
    assert 'name="reminder_lead_minutes"' in page and 'value="15"' in page


# ---------------------------------------------------------------- overdue: one definition

def test_both_digests_agree_on_overdue_at_the_same_instant(app, world):
    world.manager1.locale = world.lead.locale = "en"
    client = make_client(world.manager1, name="张三")
    now = at(2026, 3, 2, 8, 0)
    followups.create(client, world.manager1, at(2026, 3, 2, 7, 30), "call")  # earlier today: today's work
    followups.create(client, world.manager1, at(2026, 3, 1, 23, 59), "call")  # yesterday: overdue
    followups.create(client, world.manager1, at(2026, 3, 2, 10, 0), "call")
    db.session.commit()
    digests.send_digests(now=now.astimezone(timezone.utc))
    manager = db.session.query(OutboxEmail).filter_by(to_address="m1@example.com").one()
    lead = db.session.query(OutboxEmail).filter_by(to_address="lead@example.com").one()
    assert manager.subject.endswith(": 1 overdue, 2 today")
    assert "王经理: 3 open, 1 overdue, 0 flagged clients" in lead.text_body
    # The Team page and Today read the same definition.
    row = {r.user.id: r for r in followups.team_board(world.lead, now=now)}[world.manager1.id]
    assert len(followups.today_view(world.manager1, now=now).overdue) == row.overdue == 1
    assert len(followups.team_followups(world.lead, world.manager1.id, overdue_only=True, now=now)) == 1


# ---------------------------------------------------------------- by hand, scheduled, catch-up

def test_a_run_by_hand_leaves_the_scheduled_slot_free_and_says_so(app, world, runner):
    first = runner.invoke(args=["scan-clients"])
    second = runner.invoke(args=["scan-clients"])
    assert first.exit_code == second.exit_code == 0, first.output
    assert "run by hand" in first.output and "left to the scheduler" in first.output
    assert "ScanReport(" not in first.output and "scanned 0 clients in" in first.output  # a sentence
    today = job_runs.local_day_key(datetime.now(timezone.utc))
    assert job_runs.slot_claimed("scan-clients", today) is None
    keys = [r.run_key for r in db.session.query(JobRun).filter_by(job="scan-clients")]
    assert len(keys) == 2 and all(k.startswith(f"{today}#manual-") for k in keys)
    scheduled = runner.invoke(args=["scan-clients", "--scheduled"])
    again = runner.invoke(args=["scan-clients", "--scheduled"])
    assert "scheduled run done" in scheduled.output, scheduled.output
    assert "already run by another process" in again.output and "without --scheduled" in again.output
    assert job_runs.slot_claimed("scan-clients", today).finished_at is not None


def test_a_scheduled_run_from_cron_writes_its_audit_rows_as_the_scheduler(app, world, runner):
    def scan_sources() -> list[str]:
        return [e.source for e in db.session.query(AuditEvent).filter_by(action="flags.scan").order_by(AuditEvent.id)]

    assert runner.invoke(args=["scan-clients", "--scheduled"]).exit_code == 0
    assert scan_sources() == ["scheduler"]
    # The source is the scheduled run's only: a run by hand afterwards is the command line again.
    assert runner.invoke(args=["scan-clients"]).exit_code == 0
    assert scan_sources() == ["scheduler", "cli"]


def test_every_declared_job_is_a_command_with_the_scheduled_flag(app):
    for job in jobs.SCHEDULED:
        command = app.cli.get_command(None, job.name)
        assert command is not None and "scheduled" in [p.name for p in command.params]


# ---------------------------------------------------------------- one registry

EXPECTED_JOBS = ["scan-clients", "plan-followups", "send-digests", "send-reminders", "escalate-complaints",
                 "release-prospects", "callback-sample", "send-email"]


def test_the_registry_declares_each_job_exactly_once():
    names = [job.name for job in jobs.JOBS]
    assert names == EXPECTED_JOBS and len(set(names)) == len(names)
    assert jobs.JOBS_BY_NAME == {job.name: job for job in jobs.JOBS}
    # Delivery is a job of its own, which any number of senders may run at once (the outbox leases emails).
    assert [job.name for job in jobs.JOBS if not job.exactly_once] == ["send-email"]
    assert jobs.JOBS_BY_NAME["send-email"].schedule is None


def test_the_cli_and_the_scheduler_expose_exactly_the_registrys_jobs(app):
    from crm import scheduler

    job_like = {name for name, command in app.cli.commands.items()
                if any(p.name in ("scheduled", "every") for p in command.params)}
    assert job_like == set(EXPECTED_JOBS)
    for job in jobs.JOBS:
        params = {p.name for p in app.cli.get_command(None, job.name).params}
        assert {option.name for option in job.options} <= params
    planned = {entry.id for entry in scheduler.build(app).get_jobs()} - {"catch-up"}
    assert planned == {job.name for job in jobs.SCHEDULED} == set(EXPECTED_JOBS) - {"send-email"}


def test_the_call_back_sample_command_claims_the_year_it_is_given(app, world, runner):
    make_client(world.manager1, name="活跃").stage = Stage.ACTIVE.value
    db.session.commit()
    first = runner.invoke(args=["callback-sample", "--year", "2031", "--scheduled"])
    again = runner.invoke(args=["callback-sample", "--year", "2031", "--scheduled"])
    assert "callback-sample 2031: scheduled run done" in first.output, first.output
    assert "call-back sample 2031: 1 of 1 active clients" in first.output
    assert "already run by another process" in again.output
    assert job_runs.slot_claimed("callback-sample", "2031").finished_at is not None
    by_hand = runner.invoke(args=["callback-sample", "--year", "2031"])
    assert "run by hand (run key 2031#manual-" in by_hand.output, by_hand.output


def config_with(**values) -> dict:
    return {"CRM_SCAN_AT": "06:30", "CRM_DIGEST_AT": "08:00", "CRM_REMINDER_EVERY_MINUTES": 5,
            "CRM_REMINDER_EVERY_SECONDS": 0, **values}


def test_catch_up_finds_the_daily_jobs_whose_time_passed_with_their_slot_unclaimed(app, world):
    config = config_with()
    before = at(2026, 3, 2, 6, 29).astimezone(timezone.utc)
    assert [j.name for j in jobs.missed(before, config)] == ["callback-sample"]  # the year's, from 1 January
    job_runs.run_once("callback-sample", "2026", lambda: "done")
    assert jobs.missed(before, config) == []
    after_scan = at(2026, 3, 2, 6, 31).astimezone(timezone.utc)
    assert [j.name for j in jobs.missed(after_scan, config)] == ["scan-clients", "plan-followups"]
    jobs.run_by_hand(jobs.JOBS_BY_NAME["scan-clients"], after_scan, config, work=lambda: "by hand")
    assert "scan-clients" in [j.name for j in jobs.missed(after_scan, config)]  # by hand does not count
    job_runs.run_once("scan-clients", "2026-03-02", lambda: "done")
    later = at(2026, 3, 2, 9, 0).astimezone(timezone.utc)
    assert [j.name for j in jobs.missed(later, config)] == ["plan-followups", "send-digests"]


@pytest.mark.parametrize("text, expected", [("06:30", (6, 30, 0)), ("6:5", (6, 5, 0)), ("23:59:59", (23, 59, 59))])
def test_job_times_are_hours_minutes_and_optional_seconds(text, expected):
    parsed = job_runs.parse_local_time(text)
    assert (parsed.hour, parsed.minute, parsed.second) == expected


@pytest.mark.parametrize("text", ["", "6h30", "25:00", "06:30:00:00"])
def test_a_wrong_job_time_is_refused_with_its_format(text):
    with pytest.raises(ValueError, match="HH:MM"):
        job_runs.parse_local_time(text)


def test_two_reminder_passes_at_once_queue_each_reminder_once_and_both_succeed(app, world):
    """A pass that outlasts the interval overlaps the next one (in another scheduler): neither fails."""
    app.config["CRM_SMTP_HOST"] = ""
    client = make_client(world.manager1, name="张三")
    now = datetime.now(timezone.utc)
    for i in range(60):
        followups.create(client, world.manager1, now - timedelta(minutes=i), "call")
    db.session.commit()
    start, errors, outcomes = threading.Barrier(2), [], []

    def reminder_pass(at: datetime) -> None:
        try:
            with app.app_context():
                start.wait()
                outcomes.append(reminders.send_reminders(now=at))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=reminder_pass, args=(now + timedelta(seconds=s),)) for s in (0, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [], errors
    assert db.session.query(OutboxEmail).count() == 60
    queued = sorted(int(re.match(r"reminders queued (\d+)", o).group(1)) for o in outcomes)
    assert sum(queued) == 60, outcomes
    db.session.expire_all()
    assert db.session.query(FollowUp).filter(FollowUp.reminded_at.is_(None)).count() == 0
