"""The two databases the app runs on (SQLite, PostgreSQL) and the statements that differ between them."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from crm.extensions import db


def is_postgresql() -> bool:
    """True on PostgreSQL, False on SQLite; any other database is refused."""
    name = db.engine.dialect.name
    if name not in ("postgresql", "sqlite"):  # pragma: no cover - the app supports these two
        raise RuntimeError(f"unsupported database: {name}")
    return name == "postgresql"


def insert(table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that supports ON CONFLICT, in the dialect of the app's database."""
    return postgresql.insert(table) if is_postgresql() else sqlite.insert(table)
