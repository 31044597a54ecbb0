"""The morning digests: each manager's overdue and today's follow-ups and new flags, each lead's team summary."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.domain.clock import SHANGHAI
from crm.extensions import db
from crm.models import Client, ClientFlag, Role, User, utcnow
from crm.services import followups, mail
from crm.services.links import absolute_url
from crm.services.scan import flagged_clients, flagged_for_clients


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
    db.session.flush()  # the job (job_runs.run_once) commits
    return f"digests queued {sent}"
