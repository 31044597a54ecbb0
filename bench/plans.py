"""Benchmark of service-plan follow-up generation: N clients with a plan from the 金卡/钻石 templates.

    .venv/bin/python bench/plans.py [--plans 10000] [--database-url URL]

The database is `crm_bench_plans` on the local PostgreSQL server (created when missing, wiped and
migrated; the test suite's `test` database is refused). Clients are bulk-inserted with valid ID
numbers (so birthday care has dates), then every plan is started through `plans.start_plan` (which
creates its first week of follow-ups), and `plans.generate` — the daily job — is timed:

1. again on the same day (nothing new: the cost of checking),
2. the next day (one day of new occurrences),
3. a week later (a scheduler that was down for a week catches up).

Figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CRM_SECRET_KEY", "bench-secret-key-not-for-production")

import click  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from common import reset_database  # noqa: E402
from sqlalchemy import event  # noqa: E402

from crm import create_app  # noqa: E402
from crm.domain.formats import _id_check_char  # noqa: E402
from crm.extensions import db  # noqa: E402
from crm.models import Client, FollowUp, Role, Team, Tier  # noqa: E402
from crm.services import plans  # noqa: E402
from crm.services.users import create_user  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench_plans"
N_MANAGERS = 50
# Fixed "now": 10:00 in Shanghai on 20 September 2026 (Mid-Autumn falls inside the first week).
NOW = datetime(2026, 9, 20, 2, 0, tzinfo=timezone.utc)


def id_number(i: int) -> str:
    born = date(1950, 1, 1) + timedelta(days=i % 18000)
    first17 = f"110105{born:%Y%m%d}{i % 1000:03d}"
    return first17 + _id_check_char(first17)


def build(n_plans: int) -> None:
    team = Team(name="基准团队")
    db.session.add(team)
    db.session.flush()
    managers = [create_user(f"m{i}", f"经理{i}", "bench-pass-123", Role.MANAGER, team=team)
                for i in range(N_MANAGERS)]
    tiers = db.session.execute(sa.select(Tier.id).where(Tier.name.in_(["金卡", "钻石"]))).scalars().all()
    rows = [{"name": f"客户{i}", "mobile": f"13{i:09d}", "mobile_reversed": f"13{i:09d}"[::-1],
             "id_number": id_number(i), "owner_id": managers[i % N_MANAGERS].id,
             "created_by_id": managers[i % N_MANAGERS].id, "tier_id": tiers[i % 2], "stage": "active",
             "created_at": NOW, "updated_at": NOW, "last_activity_at": NOW} for i in range(n_plans)]
    db.session.execute(sa.insert(Client), rows)
    db.session.commit()


def count_statements(engine) -> list[int]:
    counter = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args):
        counter[0] += 1

    return counter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=10_000)
    parser.add_argument("--database-url", default=os.environ.get("CRM_BENCH_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    reset_database(args.database_url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(ROOT / "migrations"))
        print(f"{platform.node()} · Python {platform.python_version()} · {db.engine.dialect.name} "
              f"{'.'.join(map(str, db.engine.dialect.server_version_info or ()))} · {args.plans} plans")
        started = time.perf_counter()
        build(args.plans)
        print(f"clients inserted in {time.perf_counter() - started:.1f} s")
        statements = count_statements(db.engine)
        clients = db.session.execute(sa.select(Client).order_by(Client.id)).scalars().all()
        started = time.perf_counter()
        with click.progressbar(clients, label="Starting plans") as bar:
            for n, client in enumerate(bar, 1):
                plans.start_plan(client, client.owner, plans.template_for(client), "", now=NOW)
                if n % 500 == 0:
                    db.session.commit()
        db.session.commit()
        elapsed = time.perf_counter() - started
        created = db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp))
        print(f"start {args.plans} plans (+ first week): {elapsed:.1f} s, {elapsed / args.plans * 1000:.2f} ms/plan, "
              f"{created} follow-ups, {statements[0] / args.plans:.1f} statements/plan")
        for label, now in (("same day again", NOW), ("next day", NOW + timedelta(days=1)),
                           ("a week later", NOW + timedelta(days=8))):
            db.session.expunge_all()
            statements[0] = 0
            started = time.perf_counter()
            report = plans.generate(now=now)
            elapsed = time.perf_counter() - started
            print(f"generate, {label:>15}: {elapsed:6.2f} s · {report} · "
                  f"{statements[0] / args.plans:.2f} statements/plan")


if __name__ == "__main__":
    main()
