"""The statements that differ between SQLite and PostgreSQL (crm.services.dialect), on the database under test."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from crm.extensions import db
from crm.services import dialect


def test_chunks_cover_the_items_in_order_without_overlap():
    assert [list(c) for c in dialect.chunks(list(range(7)), 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(dialect.chunks([], 3)) == []


def test_days_before_a_date_column_crosses_months_and_leap_days(app):
    day = sa.literal(date(2028, 3, 1), sa.Date)
    found = db.session.execute(sa.select(dialect.days_before(day, 1), dialect.days_before(day, 366))).one()
    # SQLite's date() answers text: compare as ISO dates on both.
    assert [str(value) for value in found] == ["2028-02-29", "2027-03-01"]


def test_a_temporary_table_is_dropped_if_there_and_nothing_happens_if_not(app):
    dialect.drop_temporary_table("dialect_probe")
    db.session.execute(sa.text("CREATE TEMPORARY TABLE dialect_probe (x INTEGER)"))
    dialect.drop_temporary_table("dialect_probe")
    dialect.drop_temporary_table("dialect_probe")
    db.session.execute(sa.text("CREATE TEMPORARY TABLE dialect_probe (x INTEGER)"))
    dialect.drop_temporary_table("dialect_probe")
    db.session.rollback()
