"""Benchmark of the client list at scale: build a large database, then time real HTTP requests.

    .venv/bin/python bench/client_list.py [--clients 100000] [--database-url URL]

The default database is `crm_bench` on the local PostgreSQL server (created when missing);
`--database-url sqlite:////tmp/crm_bench.sqlite3` runs the same benchmark on SQLite. The
database is wiped and rebuilt on every run. Figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import html
import os
import platform
import random
import re
import statistics
import sys
import time
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# A fixed key so create_app() neither needs the environment nor writes instance/secret_key.
os.environ.setdefault("CRM_SECRET_KEY", "bench-secret-key-not-for-production")

import click  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from common import reset_database  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from crm import create_app  # noqa: E402
from crm.domain.pinyin import name_initials, name_pinyin  # noqa: E402
from crm.extensions import db  # noqa: E402
from crm.models import (  # noqa: E402
    Client,
    Outlet,
    Role,
    SourceChannel,
    Stage,
    StageChange,
    Team,
    VisitChannel,
    VisitLog,
    VisitOutcome,
)
from crm.seed import GIVEN, NEXT_STEPS, SUMMARIES, SURNAMES  # noqa: E402
from crm.services.users import create_user  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench"
PASSWORD = "bench-pass-123"
N_MANAGERS = 20
CHUNK = 10_000
# Fixed "now" so every run builds the same rows (the seed date of crm/seed.py).
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
SPAN = timedelta(days=548)  # 18 months of activity
SLOW_MS = 50.0


# --------------------------------------------------------------------------- database


def app_config(url: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "CRM_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }


# --------------------------------------------------------------------------- data


class Names:
    """Realistic Chinese names from the seed lists, with their pinyin keys computed once per name."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.cache: dict[str, tuple[str, str]] = {}

    def draw(self) -> tuple[str, str, str]:
        rng = self.rng
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        keys = self.cache.get(name)
        if keys is None:
            keys = self.cache[name] = (name_initials(name), name_pinyin(name))
        return name, keys[0], keys[1]


def mobiles(rng: random.Random, n: int) -> list[str]:
    """n distinct valid mainland mobiles: 1, then 3-9, then nine digits."""
    return [f"1{3 + k // 10**9}{k % 10**9:09d}" for k in rng.sample(range(7 * 10**9), n)]


def build(url: str, n_clients: int, seed: int) -> dict:
    """Migrate an empty database and bulk-load the benchmark data; return timings and counts."""
    from flask_migrate import upgrade

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    reset_database(url)
    app = create_app(app_config(url))
    rng = random.Random(seed)
    with app.app_context():
        upgrade()
        timings["schema + migrations"] = time.perf_counter() - t0

        t = time.perf_counter()
        outlets = [
            Outlet(bank="工商银行", branch="朝阳支行", city="北京"),
            Outlet(bank="建设银行", branch="望京支行", city="北京"),
            Outlet(bank="招商银行", branch="国贸支行", city="北京"),
        ]
        team = Team(name="朝阳营销一部")
        db.session.add_all([*outlets, team])
        db.session.flush()
        create_user("admin", "合规管理员", PASSWORD, Role.ADMIN, email="admin@example.com")
        create_user("lead", "李团队长", PASSWORD, Role.LEAD, email="lead@example.com",
                    team=team, outlet=outlets[0])
        managers = [
            create_user(f"manager{i:02d}", f"{SURNAMES[i]}经理", PASSWORD, Role.MANAGER,
                        email=f"manager{i:02d}@example.com", team=team, outlet=outlets[i % 3])
            for i in range(1, N_MANAGERS + 1)
        ]
        manager_ids = [(m.id, m.outlet_id) for m in managers]
        outlet_ids = [o.id for o in outlets]
        db.session.commit()
        timings["users, team, outlets"] = time.perf_counter() - t

        t = time.perf_counter()
        names = Names(rng)
        numbers = mobiles(rng, n_clients)
        channels = [c.value for c in VisitChannel]
        outcomes = [o.value for o in VisitOutcome]
        sources = [s.value for s in SourceChannel]
        visit_id = change_id = 0
        counts = {"clients": 0, "visits": 0, "stage changes": 0}
        with click.progressbar(length=n_clients, label=f"Loading {n_clients:,} clients",
                               file=sys.stderr) as bar:
            for start in range(0, n_clients, CHUNK):
                clients: list[dict] = []
                visits: list[dict] = []
                changes: list[dict] = []
                for i in range(start, min(start + CHUNK, n_clients)):
                    client_id = i + 1
                    owner_id, owner_outlet = manager_ids[i % N_MANAGERS]
                    name, initials, pinyin = names.draw()
                    mobile = numbers[i]
                    created = NOW - timedelta(seconds=rng.uniform(3600, SPAN.total_seconds()))
                    # A fifth went quiet months ago: dormant or lost candidates.
                    quiet = rng.random() < 0.2
                    end = NOW - timedelta(days=rng.uniform(90, 300)) if quiet else NOW
                    end = max(end, created + timedelta(hours=1))
                    n_visits = rng.choice((0, 1, 2, 3, 3, 4, 4, 5, 6))  # mean 3
                    last = None
                    for _ in range(n_visits):
                        at = created + (end - created) * rng.random()
                        visit_id += 1
                        visits.append({
                            "id": visit_id, "client_id": client_id, "author_id": owner_id,
                            "occurred_at": at, "channel": rng.choice(channels),
                            "summary": rng.choice(SUMMARIES), "outcome": rng.choice(outcomes),
                            "next_step": rng.choice(NEXT_STEPS), "next_contact_on": None,
                            "created_at": at,
                        })
                        last = at if last is None or at > last else last
                    stage = Stage.PROSPECT
                    if last is not None:
                        if quiet:
                            stage = rng.choice((Stage.DORMANT, Stage.DORMANT, Stage.LOST, Stage.ACTIVE))
                        else:
                            stage = rng.choice((Stage.CONTACTED, Stage.ACCOUNT_OPENED,
                                                Stage.ACTIVE, Stage.ACTIVE))
                    activity = last or created
                    change_id += 1
                    changes.append({"id": change_id, "client_id": client_id, "from_stage": None,
                                    "to_stage": Stage.PROSPECT.value, "changed_by_id": owner_id,
                                    "changed_at": created, "note": ""})
                    if stage != Stage.PROSPECT:
                        change_id += 1
                        changes.append({"id": change_id, "client_id": client_id,
                                        "from_stage": Stage.PROSPECT.value, "to_stage": stage.value,
                                        "changed_by_id": owner_id, "changed_at": activity, "note": ""})
                    clients.append({
                        "id": client_id, "name": name, "name_initials": initials, "name_pinyin": pinyin,
                        "mobile": mobile, "mobile_reversed": mobile[::-1], "id_number": None,
                        "gender": rng.choice(("male", "female")),
                        "age_band": rng.choice(("25_34", "35_44", "45_54", "55_64", "65p")),
                        "source_channel": rng.choice(sources), "referrer": "",
                        "interests": rng.choice(("基金定投", "国债逆回购", "两融", "港股通", "银行理财到期转投", "")),
                        "consent_contact": True, "consent_channel": "phone", "consent_at": created,
                        "stage": stage.value,
                        "account_opened_at": activity if stage in (Stage.ACCOUNT_OPENED, Stage.ACTIVE)
                        else None,
                        "outlet_id": rng.choice(outlet_ids) if rng.random() > 0.1 else owner_outlet,
                        "owner_id": owner_id, "created_by_id": owner_id, "updated_by_id": owner_id,
                        "created_at": created, "updated_at": activity, "last_contact_at": last,
                        "last_activity_at": activity, "version": 1,
                    })
                # render_nulls: without it the ORM leaves out None values, and every change in the
                # set of non-null columns from one row to the next starts a new single-row INSERT.
                for rows, model in ((clients, Client), (visits, VisitLog), (changes, StageChange)):
                    for k in range(0, len(rows), CHUNK):
                        db.session.execute(sa.insert(model).execution_options(render_nulls=True),
                                           rows[k:k + CHUNK])
                db.session.commit()
                counts["clients"] += len(clients)
                counts["visits"] += len(visits)
                counts["stage changes"] += len(changes)
                bar.update(len(clients))
        counts["distinct names"] = len(names.cache)
        timings["clients, visits, stage changes"] = time.perf_counter() - t

        t = time.perf_counter()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                # Explicit ids were inserted: move the sequences past them.
                for table in ("clients", "visit_logs", "stage_changes"):
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
                conn.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        timings["ANALYZE"] = time.perf_counter() - t
        db.session.remove()
        db.engine.dispose()
    timings["total build"] = time.perf_counter() - t0
    return {"timings": timings, "counts": counts}


# --------------------------------------------------------------------------- measurement


class SQLCounter:
    """Counts statements and their time on the engine; optionally keeps them for EXPLAIN."""

    def __init__(self, engine: sa.Engine):
        self.count = 0
        self.seconds = 0.0
        self.keep = False
        self.kept: list[tuple[str, object]] = []
        sa.event.listen(engine, "before_cursor_execute", self.before)
        sa.event.listen(engine, "after_cursor_execute", self.after)

    def before(self, conn, cursor, statement, parameters, context, executemany):
        self.count += 1
        conn.info["bench_t0"] = time.perf_counter()
        if self.keep:
            self.kept.append((statement, parameters))

    def after(self, conn, cursor, statement, parameters, context, executemany):
        self.seconds += time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())

    def reset(self) -> None:
        self.count, self.seconds, self.kept = 0, 0.0, []


MORE_LINK = re.compile(r'<li id="more"[^>]*>\s*<a [^>]*?href="([^"]+)"')


def more_url(text: str) -> str | None:
    found = MORE_LINK.search(text)
    return html.unescape(found.group(1)) if found else None


def login(app, username: str):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    if response.status_code != 303:
        raise SystemExit(f"sign-in as {username} failed: {response.status_code}")
    return client


def page_n(client, n: int) -> tuple[str, int]:
    """Follow the keyset "More" link from the first page to page n (or the last page)."""
    url, reached = "/clients", 1
    text = client.get(url).get_data(as_text=True)
    while reached < n:
        nxt = more_url(text)
        if nxt is None:
            break
        url, reached = nxt, reached + 1
        text = client.get(url).get_data(as_text=True)
    return url, reached


def pad(text: str, width: int) -> str:
    """Left-align text in a fixed-width column, counting CJK characters as two columns."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - shown)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # nearest rank
    return ordered[int(rank) - 1]


def measure(client, counter: SQLCounter, url: str, headers: dict, warmup: int, repeat: int,
            engine: sa.Engine) -> dict:
    for _ in range(warmup):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code)
    generic_before, custom_before = plan_cache(engine)
    times, sql_times, statements = [], [], set()
    for _ in range(repeat):
        counter.reset()
        t = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - t) * 1000)
        sql_times.append(counter.seconds * 1000)
        statements.add(counter.count)
        assert response.status_code == 200, (url, response.status_code)
    generic_after, custom_after = plan_cache(engine)
    generic = generic_after - generic_before
    prepared = generic + custom_after - custom_before
    if engine.dialect.name != "postgresql":
        plan = "-"
    else:
        # psycopg prepares a query after 5 executions, but forgets it on every ROLLBACK, and each
        # request ends with one: "not prepared" means each request was planned with its values.
        plan = "not prepared" if not prepared else f"{prepared} prepared, {generic} generic"
    text = response.get_data(as_text=True)
    return {
        "median": statistics.median(times), "p95": percentile(times, 95),
        "sql": statistics.median(sql_times),
        "statements": "/".join(str(s) for s in sorted(statements)),
        "rows": text.count('<li class="card">'), "fragment": "<html" not in text,
        "plan": plan, "generic": generic,
    }


def search_statement(client, counter: SQLCounter, url: str, headers: dict) -> tuple[str, object]:
    """The SQL of the client search a request runs, with its parameters."""
    counter.reset()
    counter.keep = True
    client.get(url, headers=headers)
    counter.keep = False
    found = [k for k in counter.kept if "FROM clients" in k[0] and "ORDER BY clients.last_activity_at" in k[0]]
    return found[-1]


def explain(engine: sa.Engine, statement: str, parameters, generic: bool = False) -> list[str]:
    """The plan of the search query: EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite.

    generic=True shows the plan PostgreSQL caches for a prepared statement (psycopg prepares a
    query after 5 executions on a connection; after 5 more, PostgreSQL may switch to this plan).
    """
    with engine.connect() as conn:
        if engine.dialect.name != "postgresql":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            return [row[-1] for row in rows]
        if not generic:
            return list(conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars())
        names: list[str] = []

        def placeholder(match: re.Match) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        text = re.sub(r"%\((\w+)\)s", placeholder, statement)
        args = ", ".join("'" + str(parameters[n]).replace("'", "''") + "'" for n in names)
        conn.exec_driver_sql("PREPARE bench_generic AS " + text)
        conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        try:
            return list(conn.exec_driver_sql(
                f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_generic({args})").scalars())
        finally:
            conn.exec_driver_sql("RESET plan_cache_mode")
            conn.exec_driver_sql("DEALLOCATE bench_generic")
            conn.commit()


def plan_cache(engine: sa.Engine) -> tuple[int, int]:
    """Generic and custom plans PostgreSQL used so far for the prepared client searches."""
    if engine.dialect.name != "postgresql":
        return 0, 0
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) "
            "FROM pg_prepared_statements WHERE statement LIKE :pattern"
        ), {"pattern": "%ORDER BY clients.last_activity_at DESC%"}).one()
    return int(row[0]), int(row[1])


def summary(plan: list[str], dialect: str) -> str:
    """Top node, the scan that reads the clients, and the execution time of a plan."""
    if dialect != "postgresql":
        return " | ".join(plan)
    top = plan[0].strip().split("  (")[0]
    scans = [line.strip().removeprefix("->").strip().split("  (")[0] for line in plan
             if "Scan" in line and " clients" in line]
    total = next((line.strip() for line in plan if line.startswith("Execution Time")), "")
    return f"{top} [{scans[0] if scans else ''}] {total}"


def run_cases(url: str, warmup: int, repeat: int, pages: int, full_plans: bool) -> None:
    app = create_app(app_config(url))
    with app.app_context():
        engine = db.engine
    counter = SQLCounter(engine)
    dialect = engine.dialect.name
    with engine.connect() as conn:
        version = conn.exec_driver_sql(
            "SELECT version()" if dialect == "postgresql" else "SELECT 'SQLite ' || sqlite_version()").scalar()
    print(f"server: {version}")
    print("load average before measuring: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    roles = [("manager", "manager01"), ("lead", "lead"), ("admin", "admin")]
    htmx = {"HX-Request": "true", "HX-Target": "results"}
    results = []
    plans: dict[tuple[str, str], list[str]] = {}
    generic_plans: dict[tuple[str, str], list[str]] = {}
    for role, username in roles:
        client = login(app, username)
        deep_url, reached = page_n(client, pages)
        cases = [
            ("first page", "/clients", {}),
            (f"page {reached} (keyset)", deep_url, {}),
            ("initials q=zs", "/clients?q=zs", {}),
            ("mobile q=1234", "/clients?q=1234", {}),
            ("name q=国", "/clients?q=" + quote("国"), {}),
            ("stage=dormant", "/clients?stage=dormant", {}),
            ("htmx fragment #results", "/clients", htmx),
            # Worst cases: few or no matches, so the whole visible list is read.
            ("pinyin q=zhangwei", "/clients?q=zhangwei", {}),
            ("name q=不存在 (no match)", "/clients?q=" + quote("不存在"), {}),
        ]
        for case, path, headers in cases:
            figures = measure(client, counter, path, headers, warmup, repeat, engine)
            results.append((case, role, figures))
            statement, parameters = search_statement(client, counter, path, headers)
            plans[(case, role)] = explain(engine, statement, parameters)
            if figures["generic"]:
                generic_plans[(case, role)] = explain(engine, statement, parameters, generic=True)
            if headers and not figures["fragment"]:
                print(f"WARNING: {case} rendered a whole page", file=sys.stderr)
    if engine.pool.checkedin() > 1:
        print("NOTE: more than one pooled connection: the plan column may be incomplete")
    engine.dispose()
    print("load average after measuring: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))

    print()
    print(f"{'case':<24} {'role':<8} {'median ms':>9} {'p95 ms':>8} {'sql ms':>7} {'SQL stmts':>9} "
          f"{'rows':>5}  plan")
    print("-" * 88)
    for case, role, f in results:
        print(f"{pad(case, 24)} {role:<8} {f['median']:>9.1f} {f['p95']:>8.1f} {f['sql']:>7.1f} "
              f"{f['statements']:>9} {f['rows']:>5}  {f['plan']}")
    print()
    print(f"Plans ({'EXPLAIN (ANALYZE, BUFFERS)' if dialect == 'postgresql' else 'EXPLAIN QUERY PLAN'}"
          " of the client search query):")
    for key in (("first page", "lead"), ("initials q=zs", "lead")):
        print(f"  {key[0]} / {key[1]}: {summary(plans[key], dialect)}")
    for key, plan in generic_plans.items():
        print(f"  {key[0]} / {key[1]}, generic plan: {summary(plan, dialect)}")
    slow = [(case, role) for case, role, f in results if f["median"] > SLOW_MS]
    shown = [(case, role) for case, role, _ in results] if full_plans else slow
    for key in shown:
        for label, plan in (("", plans.get(key)), (", generic plan", generic_plans.get(key))):
            if plan:
                print()
                print(f"Plan of {key[0]} / {key[1]}{label}:")
                for line in plan:
                    print("    " + line)
    if not slow:
        print(f"\nNo case above {SLOW_MS:.0f} ms median.")
    else:
        print(f"\nCases above {SLOW_MS:.0f} ms median: " + "; ".join(f"{c} / {r}" for c, r in slow))


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--pages", type=int, default=50, help="page reached through the More links")
    parser.add_argument("--skip-build", action="store_true", help="measure the database as it is")
    parser.add_argument("--full-plans", action="store_true", help="print every case's whole plan")
    args = parser.parse_args()
    if make_url(args.database_url).database == "test":
        raise SystemExit("refusing to use the database named 'test': the test suite owns it")

    safe_url = make_url(args.database_url).render_as_string(hide_password=True)
    print(f"Outlet CRM client list benchmark — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"database: {safe_url}; clients: {args.clients:,}; seed: {args.seed}; "
          f"{args.warmup} warm-ups + {args.repeat} timed requests per case")
    print(f"python {platform.python_version()}, SQLAlchemy {sa.__version__}, "
          f"{os.cpu_count()} CPUs, {platform.platform()}")
    if not args.skip_build:
        built = build(args.database_url, args.clients, args.seed)
        print("Build: " + ", ".join(f"{k} {v:,}" for k, v in built["counts"].items()))
        print("Build time: " + ", ".join(f"{k} {v:.1f} s" for k, v in built["timings"].items()))
    run_cases(args.database_url, args.warmup, args.repeat, args.pages, args.full_plans)


if __name__ == "__main__":
    main()
