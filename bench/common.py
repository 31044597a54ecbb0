"""Shared by the benchmarks: a PostgreSQL database of their own, created if missing and emptied."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def reset_database(url: str) -> None:
    """Empty the benchmark database: delete a SQLite file, or reset a PostgreSQL database."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(parsed.database + suffix).unlink(missing_ok=True)
        return
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit(f"unsupported database: {url}")
    reset_postgres(url)


def reset_postgres(url: str) -> None:
    """Create the database named in `url` if missing, then drop and recreate its public schema.

    Refuses the database named `test`: the test suite owns it.
    """
    parsed = make_url(url)
    if parsed.database == "test":
        raise SystemExit("refusing to use the database named 'test': the test suite owns it")
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                              {"name": parsed.database}).first()
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    admin.dispose()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
