"""The yearly call-back sample (回访, DOMAIN.md §11): a random share of active clients gets a call-back follow-up."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import force_locale, gettext

from crm.domain.clock import SHANGHAI
from crm.extensions import db
from crm.models import Client, ClientFlag, FlagKind, FollowUpKind, FollowUpStatus, Stage, User, utcnow
from crm.services import followup_sources, followups, settings


def callback_sample(year: int, now: datetime | None = None, seed: int | None = None) -> str:
    """Yearly call-back sample (DOMAIN.md §11): at least the set percentage of active, non-dormant clients."""
    now = now or utcnow()
    percent = settings.get_int("callback_sample_percent")
    dormant = sa.select(ClientFlag.client_id).where(ClientFlag.kind == FlagKind.DORMANT.value, ClientFlag.cleared_at.is_(None))
    ids = list(db.session.execute(
        sa.select(Client.id).where(Client.stage == Stage.ACTIVE.value, Client.id.not_in(dormant))
        .order_by(Client.id)).scalars())
    if not ids:
        return "no active clients"
    size = -(-len(ids) * percent // 100)  # rounded up: "at least" the percentage
    chosen = random.Random(seed if seed is not None else year).sample(ids, size)
    due = followups.local_morning(max(now.astimezone(SHANGHAI).date(), date(year, 1, 1)) + timedelta(days=7))
    titles: dict[str, str] = {}
    for start in range(0, len(chosen), 5000):  # one set of rows per chunk, one INSERT each
        owners = db.session.execute(sa.select(Client.id, Client.owner_id, User.locale).join(
            User, User.id == Client.owner_id).where(Client.id.in_(chosen[start:start + 5000]))).all()
        rows = []
        for client_id, owner_id, locale in owners:
            locale = locale or "zh_CN"
            if locale not in titles:
                titles[locale] = _callback_title(locale)
            rows.append({"client_id": client_id, "assignee_id": owner_id, "due_at": due, "kind": FollowUpKind.CALLBACK.value,
                         **followup_sources.callback_sample(year, client_id),
                         "title": titles[locale], "note": "", "priority": 2, "status": FollowUpStatus.OPEN.value,
                         "reminder_at": due - timedelta(minutes=30), "created_at": now, "version": 1})
        db.session.execute(followups.insert_ignoring_twins(), rows)
    db.session.flush()  # the job (job_runs.run_once) commits
    return f"call-back sample {year}: {size} of {len(ids)} active clients"


def yearly_callback_sample(now: datetime | None = None, year: int | None = None) -> str:
    """The call-back sample of `year`, by default this (Shanghai) year's."""
    now = now or utcnow()
    return callback_sample(year or now.astimezone(SHANGHAI).year, now=now)


def _callback_title(locale: str) -> str:
    with force_locale(locale):
        return gettext("Yearly call-back (回访)")
