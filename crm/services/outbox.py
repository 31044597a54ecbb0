"""The sender of the transactional outbox: claims due emails, delivers them over SMTP, retries with backoff.

An email is an `OutboxEmail` row written by `crm.services.mail.queue` in the same transaction as the
event that caused it, so an event that commits always has its email, and a rolled-back event never
sends one. This module delivers those rows:

1. select due rows: `queued` ones whose `next_attempt_at` has come, and `sending` ones whose lease has
   expired (their sender crashed or lost the database);
2. claim each with a conditional UPDATE (`status='sending'`, `lease_until=now+5min`) that succeeds for
   one sender only, and commit the claim before talking to the SMTP server;
3. send it (one SMTP connection per batch) and mark it `sent`, committed at once;
4. on an SMTP or network failure put it back to `queued` with an exponential backoff (1, 2, 4 ... 60
   minutes) and the error; after `MAX_ATTEMPTS` attempts it becomes `failed`, shown on /admin/outbox
   where an admin can requeue it.

Guarantee: at-least-once delivery.
- Nothing is lost: the row is committed with the event, and only a successful send marks it `sent`.
- Never two senders at once: while a claim's lease is valid no other sender can claim the row.
- A crash (or a lost database) after the SMTP server accepted the message but before the row is marked
  `sent` leaves the row `sending`; when the lease expires it is sent once more, with the same
  Message-ID and Date, so the receiving server or mail client can drop the duplicate. That resend is
  the only way one email reaches a recipient twice.
- A lease outlived by a very slow sender (over 5 minutes on one email) can likewise lead to one resend;
  the socket timeout (10 s per SMTP operation) keeps that unlikely.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import orm as so
from sqlalchemy.exc import OperationalError

from crm.extensions import db
from crm.models import OutboxEmail, User, utcnow
from crm.services import audit
from crm.services.processes import owner_name

log = logging.getLogger(__name__)

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
STATUSES = (QUEUED, SENDING, FAILED, SENT)
LEASE = timedelta(minutes=5)
SMTP_TIMEOUT = 10  # seconds, for each connect/read/write on the SMTP socket
MAX_ATTEMPTS = 12
MAX_BACKOFF_MINUTES = 60
TLS_MODES = ("none", "starttls", "ssl")

# Errors that mean "try again later": the server is down, slow, refusing, or the connection broke.
DELIVERY_ERRORS = (OSError, smtplib.SMTPException, UnicodeError, ValueError)


@dataclass
class DeliveryReport:
    """What one `deliver_due` run did."""

    sent: int = 0
    failed: int = 0  # gave up after MAX_ATTEMPTS: now `failed`
    retried: int = 0  # put back to `queued` with a backoff
    skipped_no_smtp: int = 0  # due, but no SMTP server configured: left queued

    @property
    def claimed(self) -> int:
        """Emails this run took on (sent, retried or given up)."""
        return self.sent + self.failed + self.retried

    @property
    def idle(self) -> bool:
        """Nothing was due: a sender that repeats its passes says nothing about this one."""
        return not self.claimed and not self.skipped_no_smtp

    def __str__(self) -> str:
        """'3 sent, 0 to retry, 0 failed', as a reminder pass and the heartbeat record it."""
        return f"{self.sent} sent, {self.retried} to retry, {self.failed} failed" + (
            f", {self.skipped_no_smtp} waiting: no SMTP server configured" if self.skipped_no_smtp else "")

    def notice(self) -> str:
        """What the `send-email` command prints after a pass."""
        if self.skipped_no_smtp:
            return f"CRM_SMTP_HOST is not set: {self.skipped_no_smtp} due emails stay in the outbox."
        return f"{self.sent} sent, {self.retried} to retry, {self.failed} failed."


def smtp_configured() -> bool:
    """Whether an SMTP server is configured (CRM_SMTP_HOST is set)."""
    return bool(current_app.config.get("CRM_SMTP_HOST", "").strip())


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed ones: 1, 2, 4, 8 ... minutes, at most 60."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), MAX_BACKOFF_MINUTES))


def build_message(email: OutboxEmail, sender: str) -> EmailMessage:
    """The MIME message of an outbox row: text with an HTML alternative, its stable Message-ID and Date."""
    message = EmailMessage()
    message["Subject"] = email.subject
    message["From"] = sender
    message["To"] = email.to_address
    # Both stay the same on a resend, so a duplicate is byte-for-byte the same message.
    message["Date"] = format_datetime(email.created_at)
    message["Message-ID"] = email.message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: autoresponders must not answer
    message.set_content(email.text_body)
    if email.html_body:
        message.add_alternative(email.html_body, subtype="html")
    return message


def connect(config) -> smtplib.SMTP:
    """Open an SMTP connection as configured: plain, STARTTLS or implicit TLS, logged in when a user is set."""
    host, port = config["CRM_SMTP_HOST"].strip(), int(config["CRM_SMTP_PORT"])
    mode = config.get("CRM_SMTP_TLS", "none")
    if mode not in TLS_MODES:
        raise ValueError(f"CRM_SMTP_TLS is {mode!r}: use one of {', '.join(TLS_MODES)}")
    # The server's certificate is always verified: against the system's CAs, or the operator's own
    # bundle (CRM_SMTP_CA_FILE) for a relay whose certificate an internal CA issued.
    context = ssl.create_default_context(cafile=config.get("CRM_SMTP_CA_FILE") or None)
    if mode == "ssl":
        conn = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=context)
    else:
        conn = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
    try:
        conn.ehlo()
        if mode == "starttls":
            conn.starttls(context=context)
            conn.ehlo()
        if config.get("CRM_SMTP_USER"):
            conn.login(config["CRM_SMTP_USER"], config.get("CRM_SMTP_PASSWORD", ""))
    except BaseException:
        _close(conn)
        raise
    return conn


def _close(conn: smtplib.SMTP | None) -> None:
    """Say QUIT, or just drop a connection that is already broken."""
    if conn is None:
        return
    try:
        conn.quit()
    except (OSError, smtplib.SMTPException):
        conn.close()


def _is_locked(exc: OperationalError) -> bool:
    return "database is locked" in str(exc).lower()


def _write(session: so.Session, statement: sa.Executable) -> int:
    """Run one UPDATE in its own committed transaction; rows changed. Retries SQLite's "database is locked"."""
    for attempt in range(10):
        try:
            changed = session.execute(statement, execution_options={"synchronize_session": False}).rowcount
            session.commit()
            return changed
        except OperationalError as exc:
            session.rollback()
            if not _is_locked(exc) or attempt == 9:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    """Due, and either waiting or held by a sender whose lease has expired."""
    expired = sa.or_(OutboxEmail.lease_until.is_(None), OutboxEmail.lease_until < now)
    return sa.and_(OutboxEmail.next_attempt_at <= now,
                   sa.or_(OutboxEmail.status == QUEUED, sa.and_(OutboxEmail.status == SENDING, expired)))


def due_ids(session: so.Session, now: datetime, limit: int) -> list[int]:
    """Ids of the emails a sender may claim now, oldest due first."""
    return list(session.execute(
        sa.select(OutboxEmail.id).where(_claimable(now))
        .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id).limit(limit)).scalars())


def claim(session: so.Session, email_id: int, now: datetime) -> datetime | None:
    """Take an email for sending, committed; its lease end (the claim's token), or None if another sender has it."""
    lease = now + LEASE
    changed = _write(session, sa.update(OutboxEmail)
                     .where(OutboxEmail.id == email_id, _claimable(now))
                     .values(status=SENDING, lease_until=lease))
    return lease if changed == 1 else None


def mark_sent(session: so.Session, email_id: int, lease: datetime, now: datetime) -> bool:
    """Record a delivered email, if this sender still holds its claim."""
    return _write(session, sa.update(OutboxEmail)
                  .where(OutboxEmail.id == email_id, OutboxEmail.status == SENDING,
                         OutboxEmail.lease_until == lease)
                  .values(status=SENT, sent_at=now, lease_until=None, last_error="")) == 1


def record_failure(session: so.Session, email: OutboxEmail, lease: datetime, now: datetime,
                   error: str) -> str:
    """Put a claimed email back with a backoff, or give up after MAX_ATTEMPTS; the new status."""
    attempts = email.attempts + 1
    status = FAILED if attempts >= MAX_ATTEMPTS else QUEUED
    _write(session, sa.update(OutboxEmail)
           .where(OutboxEmail.id == email.id, OutboxEmail.status == SENDING, OutboxEmail.lease_until == lease)
           .values(status=status, attempts=OutboxEmail.attempts + 1, lease_until=None,
                   next_attempt_at=now + backoff(attempts), last_error=error[:500]))
    return status


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"timeout after {SMTP_TIMEOUT} s"
    return f"{type(exc).__name__}: {exc}"[:500]


# The server answered (or the message itself is at fault): the connection can carry the next email.
CONNECTION_STILL_GOOD = (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused,
                         smtplib.SMTPNotSupportedError, UnicodeError, ValueError)


class SmtpSender:
    """One SMTP connection for a batch, opened on the first email, reopened once after it breaks."""

    def __init__(self, config) -> None:
        self.config = config
        self.sender = config.get("CRM_MAIL_FROM", "outlet-crm@localhost")
        self.envelope_from = parseaddr(self.sender)[1] or self.sender
        self.conn: smtplib.SMTP | None = None
        self.unreachable = ""  # once the server cannot be reached, the rest of the batch waits too

    def send(self, email: OutboxEmail) -> str:
        """Hand one email to the server; "" when accepted, else the error."""
        if self.unreachable:
            return self.unreachable
        try:
            message = build_message(email, self.sender)
        except DELIVERY_ERRORS as exc:
            return _describe(exc)
        if self.conn is None:
            try:
                self.conn = connect(self.config)
            except DELIVERY_ERRORS as exc:
                self.unreachable = _describe(exc)
                return self.unreachable
        try:
            self.conn.send_message(message, from_addr=self.envelope_from, to_addrs=[email.to_address])
        except DELIVERY_ERRORS as exc:
            if not isinstance(exc, CONNECTION_STILL_GOOD):
                self.close()
            return _describe(exc)
        return ""

    def close(self) -> None:
        """Close the connection, if open."""
        _close(self.conn)
        self.conn = None


def deliver_due(now: datetime | None = None, limit: int = 50, owner: str = "") -> DeliveryReport:
    """Send up to `limit` due emails over one SMTP connection; commits each claim and each outcome.

    Runs in its own database session, so it does not commit (or see) the caller's pending work.
    Without CRM_SMTP_HOST nothing is claimed or sent: the emails stay queued. `owner` names this
    sender in the log (default host:pid).
    """
    owner = owner or owner_name()
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    report = DeliveryReport()
    with so.Session(db.engine, expire_on_commit=False) as session:
        ids = due_ids(session, clock(), limit)
        session.commit()
        if not smtp_configured():
            report.skipped_no_smtp = len(ids)
            return report
        sender = SmtpSender(current_app.config)
        try:
            for email_id in ids:
                lease = claim(session, email_id, clock())
                if lease is None:
                    continue  # another sender has it
                email = session.get(OutboxEmail, email_id, populate_existing=True)
                session.commit()
                error = sender.send(email)
                if not error:
                    if not mark_sent(session, email_id, lease, clock()):
                        log.warning("outbox %s: email %s was sent after its lease ran out", owner, email_id)
                    report.sent += 1
                    continue
                log.warning("outbox %s: email %s to %s not sent: %s", owner, email_id, email.to_address, error)
                if record_failure(session, email, lease, clock(), error) == FAILED:
                    report.failed += 1
                else:
                    report.retried += 1
        finally:
            sender.close()
    return report


def deliver_all_due(limit: int = 50) -> DeliveryReport:
    """Deliver batches of `limit` until no full batch is left; the totals (one pass of `send-email`)."""
    total = DeliveryReport()
    while True:
        report = deliver_due(limit=limit)
        total.sent += report.sent
        total.failed += report.failed
        total.retried += report.retried
        total.skipped_no_smtp = report.skipped_no_smtp
        # A short batch, or one where the server could not be reached, ends the pass.
        if report.skipped_no_smtp or report.claimed < limit or report.retried or report.failed:
            return total


def make_due_now() -> int:
    """Make every queued email due at once (the next pass of any sender takes them); how many waited."""
    now = utcnow()
    with so.Session(db.engine) as session:
        return _write(session, sa.update(OutboxEmail)
                      .where(OutboxEmail.status == QUEUED, OutboxEmail.next_attempt_at > now)
                      .values(next_attempt_at=now))


def send_now(limit: int = 50, owner: str = "") -> DeliveryReport:
    """Make every queued email due at once and, when this process has an SMTP server, deliver a batch."""
    make_due_now()
    return deliver_due(limit=limit, owner=owner)


def requeue(email_id: int, actor: User | None = None) -> bool:
    """Give a failed email a fresh set of attempts, due now; False if it is not failed. The caller commits."""
    email = db.session.get(OutboxEmail, email_id)
    if email is None or email.status != FAILED:
        return False
    email.status = QUEUED
    email.attempts = 0
    email.next_attempt_at = utcnow()
    email.lease_until = None
    if actor is not None:
        audit.record(actor, "outbox.requeue", "outbox_email", email.id, params={"to": email.to_address})
    db.session.flush()
    return True


def status_counts() -> dict[str, int]:
    """How many emails are in each status."""
    counts = dict(db.session.execute(
        sa.select(OutboxEmail.status, sa.func.count()).group_by(OutboxEmail.status)).all())
    return {status: counts.get(status, 0) for status in STATUSES}


def recent(status: str = "", before: int | None = None, limit: int = 100) -> list[OutboxEmail]:
    """Outbox emails newest first, optionally of one status and older than the id `before`."""
    query = sa.select(OutboxEmail).order_by(OutboxEmail.id.desc())
    if status in STATUSES:
        query = query.where(OutboxEmail.status == status)
    if before is not None:
        query = query.where(OutboxEmail.id < before)
    return list(db.session.execute(query.limit(limit)).scalars())
