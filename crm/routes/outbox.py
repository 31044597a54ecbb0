"""Admin page of the email outbox: what is queued, sent or failed; requeue, and send now."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from crm.extensions import db
from crm.models import Role
from crm.routes.helpers import render, see_other
from crm.services import outbox

bp = Blueprint("outbox", __name__)

STATUS_LABELS = {
    outbox.QUEUED: _l("Queued"),
    outbox.SENDING: _l("Sending"),
    outbox.FAILED: _l("Failed"),
    outbox.SENT: _l("Sent"),
}
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
    emails = outbox.recent(status, int(before) if before.isdigit() else None, limit=100)
    config = current_app.config
    return render("outbox/index.html", emails=emails, current_status=status, counts=outbox.status_counts(),
                  smtp_configured=outbox.smtp_configured(), smtp_host=config.get("CRM_SMTP_HOST", ""),
                  smtp_port=config.get("CRM_SMTP_PORT"), smtp_tls=config.get("CRM_SMTP_TLS", "none"),
                  labels=STATUS_LABELS, badges=STATUS_BADGES, page_size=100)


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
        flash(_("No SMTP server is configured: the emails stay in the outbox."), "error")
        return see_other(url_for("outbox.index"))
    report = outbox.send_now(owner=f"admin:{current_user.username}")
    flash(_("%(sent)s sent, %(retried)s to retry, %(failed)s failed.",
            sent=report.sent, retried=report.retried, failed=report.failed),
          "success" if not (report.retried or report.failed) else "warning")
    return see_other(url_for("outbox.index"))
