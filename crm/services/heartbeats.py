"""Each process records what it runs with (base URL, mail-from, SMTP server — never the password), its
version and when it was last seen, so that Admin → Outbox can show the sender's real state and warn
when the web and the scheduler would write different links or Message-IDs.

Written in a session of its own (never part of the caller's transaction), and never fatal: a process
that cannot record its heartbeat logs a warning and goes on.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import metadata

import sqlalchemy as sa
from sqlalchemy import orm as so
from sqlalchemy.exc import SQLAlchemyError

from crm.extensions import db
from crm.models import ProcessHeartbeat, utcnow
from crm.services.processes import owner_name

log = logging.getLogger(__name__)

WEB, SCHEDULER, COMMAND = "web", "scheduler", "command"
SENDERS = (SCHEDULER, COMMAND)
KEEP = timedelta(days=7)  # rows of processes not seen for this long are removed
STARTED_AT = utcnow()
_process = {"kind": COMMAND}


def set_kind(kind: str) -> None:
    """Name what this process is (the scheduler says so at start; CLI commands are the default)."""
    _process["kind"] = kind


def version() -> str:
    """The installed version of the app."""
    try:
        return metadata.version("outlet-crm")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def settings_of(config) -> dict:
    """What a process's configuration says about email, as recorded (no password)."""
    return {"base_url": config.get("CRM_BASE_URL", ""), "mail_from": config.get("CRM_MAIL_FROM", ""),
            "smtp_host": (config.get("CRM_SMTP_HOST") or "").strip(), "smtp_port": int(config.get("CRM_SMTP_PORT") or 25),
            "smtp_tls": config.get("CRM_SMTP_TLS", "none"), "smtp_user": config.get("CRM_SMTP_USER", "")}


def beat(config, kind: str | None = None, pass_at: datetime | None = None, pass_outcome: str = "") -> bool:
    """Record this process's settings and that it is alive (and its last delivery pass, if given)."""
    now = utcnow()
    values = {**settings_of(config), "kind": kind or _process["kind"], "version": version()[:40], "seen_at": now}
    if pass_at is not None:
        values.update(pass_at=pass_at, pass_outcome=pass_outcome[:500])
    try:
        with so.Session(db.engine) as session:
            changed = session.execute(sa.update(ProcessHeartbeat).where(ProcessHeartbeat.owner == owner_name())
                                      .values(**values)).rowcount
            if not changed:
                session.add(ProcessHeartbeat(owner=owner_name(), started_at=STARTED_AT, **values))
            session.execute(sa.delete(ProcessHeartbeat).where(ProcessHeartbeat.seen_at < now - KEEP))
            session.commit()
        return True
    except SQLAlchemyError as exc:  # e.g. a second thread inserted the row first, or the database is away
        log.warning("heartbeat of %s not recorded: %s", owner_name(), type(exc).__name__)
        return False


def recent(kinds: tuple[str, ...], since: timedelta = timedelta(days=1)) -> list[ProcessHeartbeat]:
    """Heartbeats of these kinds seen lately, the most recent first."""
    return list(db.session.execute(
        sa.select(ProcessHeartbeat).where(ProcessHeartbeat.kind.in_(kinds), ProcessHeartbeat.seen_at >= utcnow() - since)
        .order_by(ProcessHeartbeat.seen_at.desc())).scalars())


def last_sender() -> ProcessHeartbeat | None:
    """The process (scheduler or cron command) that ran the latest delivery pass, else the latest one seen."""
    rows = recent(SENDERS, since=KEEP)
    passed = [r for r in rows if r.pass_at is not None]
    if passed:
        return max(passed, key=lambda r: r.pass_at)
    return rows[0] if rows else None


@dataclass(frozen=True)
class Difference:
    """A setting on which a web process and the sender disagree."""

    process: str  # host:pid of the web process
    variable: str
    web: str
    sender: str


COMPARED = (("CRM_BASE_URL", "base_url"), ("CRM_MAIL_FROM", "mail_from"))


def differences(config, sender: ProcessHeartbeat) -> list[Difference]:
    """Where web processes would write other links or Message-IDs than the sender: this process (from its
    configuration) and every other web process seen lately (from its heartbeat)."""
    mine = settings_of(config)
    found = [Difference(owner_name(), variable, str(mine[field]), str(getattr(sender, field)))
             for variable, field in COMPARED if str(mine[field]) != str(getattr(sender, field))]
    for row in recent((WEB,)):
        if row.owner != owner_name():
            found += [Difference(row.owner, variable, str(getattr(row, field)), str(getattr(sender, field)))
                      for variable, field in COMPARED if getattr(row, field) != getattr(sender, field)]
    return found
