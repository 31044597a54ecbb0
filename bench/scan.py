"""Benchmark of the dormant / at-risk scan: N clients, ~10 visits and 3 asset snapshots each.

    .venv/bin/python bench/scan.py [--clients 100000] [--database-url URL] [--skip-build]

The database is `crm_bench_scan` on the local PostgreSQL server (created when missing, wiped and
migrated with flask_migrate.upgrade(); the test suite's `test` database is refused). The rows are
generated inside PostgreSQL with INSERT ... SELECT FROM generate_series(...), in chunks of clients.
Then it times `scan_clients` + commit twice (the first run raises the flags and their follow-ups,
the second finds nothing new) and a third time a day later, against ONE hand-written SELECT that
computes the same (client, kind, reasons) set, and checks that both sets are identical.
Figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CRM_SECRET_KEY", "bench-secret-key-not-for-production")

import click  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from common import reset_postgres  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from crm import create_app  # noqa: E402
from crm.domain.clock import SHANGHAI  # noqa: E402
from crm.extensions import db  # noqa: E402
from crm.models import Role, Team, Tier  # noqa: E402
from crm.services import settings  # noqa: E402
from crm.services.scan import SCANNED_STAGES, scan_clients  # noqa: E402
from crm.services.users import create_user  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench_scan"
PASSWORD = "bench-pass-123"
N_MANAGERS = 100
CHUNK = 50_000  # clients per INSERT ... SELECT (so 500,000 visits)
VISITS_PER_CLIENT = 10
# Fixed "now": 12:00 in Shanghai, so every run builds the same rows and flags.
NOW = datetime(2026, 11, 25, 4, 0, tzinfo=timezone.utc)
TODAY = NOW.astimezone(SHANGHAI).date()


def prepare_database(url: str) -> None:
    """Create the PostgreSQL database if missing and empty it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit("this benchmark generates its rows inside PostgreSQL: give a postgresql+psycopg URL")
    reset_postgres(url)


def app_config(url: str) -> dict:
    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_STORAGE_URI": "memory://",
            "CRM_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}


# --------------------------------------------------------------------------- data


def r(salt: int, modulo: int, of: str = "i") -> str:
    """A deterministic pseudo-random integer in [0, modulo) per row, from PostgreSQL's own hash."""
    return f"(abs(hashint8extended({of}::bigint, {salt})) % {modulo})"


# Stage: 5 % prospect, 3 % contacted, 10 % account opened, 72 % active, 5 % dormant, 5 % lost.
# Tier: 40 % 普通, 25 % 银卡, 15 % 金卡, 5 % 钻石, 15 % none. Days since the last contact:
# g * g / 80 with g uniform in 0..99 (0 to 122 days, most of them recent). Satisfaction: 1.5 %
# score 1, 1.5 % score 2, 10 % 3 to 5, the rest never asked. Intent: 1 % transfer out, 0.5 % close.
_CLIENTS_SQL = f"""
INSERT INTO clients (id, name, name_initials, name_pinyin, mobile, mobile_reversed, source_channel,
    referrer, interests, consent_contact, stage, account_opened_at, investor_type, tier_id,
    risk_lowest, last_intent, last_satisfaction, owner_id, created_by_id, updated_by_id, created_at,
    updated_at, last_contact_at, last_activity_at, version)
SELECT i, '客户' || i, 'kh', 'kehu', mobile, reverse(mobile), 'walk_in', '', '', false, stage,
    CASE WHEN stage NOT IN ('prospect', 'contacted') THEN created + interval '10 days' END,
    'ordinary', tier_id, false, intent, satisfaction, owner_id, owner_id, owner_id, created,
    CAST(:now AS timestamp), last_contact, greatest(created, last_contact), 1
FROM (
    SELECT i,
        '1' || (3 + i / 1000000000) || lpad((i % 1000000000)::text, 9, '0') AS mobile,
        CASE WHEN {r(1, 100)} < 5 THEN 'prospect' WHEN {r(1, 100)} < 8 THEN 'contacted'
             WHEN {r(1, 100)} < 18 THEN 'account_opened' WHEN {r(1, 100)} < 90 THEN 'active'
             WHEN {r(1, 100)} < 95 THEN 'dormant' ELSE 'lost' END AS stage,
        CASE WHEN {r(2, 100)} < 40 THEN :tier1 WHEN {r(2, 100)} < 65 THEN :tier2
             WHEN {r(2, 100)} < 80 THEN :tier3 WHEN {r(2, 100)} < 85 THEN :tier4 END AS tier_id,
        CAST(:now AS timestamp) - make_interval(days => 400 + {r(3, 400)}::int) AS created,
        CAST(:now AS timestamp) - make_interval(days => ({r(4, 100)} * {r(4, 100)} / 80)::int,
                                                mins => {r(5, 1440)}::int) AS last_contact,
        CASE WHEN {r(6, 1000)} < 15 THEN 1 WHEN {r(6, 1000)} < 30 THEN 2
             WHEN {r(6, 1000)} < 130 THEN 3 + {r(6, 1000)} % 3 END AS satisfaction,
        CASE WHEN {r(7, 1000)} < 10 THEN 'transfer_out' WHEN {r(7, 1000)} < 15 THEN 'close_account' END AS intent,
        (CAST(:owners AS integer[]))[CAST(1 + i % :n_owners AS integer)] AS owner_id
    FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS i
) AS g
"""

# Prospects have never been reached: no contact, no visits, no snapshots.
_CLEAR_PROSPECT_CONTACT_SQL = """
UPDATE clients SET last_contact_at = NULL, last_activity_at = created_at
WHERE stage = 'prospect' AND id BETWEEN :first AND :last
"""

# Ten visits a client, the latest exactly at last_contact_at, then one every 5 to 24 days before it.
_VISITS_SQL = f"""
INSERT INTO visit_logs (client_id, author_id, occurred_at, channel, summary, outcome, next_step, created_at)
SELECT c.id, c.owner_id, v.at, (ARRAY['phone', 'wechat', 'outlet', 'visit'])[1 + (c.id + j) % 4],
       '电话沟通', 'served', '', v.at
FROM clients c
CROSS JOIN generate_series(0, {VISITS_PER_CLIENT - 1}) AS j
CROSS JOIN LATERAL (SELECT c.last_contact_at - make_interval(days => j * (5 + c.id % 20)) AS at) AS v
WHERE c.id BETWEEN :first AND :last AND c.last_contact_at IS NOT NULL
"""

# Three snapshots of clients with an account: about 200 days ago, 25 to 34 days ago, 1 to 5 days ago.
# Pattern p: 0-6 moving (+10 %, then -5 %), 7 flat (no asset activity), 8 down 40 % (assets drop),
# 9 down 25 % (not enough to flag).
_SNAPSHOTS_SQL = f"""
INSERT INTO asset_snapshots (client_id, as_of, total_assets_fen, source, created_at)
SELECT c.id, s.as_of, s.total, 'import', CAST(:now AS timestamp)
FROM clients c
CROSS JOIN LATERAL (SELECT {r(9, 10, 'c.id')} AS p, 10000000 + {r(10, 100000000, 'c.id')} AS b) AS x
CROSS JOIN LATERAL (VALUES
    (CAST(:today AS date) - 200 - (c.id % 7)::int, x.b),
    (CAST(:today AS date) - 25 - (c.id % 10)::int,
     CASE WHEN x.p <= 6 THEN x.b * 11 / 10 WHEN x.p = 9 THEN x.b * 12 / 10 ELSE x.b END),
    (CAST(:today AS date) - 1 - (c.id % 5)::int,
     CASE WHEN x.p <= 6 THEN x.b * 21 / 20 WHEN x.p = 7 THEN x.b WHEN x.p = 8 THEN x.b * 6 / 10
          ELSE x.b * 9 / 10 END)
) AS s(as_of, total)
WHERE c.id BETWEEN :first AND :last AND c.stage NOT IN ('prospect', 'contacted')
"""


# One complaint for 1 % of the clients with an account, filed 0 to 39 days ago: 30 % closed, 30 %
# being verified (acknowledged), 40 % just registered. Acknowledge within 1 day, resolve within 21:
# about half of the open ones are overdue (the complaint_overdue reason).
_COMPLAINTS_SQL = f"""
INSERT INTO complaints (number, complainant_name, complainant_contact, client_id, account_ref, channel,
    category, severity, facts, evidence, staff_involved, client_request, first_handler_id, owner_id,
    status, ack_due_at, resolve_due_at, acknowledged_at, escalation_level, resolution, closed_at,
    created_by_id, created_at, version)
SELECT 'TS' || lpad(c.id::text, 10, '0'), c.name, c.mobile, c.id, '', 'phone', 'service_attitude',
       'normal', '服务态度', '', '', '', c.owner_id, c.owner_id, x.status,
       x.filed + interval '1 day', x.filed + interval '21 days',
       CASE WHEN x.status <> 'registered' THEN x.filed + interval '12 hours' END, 0, '',
       CASE WHEN x.status = 'closed' THEN x.filed + interval '10 days' END, c.owner_id, x.filed, 1
FROM clients c
CROSS JOIN LATERAL (SELECT
    CASE WHEN {r(12, 10, 'c.id')} < 3 THEN 'closed' WHEN {r(12, 10, 'c.id')} < 6 THEN 'verifying'
         ELSE 'registered' END AS status,
    CAST(:now AS timestamp) - make_interval(days => {r(13, 40, 'c.id')}::int) AS filed) AS x
WHERE c.id BETWEEN :first AND :last AND c.stage NOT IN ('prospect', 'contacted')
  AND {r(11, 100, 'c.id')} = 0
"""


def build(url: str, n_clients: int) -> dict:
    """Migrate an empty database and generate the benchmark rows; return timings and counts."""
    from flask_migrate import upgrade

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    prepare_database(url)
    app = create_app(app_config(url))
    with app.app_context():
        upgrade()
        timings["schema + migrations"] = time.perf_counter() - t0
        t = time.perf_counter()
        team = Team(name="朝阳营销一部")
        db.session.add(team)
        db.session.flush()
        create_user("admin", "合规管理员", PASSWORD, Role.ADMIN)
        create_user("lead", "李团队长", PASSWORD, Role.LEAD, team=team)
        owners = [create_user(f"manager{i:03d}", f"经理{i:03d}", PASSWORD, Role.MANAGER, team=team).id
                  for i in range(1, N_MANAGERS + 1)]
        tiers = dict(db.session.execute(sa.select(Tier.name, Tier.id)).all())
        db.session.commit()
        timings["users"] = time.perf_counter() - t

        t = time.perf_counter()
        params = {"now": NOW.replace(tzinfo=None), "today": TODAY, "owners": owners, "n_owners": len(owners),
                  "tier1": tiers["普通"], "tier2": tiers["银卡"], "tier3": tiers["金卡"], "tier4": tiers["钻石"]}
        with db.engine.connect() as conn, click.progressbar(
                length=n_clients, label=f"Generating {n_clients:,} clients, visits, snapshots",
                file=sys.stderr) as bar:
            for first in range(1, n_clients + 1, CHUNK):
                last = min(first + CHUNK - 1, n_clients)
                chunk = {**params, "first": first, "last": last}
                for sql in (_CLIENTS_SQL, _CLEAR_PROSPECT_CONTACT_SQL, _VISITS_SQL, _SNAPSHOTS_SQL,
                            _COMPLAINTS_SQL):
                    conn.execute(sa.text(sql), chunk)
                conn.commit()
                bar.update(last - first + 1)
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('clients', 'id'), "
                                 "(SELECT coalesce(max(id), 0) + 1 FROM clients), false)")
            conn.commit()
        timings["clients, visits, snapshots"] = time.perf_counter() - t
        t = time.perf_counter()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        timings["VACUUM ANALYZE"] = time.perf_counter() - t
        counts = {}
        with db.engine.connect() as conn:
            for table in ("clients", "visit_logs", "asset_snapshots", "complaints"):
                counts[table] = conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
        db.session.remove()
        db.engine.dispose()
    timings["total build"] = time.perf_counter() - t0
    return {"timings": timings, "counts": counts}


# --------------------------------------------------------------------------- the hand-written statement

# The same rules as crm/services/scan.py (and the complaints service's overdue rule), written by
# hand for PostgreSQL in one SELECT: tier days joined, cutoffs as interval arithmetic, concat_ws for
# the reasons, one LATERAL row per kind.
HAND_WRITTEN_SQL = """
SELECT c.id AS client_id, k.kind, k.reasons
FROM clients c
LEFT JOIN tiers t ON t.id = c.tier_id
LEFT JOIN (
    SELECT client_id,
           bool_or(as_of >= CAST(:asset_from AS date) AND prev IS DISTINCT FROM total) AS moved,
           max(as_of) AS latest_on,
           max(total) FILTER (WHERE as_of = latest_on) AS latest_total,
           max(total) FILTER (WHERE as_of >= latest_on - CAST(:drop_days AS integer)) AS peak
    FROM (SELECT client_id, as_of, total_assets_fen AS total,
                 lag(total_assets_fen) OVER w AS prev,
                 max(as_of) OVER w AS latest_on
          FROM asset_snapshots
          WINDOW w AS (PARTITION BY client_id ORDER BY as_of
                       ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) h
    GROUP BY client_id
) a ON a.client_id = c.id
CROSS JOIN LATERAL (VALUES
    ('dormant', concat_ws(',',
        CASE WHEN coalesce(c.last_contact_at, c.account_opened_at, c.created_at)
                  < CAST(:today_start AS timestamp)
                    - make_interval(days => coalesce(t.max_days_between_contacts, CAST(:default_days AS integer)))
             THEN 'no_contact' END,
        CASE WHEN NOT a.moved THEN 'no_asset_activity' END)),
    ('at_risk', concat_ws(',',
        CASE WHEN a.latest_on >= CAST(:drop_from AS date) AND a.latest_total < a.peak
                  AND a.latest_total * 100 <= a.peak * (100 - CAST(:drop_percent AS integer))
             THEN 'assets_drop' END,
        CASE WHEN EXISTS (SELECT 1 FROM complaints q WHERE q.client_id = c.id AND q.status <> 'closed'
                          AND (q.resolve_due_at < CAST(:now AS timestamp)
                               OR (q.acknowledged_at IS NULL AND q.ack_due_at < CAST(:now AS timestamp))))
             THEN 'complaint_overdue' END,
        CASE WHEN c.last_satisfaction <= CAST(:satisfaction_max AS integer) THEN 'low_satisfaction' END,
        CASE WHEN c.last_intent IN ('transfer_out', 'close_account') THEN 'leaving_intent' END))
) AS k(kind, reasons)
WHERE c.stage IN ('account_opened', 'active', 'dormant') AND k.reasons <> ''
"""


def hand_written_params(now: datetime) -> dict:
    today = now.astimezone(SHANGHAI).date()
    today_start = datetime.combine(today, datetime.min.time(), SHANGHAI).astimezone(timezone.utc)
    drop_days = settings.get_int("at_risk_drop_days")
    return {
        "now": now.astimezone(timezone.utc).replace(tzinfo=None),
        "today_start": today_start.replace(tzinfo=None),
        "default_days": settings.get_int("dormant_default_days"),
        "asset_from": today - timedelta(days=settings.get_int("dormant_asset_days")),
        "drop_days": drop_days, "drop_from": today - timedelta(days=drop_days),
        "drop_percent": settings.get_int("at_risk_drop_percent"),
        "satisfaction_max": settings.get_int("at_risk_satisfaction_max"),
    }


def time_hand_written(now: datetime) -> tuple[float, int, dict[str, int]]:
    """Seconds and rows of the hand-written statement (its rows counted per kind by the server)."""
    params = hand_written_params(now)
    t = time.perf_counter()
    rows = db.session.execute(sa.text(f"SELECT kind, count(*) FROM ({HAND_WRITTEN_SQL}) x GROUP BY kind"),
                              params).all()
    seconds = time.perf_counter() - t
    db.session.rollback()
    per_kind = dict(rows)
    return seconds, sum(per_kind.values()), per_kind


def check_same_set(now: datetime) -> tuple[int, int, int]:
    """Open flags vs the hand-written set: (rows only in ours, rows only in the hand-written, open flags)."""
    params = hand_written_params(now)
    ours = "SELECT client_id, kind, reasons FROM client_flags WHERE cleared_at IS NULL"
    only_ours = db.session.execute(sa.text(
        f"SELECT count(*) FROM ({ours} EXCEPT {HAND_WRITTEN_SQL}) d"), params).scalar_one()
    only_hand = db.session.execute(sa.text(
        f"SELECT count(*) FROM ({HAND_WRITTEN_SQL} EXCEPT {ours}) d"), params).scalar_one()
    total = db.session.execute(sa.text(f"SELECT count(*) FROM ({ours}) d")).scalar_one()
    db.session.rollback()
    return only_ours, only_hand, total


def log_visits_during_the_day(at: datetime) -> int:
    """Every 50th client with an account is contacted at `at`: last_contact_at moves as log_visit moves it.

    The scan reads clients.last_contact_at only, so no visit row is written; that keeps the undo
    a plain UPDATE (deleting visit_logs rows is slow: the foreign key from
    follow_ups.completed_visit_id has no index, so each deleted visit scans follow_ups).
    """
    stamp = at.astimezone(timezone.utc).replace(tzinfo=None)
    visited = db.session.execute(sa.text(
        "UPDATE clients SET last_contact_at = :at, last_activity_at = :at "
        "WHERE id % 50 = 0 AND stage NOT IN ('prospect', 'contacted')"), {"at": stamp}).rowcount
    db.session.commit()
    return visited


def undo_visits_during_the_day(at: datetime) -> None:
    """Put last_contact_at back to the latest visit, so that a rerun with --skip-build measures the same data."""
    stamp = at.astimezone(timezone.utc).replace(tzinfo=None)
    db.session.execute(sa.text(
        "UPDATE clients SET last_contact_at = v.last, last_activity_at = greatest(clients.created_at, v.last) "
        "FROM (SELECT client_id, max(occurred_at) AS last FROM visit_logs "
        "      WHERE client_id IN (SELECT id FROM clients WHERE last_contact_at = :at) GROUP BY client_id) v "
        "WHERE clients.id = v.client_id AND clients.last_contact_at = :at"), {"at": stamp})
    db.session.commit()


class Counter:
    """Counts the SQL statements sent to the database."""

    def __init__(self, engine: sa.Engine):
        self.n = 0
        event.listen(engine, "before_cursor_execute", self)

    def __call__(self, *args) -> None:
        self.n += 1


def timed_scan(label: str, now: datetime, counter: Counter) -> tuple[float, object]:
    counter.n = 0
    t = time.perf_counter()
    report = scan_clients(now)
    db.session.commit()
    seconds = time.perf_counter() - t
    print(f"{label:<34} {seconds:>7.2f} s  (scan {report.seconds:.2f} s + commit {seconds - report.seconds:.2f} s, "
          f"{counter.n} SQL statements)")
    print(f"{'':<34} raised dormant {report.raised_dormant:,}, raised at_risk {report.raised_at_risk:,}, "
          f"updated {report.updated:,}, cleared {report.cleared:,}, follow-ups {report.followups_created:,}, "
          f"scanned {report.scanned:,}")
    return seconds, report


def _times(seconds: list[float]) -> str:
    return f"{statistics.median(seconds):>7.2f} s median of " + ", ".join(f"{x:.2f}" for x in seconds)


def measure(url: str, repeat: int) -> None:
    from flask_migrate import upgrade

    app = create_app(app_config(url))
    with app.app_context():
        upgrade()  # --skip-build on a database built before a newer migration
        with db.engine.connect() as conn:
            print("server: " + conn.exec_driver_sql("SELECT version()").scalar())
            # A rerun with --skip-build starts again from no flags.
            conn.exec_driver_sql("TRUNCATE client_flags, follow_ups RESTART IDENTITY")
            conn.exec_driver_sql("DELETE FROM audit_events WHERE action = 'flags.scan'")
            conn.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE client_flags")
            conn.exec_driver_sql("VACUUM ANALYZE follow_ups")
            counts = {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
                      for t in ("clients", "visit_logs", "asset_snapshots", "complaints")}
            in_scope = conn.execute(sa.text("SELECT count(*) FROM clients WHERE stage IN :stages").bindparams(
                sa.bindparam("stages", expanding=True)), {"stages": list(SCANNED_STAGES)}).scalar_one()
        print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()) + f"; clients scanned {in_scope:,}")
        print("load average before measuring: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        counter = Counter(db.engine)
        print()
        hands = []
        seconds, hand_rows, hand_kinds = time_hand_written(NOW)
        hands.append(seconds)
        print(f"{'hand-written SELECT #1':<34} {seconds:>7.2f} s  ({hand_rows:,} rows: "
              + ", ".join(f"{k} {n:,}" for k, n in sorted(hand_kinds.items())) + ")")
        first, first_report = timed_scan("(a) scan_clients, first run", NOW, counter)
        # What autovacuum does to the new rows before the next day's scan.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE client_flags")
            conn.exec_driver_sql("VACUUM ANALYZE follow_ups")
        # Then the same instant again, as a rerun would (a later one could cross a complaint
        # deadline), alternating with the hand-written statement so both see the same load.
        reruns = []
        for k in range(repeat):
            reruns.append(timed_scan(f"(b) scan_clients, nothing new #{k + 1}", NOW, counter)[0])
            hands.append(time_hand_written(NOW)[0])
            print(f"{f'hand-written SELECT #{k + 2}':<34} {hands[-1]:>7.2f} s")
        second = statistics.median(reruns)
        only_ours, only_hand, open_flags = check_same_set(NOW)
        later = NOW + timedelta(days=1)
        visited = log_visits_during_the_day(later - timedelta(hours=2))
        print(f"then {visited:,} clients (2 %) get a visit during the day")
        third, _ = timed_scan("(c) scan_clients, one day later", later, counter)
        hands_3, hand_rows_3 = [], 0
        for _ in range(repeat):
            seconds_3, hand_rows_3, _ = time_hand_written(later)
            hands_3.append(seconds_3)
        print(f"{'hand-written SELECT, one day later':<34} {_times(hands_3)}  ({hand_rows_3:,} rows)")
        only_ours_3, only_hand_3, open_flags_3 = check_same_set(later)
        undo_visits_during_the_day(later - timedelta(hours=2))
        print("load average after measuring: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))

        hand, hand_3 = statistics.median(hands), statistics.median(hands_3)
        print()
        print("ours: scan_clients + commit (second run: median of the reruns); "
              "hand-written: median of its runs at the same instant")
        print(f"{'':<28} {'ours s':>8} {'hand-written s':>15} {'ratio':>7} {'flagged (ours)':>15} "
              f"{'flagged (hand)':>15}  check")
        for label, ours, hand_s, flagged, hand_n, diff in (
                ("first run (raises)", first, hand, open_flags, hand_rows, (only_ours, only_hand)),
                ("second run (nothing new)", second, hand, open_flags, hand_rows, (only_ours, only_hand)),
                ("one day later", third, hand_3, open_flags_3, hand_rows_3, (only_ours_3, only_hand_3))):
            same = "SAME SET" if diff == (0, 0) and flagged == hand_n else f"DIFFERENT {diff}"
            print(f"{label:<28} {ours:>8.2f} {hand_s:>15.2f} {ours / hand_s:>6.2f}x {flagged:>15,} {hand_n:>15,}  {same}")
        if first_report.raised_dormant + first_report.raised_at_risk != open_flags:
            print("WARNING: the first run's raised count differs from the open flags")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--skip-build", action="store_true", help="measure the database as it is")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the hand-written SELECT and of the rerun")
    args = parser.parse_args()
    if make_url(args.database_url).database == "test":
        raise SystemExit("refusing to use the database named 'test': the test suite owns it")
    safe_url = make_url(args.database_url).render_as_string(hide_password=True)
    print(f"Outlet CRM dormant / at-risk scan benchmark — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"database: {safe_url}; clients: {args.clients:,}; scan at {NOW:%Y-%m-%d %H:%M} UTC "
          f"({NOW.astimezone(SHANGHAI):%H:%M} Shanghai)")
    print(f"python {platform.python_version()}, SQLAlchemy {sa.__version__}, "
          f"{os.cpu_count()} CPUs, {platform.platform()}")
    if not args.skip_build:
        built = build(args.database_url, args.clients)
        print("Build: " + ", ".join(f"{k} {v:,}" for k, v in built["counts"].items()))
        print("Build time: " + ", ".join(f"{k} {v:.1f} s" for k, v in built["timings"].items()))
    measure(args.database_url, args.repeat)


if __name__ == "__main__":
    main()
