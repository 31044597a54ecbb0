"""Emails through a transactional outbox: queued in the caller's transaction, delivered by the sender."""
from __future__ import annotations

import uuid
from datetime import datetime
from email.utils import parseaddr

from flask import current_app, render_template
from flask_babel import force_locale

from crm.extensions import db
from crm.models import OutboxEmail, User, utcnow


def _render(name: str, locale: str, **context) -> tuple[str, str, str]:
    """Subject, text and HTML of `email/<name>` in the recipient's language."""
    with force_locale(locale):
        text = render_template(f"email/{name}.txt", **context).strip()
        html = render_template(f"email/{name}.html", **context)
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip() + "\n", html


def queue(user: User, name: str, dedupe_key: str | None = None, send_after: datetime | None = None,
          **context) -> OutboxEmail | None:
    """Write an email for `user` into the outbox (same transaction as the event); None if no address.

    The first line of `email/<name>.txt` is the subject. A `dedupe_key` already queued is not queued
    again, so an event replayed by a retried job sends one email. `send_after` (default now) is when the
    sender may take it: a job passes its own `now`, so that the pass which queues an email delivers it.
    """
    if not user.email:
        return None
    if dedupe_key is not None:
        existing = db.session.query(OutboxEmail).filter_by(dedupe_key=dedupe_key).one_or_none()
        if existing is not None:
            return existing
    subject, text, html = _render(name, user.locale or "zh_CN", user=user, **context)
    # CRM_MAIL_FROM may carry a display name ("Outlet CRM <crm@example.com>"): take the address's domain.
    domain = parseaddr(current_app.config.get("CRM_MAIL_FROM", ""))[1].rpartition("@")[2] or "localhost"
    email = OutboxEmail(message_id=f"<{uuid.uuid4().hex}@{domain}>", dedupe_key=dedupe_key,
                        to_address=user.email, subject=subject[:200], text_body=text, html_body=html,
                        status="queued", next_attempt_at=send_after or utcnow())
    db.session.add(email)
    db.session.flush()
    return email
