"""The two databases the app runs on (SQLite, PostgreSQL) and the statements that differ between them.

Bulk statements: PostgreSQL takes a whole list as one array parameter (`= ANY(array)`, `unnest(arrays)`);
SQLite, which has no arrays and caps the parameters of a statement, takes chunked IN lists.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from crm.extensions import db

SQLITE_CHUNK = 5000  # SQLite: values per IN list (its limit is 32,766 parameters a statement)
PG_CHUNK = 100_000  # PostgreSQL: values per array parameter


def is_postgresql() -> bool:
    """True on PostgreSQL, False on SQLite; any other database is refused."""
    name = db.engine.dialect.name
    if name not in ("postgresql", "sqlite"):  # pragma: no cover - the app supports these two
        raise RuntimeError(f"unsupported database: {name}")
    return name == "postgresql"


def insert(table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that supports ON CONFLICT, in the dialect of the app's database."""
    return postgresql.insert(table) if is_postgresql() else sqlite.insert(table)


def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    """`items` in consecutive slices of at most `size`, one per statement to run."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def drop_temporary_table(name: str) -> None:
    """Drop this connection's temporary table `name` if it exists (left by an earlier failed run)."""
    schema = "pg_temp" if is_postgresql() else "temp"
    db.session.execute(sa.text(f"DROP TABLE IF EXISTS {schema}.{name}"))


def days_before(day: sa.ColumnElement, days: int) -> sa.ColumnElement:
    """`day` minus a number of days, on a DATE column."""
    if is_postgresql():
        return day - sa.cast(sa.literal(int(days)), sa.Integer)
    return sa.func.date(day, f"-{int(days)} days")
