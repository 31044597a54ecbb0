"""Demo data: a team three months into using the CRM, replayed through the app's own services. Demo only.

Two teams at five bank outlets, about 200 clients (most imported on go-live day, the rest captured
since), weekly asset snapshots, risk assessments (some about to expire), service plans started weeks
ago with their done, due and missed occurrences, complaints at every stage, a reassignment. Every
date is relative to `now`, so the demo is always three months in; the random draws are seeded, so
the same `now` gives the same data.
"""
from __future__ import annotations

import random
import time as timer
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from crm.extensions import db
from crm.models import ClientFlag, Complaint, FollowUp, ServicePlan, VisitLog, utcnow
from crm.seed.data import GIVEN, NEXT_STEPS, SUMMARIES, SURNAMES

DEMO_PASSWORD = "demo-pass-123"
GO_LIVE_DAYS_AGO = 98  # fourteen weeks: "three months in"

__all__ = ["DEMO_PASSWORD", "DEMO_USERNAMES", "GIVEN", "NEXT_STEPS", "SUMMARIES", "SURNAMES", "seed"]


def _usernames() -> tuple[str, ...]:
    from crm.seed.book import DEMO_USERS

    return tuple(username for username, *_ in DEMO_USERS)


DEMO_USERNAMES = _usernames()


def seed(n_clients: int = 200, rng_seed: int = 20261125, now: datetime | None = None) -> str:
    """Fill an empty database with three months of demo work ending at `now`; the caller commits."""
    from crm.seed import book as people
    from crm.seed.book import SHANGHAI, local
    from crm.seed.history import Replay

    started, cpu = timer.perf_counter(), timer.process_time()
    now = (now or utcnow()).astimezone(timezone.utc)
    rng = random.Random(rng_seed)
    today = now.astimezone(SHANGHAI).date()
    go_live_day = today - timedelta(days=GO_LIVE_DAYS_AGO)
    replay_calendar = Replay.__new__(Replay)  # only for its working-day helpers
    from crm.services.complaints import overrides

    replay_calendar.calendar = overrides()
    go_live_day = replay_calendar.working_day(go_live_day)
    book = people.people()
    book.products = people.products()
    people.clients(rng, book, n_clients, local(go_live_day, 8, 30), today)
    replay = Replay(rng, book, go_live_day, today, now)
    replay.prepare()
    replay.run()
    replay.finish()
    from crm.seed import outlets

    outlets.develop(random.Random(rng_seed + 1), book, go_live_day, today, now)
    db.session.flush()
    counts = {name: db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
              for name, model in (("visits", VisitLog), ("follow-ups", FollowUp), ("service plans", ServicePlan),
                                  ("complaints", Complaint), ("flags so far", ClientFlag))}
    return (f"{len(book.users)} users, {len(book.teams)} teams, {len(book.outlets)} outlets, {n_clients} clients, "
            + ", ".join(f"{n} {name}" for name, n in counts.items())
            + f"; go-live {go_live_day.isoformat()}; took {timer.perf_counter() - started:.1f} s "
            f"({timer.process_time() - cpu:.1f} s of CPU)")
