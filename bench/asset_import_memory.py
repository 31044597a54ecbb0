"""Peak memory of the asset import: a 50 MB, 1,000,000-row back office CSV imported in a child process.

    .venv/bin/python bench/asset_import_memory.py [--rows 1000000] [--megabytes 50] [--database-url URL]

It loads `--rows` clients (set-based, chunked), writes a CSV of one row per client (half keyed by
mobile, half by client number; a note column pads the file to `--megabytes`), then imports it twice
in a fresh child process each time: (a) the first import (every row new) and (b) the same file again
(nothing to write). Each child prints the time of `import_assets` + commit and its peak resident
memory, read with resource.getrusage(RUSAGE_SELF).ru_maxrss, next to its peak before the import
(Python, Flask, SQLAlchemy loaded; the app built). Figures are printed, never asserted.

The default database is SQLite in /tmp (deleted and migrated on every run);
`--database-url postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench_memory` runs it on PostgreSQL
(the database is created when missing and wiped; the test suite's `test` database is refused).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CRM_SECRET_KEY", "bench-secret-key-not-for-production")

DEFAULT_URL = "sqlite:////tmp/crm_bench_memory.sqlite3"
CHUNK = 20_000
AS_OF = date(2026, 11, 20)
HEADER = "手机号,客户号,日期,总资产(元),备注\r\n"


def app_for(url: str):
    from crm import create_app

    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_STORAGE_URI": "memory://",
                       "CRM_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})


def keys(i: int) -> tuple[str, str]:
    """Client i's mobile and client number (valid, unique)."""
    return f"13{i:09d}", f"88{i:08d}"


def load_clients(n: int) -> None:
    """n clients of one manager, bulk-inserted in chunks."""
    import click
    import sqlalchemy as sa

    from crm.extensions import db
    from crm.models import Client, Role
    from crm.services.users import create_user

    owner = create_user("manager01", "王经理", "bench-pass-123456", Role.MANAGER, audited=False)
    db.session.flush()
    now = datetime.now(timezone.utc)
    with click.progressbar(length=n, label=f"Loading {n:,} clients", file=sys.stderr) as bar:
        for start in range(0, n, CHUNK):
            rows = []
            for i in range(start, min(start + CHUNK, n)):
                mobile, account_no = keys(i)
                rows.append({"name": "客户", "name_initials": "kh", "name_pinyin": "kehu", "mobile": mobile,
                             "mobile_reversed": mobile[::-1], "account_no": account_no, "owner_id": owner.id,
                             "created_by_id": owner.id, "created_at": now, "updated_at": now,
                             "last_activity_at": now, "stage": "active", "source_channel": "walk_in", "version": 1})
            db.session.execute(sa.insert(Client.__table__), rows)
            bar.update(len(rows))
    db.session.commit()


def row(i: int) -> str:
    mobile, account_no = keys(i)
    fen = (i * 7919) % 900_000_000 + 100  # spread over the tiers
    amount = f'"{fen // 100:,}.{fen % 100:02d}"'
    if i % 2:
        return f",{account_no},{AS_OF:%Y-%m-%d},{amount},"
    return f"{mobile},,{AS_OF:%Y/%m/%d},{amount},"


def write_csv(path: Path, n: int, target_bytes: int) -> int:
    """The back office file, padded with a note column to about `target_bytes`; returns its size."""
    import click

    plain = len(HEADER.encode()) + sum(len(row(i)) + 2 for i in range(0, n, max(n // 1000, 1))) * (n / 1000)
    pad = max(0, int((target_bytes - plain) / n))
    note = "x" * pad
    with path.open("w", encoding="utf-8", newline="") as handle, \
            click.progressbar(length=n, label=f"Writing {n:,} rows", file=sys.stderr) as bar:
        handle.write(HEADER)
        for start in range(0, n, CHUNK):
            end = min(start + CHUNK, n)
            handle.write("".join(f"{row(i)}{note}\r\n" for i in range(start, end)))
            bar.update(end - start)
    return path.stat().st_size


def _resident_kib() -> int:
    """The process's resident memory now (VmRSS), in KiB; 0 where /proc is missing."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)


def child(url: str, path: str) -> None:
    """Import the file once; print the figures as one JSON line."""
    app = app_for(url)
    with app.app_context():
        from crm.extensions import db
        from crm.services.assets import import_assets, one_import_at_a_time

        db.session.execute(db.select(1))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        resident = _resident_kib()
        started = time.perf_counter()
        with one_import_at_a_time(None), open(path, "rb") as handle:
            result = import_assets(handle, None)
            if not result.ok:
                raise SystemExit(f"unexpected errors: {result.error_count}, first {result.errors[:3]}")
            db.session.commit()
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"seconds": seconds, "peak_kib": peak, "before_kib": before, "resident_kib": resident,
                          "after_kib": _resident_kib(), "rows": result.rows,
                          "inserted": result.inserted, "updated": result.updated,
                          "unchanged": result.unchanged, "tier_changes": result.tier_changes}))


def measure(label: str, url: str, path: Path) -> None:
    done = subprocess.run([sys.executable, __file__, "--database-url", url, "--child", str(path)],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{label}: the child failed\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{label:<22} {figures['seconds']:>6.1f} s   peak RSS {figures['peak_kib'] / 1024:.1f} MiB   "
          f"(before the import: peak {figures['before_kib'] / 1024:.1f} MiB while the app was built, "
          f"resident {figures['resident_kib'] / 1024:.1f} MiB; after: {figures['after_kib'] / 1024:.1f} MiB)")
    print(f"{'':<22} rows {figures['rows']:,}: {figures['inserted']:,} new, {figures['updated']:,} replaced, "
          f"{figures['unchanged']:,} unchanged, {figures['tier_changes']:,} tier changes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="clients, and rows in the file")
    parser.add_argument("--megabytes", type=float, default=50, help="file size to pad to (10^6 bytes)")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.database_url, args.child)
        return
    import sqlalchemy as sa
    from common import reset_database
    from flask_migrate import upgrade
    from sqlalchemy.engine import make_url

    from crm.extensions import db

    if make_url(args.database_url).database == "test":
        raise SystemExit("refusing to use the database named 'test': the test suite owns it")
    print(f"Outlet CRM asset import memory benchmark — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"database: {make_url(args.database_url).render_as_string(hide_password=True)}; rows: {args.rows:,}")
    print(f"python {platform.python_version()}, SQLAlchemy {sa.__version__}, {os.cpu_count()} CPUs, "
          f"{platform.platform()}")
    reset_database(args.database_url)
    app = app_for(args.database_url)
    with app.app_context(), tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        upgrade()
        load_clients(args.rows)
        db.session.remove()
        db.engine.dispose()
        print(f"setup (migrations + {args.rows:,} clients): {time.perf_counter() - started:.1f} s")
        path = Path(tmp) / "assets.csv"
        size = write_csv(path, args.rows, int(args.megabytes * 1_000_000))
        print(f"file: {size:,} bytes ({size / 1e6:.1f} MB), {args.rows:,} rows")
        print()
        measure("(a) first import", args.database_url, path)
        measure("(b) same file again", args.database_url, path)


if __name__ == "__main__":
    main()
