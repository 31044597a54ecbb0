"""Scheduled jobs: exactly once per slot across real processes, at the right Asia/Shanghai times."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from crm.extensions import db
from crm.models import FollowUp, JobRun, OutboxEmail, Stage
from crm.services import followups, jobs
from tests.factories import make_client

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parent.parent


def at(*args) -> datetime:
    """A Shanghai wall-clock time as an aware datetime."""
    return datetime(*args, tzinfo=SHANGHAI)


def test_a_slot_runs_once_and_a_second_claim_is_skipped(app, world):
    calls = []
    first = jobs.run_once("demo", "2026-11-25", lambda: calls.append(1) or "done")
    second = jobs.run_once("demo", "2026-11-25", lambda: calls.append(2) or "done")
    assert (first.ran, second.ran, calls) == (True, False, [1])
    run = db.session.query(JobRun).one()
    assert run.finished_at is not None and run.outcome == "done"


def test_a_failed_run_is_recorded_and_not_silently_retried(app, world):
    def boom():
        raise RuntimeError("smtp down")

    with pytest.raises(RuntimeError):
        jobs.run_once("demo", "k", boom)
    assert "smtp down" in db.session.query(JobRun).one().outcome
    assert jobs.run_once("demo", "k", lambda: "x").ran is False
    assert jobs.run_once("demo", "k", lambda: "x", force=True).ran is True


@pytest.mark.parametrize("now, key", [
    (datetime(2026, 1, 31, 15, 59, tzinfo=timezone.utc), "2026-01-31"),   # 23:59 in Shanghai
    (datetime(2026, 1, 31, 16, 0, tzinfo=timezone.utc), "2026-02-01"),    # midnight in Shanghai
    (datetime(2028, 2, 28, 16, 30, tzinfo=timezone.utc), "2028-02-29"),   # leap day
    (datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc), "2027-01-01"),
])
def test_daily_jobs_are_keyed_by_the_shanghai_date(now, key):
    assert jobs.local_day_key(now) == key


def test_reminder_slots_are_the_same_for_every_process():
    every = timedelta(minutes=5)
    assert jobs.slot_key(at(2026, 3, 1, 0, 4, 59), every) == jobs.slot_key(at(2026, 3, 1, 0, 0, 1), every)
    assert jobs.slot_key(at(2026, 3, 1, 0, 5, 0), every) != jobs.slot_key(at(2026, 3, 1, 0, 4, 59), every)


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


def test_a_reminder_goes_out_half_an_hour_before_the_due_time_and_once(app, world):
    client = make_client(world.manager1, name="张三")
    followups.create(client, world.manager1, at(2026, 2, 1, 9, 0), "call", title="月初回访")
    db.session.commit()
    jobs.send_reminders(now=at(2026, 2, 1, 8, 29).astimezone(timezone.utc))
    assert db.session.query(OutboxEmail).count() == 0
    jobs.send_reminders(now=at(2026, 2, 1, 8, 30).astimezone(timezone.utc))
    jobs.send_reminders(now=at(2026, 2, 1, 8, 35).astimezone(timezone.utc))
    email = db.session.query(OutboxEmail).one()
    assert email.to_address == "m1@example.com" and "张三" in email.subject


def test_digests_go_once_per_shanghai_day(app, world):
    client = make_client(world.manager1, name="张三")
    followups.create(client, world.manager1, at(2026, 3, 1, 10, 0), "call")
    db.session.commit()
    jobs.send_digests(now=at(2026, 3, 1, 8, 0).astimezone(timezone.utc))
    jobs.send_digests(now=at(2026, 3, 1, 8, 0, 30).astimezone(timezone.utc))
    manager_digests = db.session.query(OutboxEmail).filter_by(to_address="m1@example.com").count()
    lead_digests = db.session.query(OutboxEmail).filter_by(to_address="lead@example.com").count()
    assert (manager_digests, lead_digests) == (1, 1)
    jobs.send_digests(now=at(2026, 3, 2, 8, 0).astimezone(timezone.utc))
    assert db.session.query(OutboxEmail).filter_by(to_address="m1@example.com").count() == 2


def test_the_yearly_call_back_sample_takes_at_least_ten_percent_once(app, world):
    for i in range(25):
        make_client(world.manager1, name=f"活跃{i}").stage = Stage.ACTIVE.value
    make_client(world.manager1, name="潜客")
    db.session.commit()
    jobs.callback_sample(2026, now=at(2026, 1, 2, 6, 30))
    jobs.callback_sample(2026, now=at(2026, 1, 3, 6, 30))
    sample = db.session.query(FollowUp).filter_by(kind="callback").all()
    assert len(sample) == 3  # ceil(25 × 10%)
    assert all(f.client.stage == Stage.ACTIVE.value for f in sample)


def test_two_scheduler_processes_run_each_reminder_slot_once(app, world, database_url, tmp_path):
    """Two real `flask scheduler` processes share the database: every slot is run by exactly one."""
    client = make_client(world.manager1, name="张三")
    for i in range(5):
        followups.create(client, world.manager1, datetime.now(timezone.utc) - timedelta(minutes=i), "call")
    db.session.commit()
    env = {**os.environ, "CRM_DATABASE_URL": database_url, "CRM_REMINDER_EVERY_SECONDS": "2",
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
