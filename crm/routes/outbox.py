"""Admin page of the email outbox: what is queued, sent or failed; requeue, and send now."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from crm.domain.formats import parse_id
from crm.extensions import db
from crm.models import Role, utcnow
from crm.routes.helpers import render, see_other
from crm.services import heartbeats, job_runs, outbox

bp = Blueprint("outbox", __name__)
HEARTBEAT_EVERY = timedelta(minutes=5)

STATUS_LABELS = {
    outbox.QUEUED: _l("Queued"),
    outbox.SENDING: _l("Sending"),
    outbox.FAILED: _l("Failed"),
    outbox.SENT: _l("Sent"),
}
SENDER_KINDS = {heartbeats.SCHEDULER: _l("the scheduler"), heartbeats.COMMAND: _l("a command run by cron")}
# Existing badge colours: waiting (amber), in progress (blue), failed (red), sent (green).
STATUS_BADGES = {
    outbox.QUEUED: "stage-dormant",
    outbox.SENDING: "stage-contacted",
    outbox.FAILED: "stage-lost",
    outbox.SENT: "stage-active",
}


@bp.before_request
@login_required
def require_admin():
    """Only admins see other people's email."""
    if current_user.role != Role.ADMIN:
        abort(403)


@bp.get("/admin/outbox")
def index():
    """Outbox emails, newest first, filterable by status."""
    status = request.args.get("status", "")
    if status not in outbox.STATUSES:
        status = ""
    before = request.args.get("before", "")
    emails = outbox.recent(status, parse_id(before), limit=100)
    # The sender is the scheduler (or cron), not this web process: show what it reported.
    sender = heartbeats.last_sender()
    every = job_runs.reminder_interval(current_app.config)
    stale = sender is not None and sender.seen_at < utcnow() - max(3 * every, timedelta(minutes=5))
    return render("outbox/index.html", emails=emails, current_status=status, counts=outbox.status_counts(),
                  sender=sender, sender_stale=stale, sender_kinds=SENDER_KINDS,
                  differences=heartbeats.differences(current_app.config, sender) if sender else [],
                  web_smtp=outbox.smtp_configured(), labels=STATUS_LABELS, badges=STATUS_BADGES, page_size=100)


@bp.before_app_request
def record_heartbeat():
    """Each web process records what it runs with on its first request, then every few minutes."""
    now = utcnow()
    last = current_app.extensions.get("crm.heartbeat_at")
    if last is None or now - last > HEARTBEAT_EVERY:
        current_app.extensions["crm.heartbeat_at"] = now  # also when it fails: retried a few minutes later
        heartbeats.beat(current_app.config, heartbeats.WEB)


@bp.post("/admin/outbox/<int:email_id>/requeue")
def requeue(email_id: int):
    """Give a failed email a fresh set of attempts."""
    if outbox.requeue(email_id, current_user):
        db.session.commit()
        flash(_("The email is queued again."), "success")
    else:
        flash(_("Only a failed email can be requeued."), "error")
    return see_other(url_for("outbox.index", status=request.args.get("status") or None))


@bp.post("/admin/outbox/send")
def send_now():
    """Deliver the queued emails now, without waiting for their backoff, e.g. after fixing SMTP."""
    if not outbox.smtp_configured():
        # This web process has no SMTP server of its own: the scheduler delivers at its next pass.
        outbox.make_due_now()
        flash(_("The queued emails are due now: the scheduler sends them at its next pass."), "success")
        return see_other(url_for("outbox.index"))
    report = outbox.send_now(owner=f"admin:{current_user.username}")
    flash(_("%(sent)s sent, %(retried)s to retry, %(failed)s failed.",
            sent=report.sent, retried=report.retried, failed=report.failed),
          "success" if not (report.retried or report.failed) else "warning")
    return see_other(url_for("outbox.index"))
