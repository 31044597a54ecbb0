"""Benchmark of the asset snapshot import: N clients, an N-row back office CSV, timed imports.

    .venv/bin/python bench/import_assets.py [--rows 100000] [--database-url URL]

The default database is `crm_bench_assets` on the local PostgreSQL server (created when missing,
wiped and migrated on every run; the test suite's `test` database is refused). It times
`import_assets` + commit for (a) the first import, (b) the same file again (nothing to write) and
(c) a file where a tenth of the amounts tripled (some clients change tier). `--database-url
sqlite:////tmp/crm_bench_assets.sqlite3` runs it on SQLite. Figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CRM_SECRET_KEY", "bench-secret-key-not-for-production")

import click  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from common import reset_database  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from crm import create_app  # noqa: E402
from crm.extensions import db  # noqa: E402
from crm.models import AssetSnapshot, Client, Role, Tier, TierChange  # noqa: E402
from crm.services.assets import import_assets  # noqa: E402
from crm.services.users import create_user  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench_assets"
CHUNK = 10_000
AS_OF = date(2026, 11, 20)


def load_clients(n: int, rng: random.Random) -> list[tuple[str, str]]:
    """Bulk-insert n clients (set-based, chunked); return their (mobile, client number)."""
    owner = create_user("manager01", "王经理", "bench-pass-123", Role.MANAGER)
    db.session.flush()
    numbers = [f"1{3 + k // 10**9}{k % 10**9:09d}" for k in rng.sample(range(7 * 10**9), n)]
    keys = [(mobile, f"88{i:08d}") for i, mobile in enumerate(numbers)]
    now = datetime.now(timezone.utc)
    with click.progressbar(length=n, label=f"Loading {n:,} clients", file=sys.stderr) as bar:
        for start in range(0, n, CHUNK):
            chunk = keys[start:start + CHUNK]
            db.session.execute(sa.insert(Client.__table__), [
                {"name": "客户", "name_initials": "kh", "name_pinyin": "kehu", "mobile": mobile,
                 "mobile_reversed": mobile[::-1], "account_no": account_no, "owner_id": owner.id,
                 "created_by_id": owner.id, "created_at": now, "updated_at": now, "last_activity_at": now,
                 "stage": "active", "source_channel": "walk_in", "version": 1}
                for mobile, account_no in chunk])
            bar.update(len(chunk))
    db.session.commit()
    return keys


def amount(rng: random.Random) -> int:
    """Total assets in fen spread over the four default tiers (most clients in the lower ones)."""
    return int(rng.lognormvariate(12, 1.6) * 100)


def write_csv(path: Path, keys: list[tuple[str, str]], amounts: list[int]) -> None:
    """The back office's file: half the rows keyed by mobile, half by client number."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("手机号,客户号,日期,总资产(元)\r\n")
        for i, ((mobile, account_no), fen) in enumerate(zip(keys, amounts)):
            yuan = f'"{fen // 100:,}.{fen % 100:02d}"'
            if i % 2:
                handle.write(f",{account_no},{AS_OF:%Y-%m-%d},{yuan}\r\n")
            else:
                handle.write(f"{mobile},,{AS_OF:%Y/%m/%d},{yuan}\r\n")


class Counter:
    """Counts the SQL statements sent to the database."""

    def __init__(self, engine: sa.Engine):
        self.n = 0
        event.listen(engine, "before_cursor_execute", self)

    def __call__(self, *args) -> None:
        self.n += 1


def timed_import(label: str, path: Path, counter: Counter) -> None:
    counter.n = 0
    size = path.stat().st_size
    t = time.perf_counter()
    with path.open("rb") as handle:
        result = import_assets(handle, None)
    if not result.ok:
        raise SystemExit(f"{label}: unexpected errors {result.errors[:5]}")
    t_import = time.perf_counter() - t
    db.session.commit()
    total = time.perf_counter() - t
    print(f"{label:<28} {total:>7.2f} s  {result.rows / total:>9,.0f} rows/s  "
          f"(import {t_import:.2f} s + commit {total - t_import:.2f} s; {size / 1e6:.1f} MB; "
          f"{counter.n} SQL statements)")
    print(f"{'':<28} rows {result.rows:,}, inserted {result.inserted:,}, updated {result.updated:,}, "
          f"unchanged {result.unchanged:,}, tier changes {result.tier_changes:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="clients, and rows in the file")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    if make_url(args.database_url).database == "test":
        raise SystemExit("refusing to use the database named 'test': the test suite owns it")
    from flask_migrate import upgrade

    safe_url = make_url(args.database_url).render_as_string(hide_password=True)
    print(f"Outlet CRM asset import benchmark — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"database: {safe_url}; rows: {args.rows:,}; seed: {args.seed}")
    print(f"python {platform.python_version()}, SQLAlchemy {sa.__version__}, "
          f"{os.cpu_count()} CPUs, {platform.platform()}")
    rng = random.Random(args.seed)
    reset_database(args.database_url)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": args.database_url,
                      "RATELIMIT_STORAGE_URI": "memory://", "CRM_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context(), tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        upgrade()
        keys = load_clients(args.rows, rng)
        print(f"setup (migrations + {args.rows:,} clients): {time.perf_counter() - t:.1f} s")
        with db.engine.connect() as conn:
            print("server: " + str(conn.exec_driver_sql(
                "SELECT version()" if db.engine.dialect.name == "postgresql"
                else "SELECT 'SQLite ' || sqlite_version()").scalar()))
        amounts = [amount(rng) for _ in keys]
        first = Path(tmp) / "assets.csv"
        write_csv(first, keys, amounts)
        # A tenth of the clients tripled their assets: replaced amounts, and some cross a tier.
        changed_amounts = [fen * 3 if i % 10 == 0 else fen for i, fen in enumerate(amounts)]
        changed = Path(tmp) / "assets-changed.csv"
        write_csv(changed, keys, changed_amounts)

        counter = Counter(db.engine)
        print()
        timed_import("(a) first import", first, counter)
        timed_import("(b) same file again", first, counter)
        timed_import("(c) 10% of amounts tripled", changed, counter)
        print()
        tiers = db.session.execute(
            sa.select(Tier.name, sa.func.count(Client.id)).join(Client, Client.tier_id == Tier.id)
            .group_by(Tier.name, Tier.min_assets_fen).order_by(Tier.min_assets_fen)).all()
        print("clients per tier: " + ", ".join(f"{name} {n:,}" for name, n in tiers))
        print(f"snapshots {db.session.scalar(sa.select(sa.func.count()).select_from(AssetSnapshot)):,}, "
              f"tier changes {db.session.scalar(sa.select(sa.func.count()).select_from(TierChange)):,}")
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
