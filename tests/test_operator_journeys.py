"""The operator's journeys with real processes: gunicorn, `flask scheduler`, `flask scan-clients` and a real
SMTP server (aiosmtpd), all configured the same way and sharing the test database."""
from __future__ import annotations

import email
import email.policy
import http.cookiejar
import math
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from crm.extensions import db
from crm.models import FollowUp, JobRun, OutboxEmail
from crm.services import job_runs, settings
from tests.factories import PASSWORD, make_client
from tests.test_outbox import free_port

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BASE_URL = "http://crm.example.test"
MAIL_FROM = "Outlet CRM <crm@bank.example>"


class TimedInbox:
    """Keeps each accepted message with the moment the server accepted it."""

    def __init__(self) -> None:
        self.received: list[tuple[float, email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append((time.time(), message))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_inbox():
    inbox = TimedInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


def process_env(database_url: str, **extra: str) -> dict:
    """The one configuration every process of the deployment gets."""
    return {**os.environ, "CRM_DATABASE_URL": database_url, "CRM_BASE_URL": BASE_URL, "CRM_MAIL_FROM": MAIL_FROM,
            "CRM_SMTP_HOST": "", "PYTHONUNBUFFERED": "1", **extra}


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def clear_of_midnight(margin: float) -> datetime:
    """Now in Shanghai, at least `margin` seconds away from midnight on both sides (waits if needed)."""
    now = datetime.now(SHANGHAI)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), SHANGHAI)
    if (midnight - now).total_seconds() < margin:
        time.sleep((midnight - now).total_seconds() + margin)
    elif (now - midnight + timedelta(days=1)).total_seconds() < margin:
        time.sleep(margin)
    return datetime.now(SHANGHAI)


class Browser:
    """A signed-in HTTP client of the real web server: cookies and CSRF tokens as a browser keeps them."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=20) as response:
            self.url = response.geturl()
            return response.read().decode()

    def post(self, path: str, form_page: str, data: dict) -> int:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form_page).group(1)
        body = urllib.parse.urlencode({**data, "csrf_token": token}).encode()
        with self.opener.open(urllib.request.Request(self.base + path, data=body), timeout=20) as response:
            return response.status

    def sign_in(self, username: str) -> Browser:
        self.post("/login", self.get("/login"), {"username": username, "password": PASSWORD})
        self.get("/")
        assert "/login" not in self.url, f"{username} is not signed in"
        return self


def start_web(env: dict, port: int, log: Path) -> subprocess.Popen:
    """Two gunicorn workers, as in production."""
    web = subprocess.Popen([str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
                           cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    wait_for(up, 30, "gunicorn")
    return web


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_a_reminder_email_arrives_before_the_due_time_with_the_configured_links(app, world, database_url,
                                                                                 smtp_inbox, tmp_path):
    """(b) Web and scheduler as separate processes, one configuration: a follow-up due in 20 minutes,
    created through the web, is reminded before its time, with links and Message-IDs of that configuration."""
    smtp_port, inbox = smtp_inbox
    client = make_client(world.manager1, name="张三")
    # A 20-minute lead makes the reminder due about now, so the test waits seconds, not minutes.
    settings.set_int("reminder_lead_minutes", 20, world.admin)
    db.session.commit()
    every = 5
    env = process_env(database_url, CRM_SMTP_HOST="127.0.0.1", CRM_SMTP_PORT=str(smtp_port), CRM_SMTP_TLS="none",
                      CRM_REMINDER_EVERY_SECONDS=str(every), CRM_SCAN_AT="23:59:59", CRM_DIGEST_AT="23:59:59")
    port = free_port()
    web = start_web(env, port, tmp_path / "web.log")
    scheduler = subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", "scheduler"], cwd=ROOT, env=env,
                                 stdout=(tmp_path / "scheduler.log").open("w"), stderr=subprocess.STDOUT)
    try:
        lead = Browser(f"http://127.0.0.1:{port}").sign_in("lead")
        # Due on a whole minute (the form has minutes) at least 20 minutes and 2 passes from now.
        now = clear_of_midnight(90)
        due = datetime.fromtimestamp(math.ceil((now.timestamp() + 20 * 60 + 2 * every + 2) / 60) * 60, SHANGHAI)
        form = lead.get(f"/clients/{client.id}/followups/new")
        assert lead.post(f"/clients/{client.id}/followups/new", form, {
            "due_at": due.strftime("%Y-%m-%dT%H:%M"), "kind": "call", "priority": "2",
            "assignee_id": str(world.manager1.id), "title": "确认理财到期", "note": "",
            "token": re.search(r'name="token"[^>]*value="([^"]*)"', form).group(1)}) == 200  # after the 303
        reminder_time = due - timedelta(minutes=20)

        def reminder():
            return next(((at, m) for at, m in inbox.received if _is_reminder(m)), None)

        arrived_at, message = wait_for(reminder, (reminder_time - datetime.now(SHANGHAI)).total_seconds() + 30,
                                       "the reminder email")
        # Handed over before due − lead (so before the due time), and not before the last pass ahead of it.
        assert arrived_at < reminder_time.timestamp() < due.timestamp()
        assert arrived_at >= reminder_time.timestamp() - every - 2
        [followup] = db.session.query(FollowUp).filter_by(title="确认理财到期").all()
        body = message.get_body(("plain",)).get_content()
        assert f"{BASE_URL}/followups/{followup.id}" in body
        assert all(link.startswith(BASE_URL) for link in re.findall(r"https?://\S+", body))
        assert message["Message-ID"].endswith("@bank.example>") and message["From"] == MAIL_FROM
        # The hand-over email queued by the web process agrees with the scheduler's.
        assigned = [m for _, m in inbox.received if m is not message]
        assert assigned, "the assignment email queued by the web process was not delivered"
        for other in assigned:
            assert other["Message-ID"].endswith("@bank.example>")
            assert all(link.startswith(BASE_URL) for link in re.findall(r"https?://\S+",
                                                                       other.get_body(("plain",)).get_content()))
        # Admin → Outbox (served by gunicorn) reports the scheduler's pass and no disagreement.
        page = Browser(f"http://127.0.0.1:{port}").sign_in("admin").get("/admin/outbox")
        assert f"127.0.0.1:{smtp_port}" in page and "reminders queued" in page
        assert "CRM_BASE_URL =" not in page and "CRM_MAIL_FROM =" not in page
    finally:
        stop(scheduler)
        stop(web)
    log = (tmp_path / "scheduler.log").read_text()
    assert re.search(r"send-reminders \S+: reminders queued 1; [12] sent", log), log


def _is_reminder(message) -> bool:
    db.session.expire_all()
    row = db.session.query(OutboxEmail).filter_by(message_id=message["Message-ID"]).one_or_none()
    return row is not None and (row.dedupe_key or "").startswith("reminder:")


def test_a_scan_by_hand_leaves_the_days_scheduled_scan_to_the_scheduler(app, world, database_url, tmp_path):
    """(c) `flask scan-clients` by hand, then a scheduler whose scan time is a few seconds ahead: the day's
    scheduled scan still runs, and the scheduler's log names each job with its next run, then the outcome."""
    env = process_env(database_url, CRM_REMINDER_EVERY_SECONDS="60", CRM_DIGEST_AT="23:59:59")
    by_hand = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "scan-clients"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert by_hand.returncode == 0, by_hand.stderr
    assert "run by hand" in by_hand.stdout and "left to the scheduler" in by_hand.stdout
    now = clear_of_midnight(60)
    today = now.date().isoformat()
    scan_at = (now + timedelta(seconds=12)).strftime("%H:%M:%S")
    env["CRM_SCAN_AT"] = scan_at
    log = tmp_path / "scheduler.log"
    scheduler = subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", "scheduler"], cwd=ROOT, env=env,
                                 stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: re.search(rf"scan-clients {today}: ", log.read_text()), 60, "the scheduled scan")
    finally:
        stop(scheduler)
    text = log.read_text()
    # On a busy machine the scheduler may start after the scan time: then it catches the scan up at once.
    late = "catch-up: scan-clients" in text
    first = (now.date() + timedelta(days=1)).isoformat() if late else today
    assert f"job scan-clients: daily at {scan_at}, next run {first}T{scan_at}+08:00" in text, text
    assert f"job plan-followups: daily at {(now + timedelta(seconds=42)).strftime('%H:%M:%S')}" in text
    assert "job send-reminders: every 60 s, next run" in text
    assert "job callback-sample: yearly on 1 January at" in text
    db.session.expire_all()
    runs = {r.run_key: r for r in db.session.query(JobRun).filter_by(job="scan-clients")}
    scheduled = runs.pop(today)
    assert scheduled.finished_at is not None and scheduled.outcome and not scheduled.outcome.startswith("error")
    assert re.search(rf"scan-clients {today}: {re.escape(scheduled.outcome)}", text)
    [manual] = runs.values()
    assert manual.run_key.startswith(f"{today}#manual-") and manual.finished_at is not None


def test_a_scheduler_started_after_the_scan_time_catches_up_the_days_scan(app, world, database_url, tmp_path):
    """A scheduler (re)started after 06:30 whose day's scan slot is free runs the scan at once."""
    now = clear_of_midnight(120)
    today = now.date().isoformat()
    scan_at = (now - timedelta(seconds=60)).strftime("%H:%M:%S")
    env = process_env(database_url, CRM_REMINDER_EVERY_SECONDS="60", CRM_SCAN_AT=scan_at,
                      CRM_DIGEST_AT="23:59:59")
    log = tmp_path / "scheduler.log"
    scheduler = subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", "scheduler"], cwd=ROOT, env=env,
                                 stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: re.search(rf"scan-clients {today}: ", log.read_text()), 60, "the catch-up scan")
    finally:
        stop(scheduler)
    text = log.read_text()
    assert "catch-up: scan-clients was due at" in text, text
    assert f"next run {(now + timedelta(days=1)).date().isoformat()}T{scan_at}+08:00" in text
    db.session.expire_all()
    assert job_runs.slot_claimed("scan-clients", today).finished_at is not None
