"""Operator command `flask --app wsgi send-email`: deliver the outbox's due emails (see docs/email.md)."""
from __future__ import annotations

import time

import click
from flask import Flask

from crm.services import outbox


def send_all_due(limit: int) -> outbox.DeliveryReport:
    """Deliver batches until no full batch is left; the totals."""
    total = outbox.DeliveryReport()
    while True:
        report = outbox.deliver_due(limit=limit)
        total.sent += report.sent
        total.failed += report.failed
        total.retried += report.retried
        total.skipped_no_smtp = report.skipped_no_smtp
        # A short batch, or one where the server could not be reached, ends the pass.
        if report.skipped_no_smtp or report.claimed < limit or report.retried or report.failed:
            return total


def register(app: Flask) -> None:
    """Attach `send-email` to the app's CLI."""

    @app.cli.command("send-email")
    @click.option("--limit", default=50, show_default=True, help="Emails per SMTP connection.")
    @click.option("--every", type=click.IntRange(min=0), default=0, show_default=True,
                  help="Keep running, delivering every N seconds (0: one pass, then exit).")
    def send_email(limit: int, every: int) -> None:
        """Deliver the due emails of the outbox over SMTP; without CRM_SMTP_HOST they stay queued."""
        from crm.models import utcnow
        from crm.services import heartbeats

        while True:
            started = utcnow()
            report = send_all_due(limit)
            heartbeats.beat(app.config, pass_at=started, pass_outcome=(
                f"send-email: {report.sent} sent, {report.retried} to retry, {report.failed} failed"
                + (f", {report.skipped_no_smtp} waiting: no SMTP server configured" if report.skipped_no_smtp else "")))
            if report.skipped_no_smtp:
                click.echo(f"CRM_SMTP_HOST is not set: {report.skipped_no_smtp} due emails stay in the outbox.")
            elif report.claimed or not every:
                click.echo(f"{report.sent} sent, {report.retried} to retry, {report.failed} failed.")
            if not every:
                return
            time.sleep(every)
