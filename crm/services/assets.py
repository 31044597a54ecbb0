"""Asset snapshots: import the back office's CSV (all rows or none), or enter one by hand.

An import is all-or-nothing and idempotent: every row is validated first and nothing is written
if any row is wrong; the same file imported twice adds nothing. The file is read as a stream
(`crm.domain.asset_csv` checks each record on its own) and its records kept in a temporary table, so
memory does not grow with the file; clients are resolved, snapshots written and tiers recomputed
(`crm.services.tiers`) in a handful of set-based statements, never one query per row.
Services flush; the caller (CLI command or route) commits. A user runs one import at a time
(`one_import_at_a_time`), across every web worker: that claim alone commits, as a job run does.
"""
from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from crm.domain import asset_csv
from crm.domain.asset_csv import EARLIEST_DATE, MAX_AMOUNT_FEN, MAX_ERRORS, LineError, LineErrors, Row
from crm.domain.clock import SHANGHAI
from crm.domain.formats import fen_to_yuan
from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.models import AssetSnapshot, Client, JobRun, User, utcnow
from crm.models.base import UTCDateTime
from crm.services import dialect
from crm.services.tiers import recompute_tiers, recompute_where

__all__ = [
    "AddResult",
    "ImportResult",
    "ImportRunning",
    "add_snapshot",
    "import_assets",
    "one_import_at_a_time",
    "snapshots_of",
]


@dataclass
class ImportResult:
    """What an import found and did. With errors, nothing was written."""

    rows: int = 0
    clients: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    tier_changes: int = 0
    errors: list[LineError] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        """True when the file was imported (possibly changing nothing)."""
        return self.error_count == 0


@dataclass
class AddResult:
    """What a manual entry did: "inserted", "updated" or "unchanged", and tier changes made."""

    status: str
    tier_changes: int


# --------------------------------------------------------------------------- import
#
# Each record checked on its own is written, in chunks, to a temporary table (`import_rows`, private
# to this database connection); matching clients, finding duplicates, counting and writing the
# snapshots are then set-based statements over that table. So the memory used does not grow with the
# file: a 50 MB, 1,000,000-row file stays well under 200 MB.
STAGE_CHUNK = 10_000  # records written to the temporary table per statement

_STAGE_TABLE = "import_rows"
_CREATE_STAGE_SQL = f"""
CREATE TEMPORARY TABLE {_STAGE_TABLE} (
    line INTEGER NOT NULL,
    mobile VARCHAR(11),
    client_no VARCHAR(30),
    client_no_given BOOLEAN NOT NULL,
    client_no_shown VARCHAR(80),
    as_of DATE,
    fen BIGINT,
    mobile_client_id INTEGER,
    number_client_id INTEGER,
    client_id INTEGER
)
"""
_INSERT_STAGE_SQL = sa.text(
    f"INSERT INTO {_STAGE_TABLE} (line, mobile, client_no, client_no_given, client_no_shown, as_of, fen) "
    "VALUES (:line, :mobile, :client_no, :client_no_given, :client_no_shown, :as_of, :fen)"
).bindparams(sa.bindparam("as_of", type_=sa.Date()), sa.bindparam("client_no_given", type_=sa.Boolean()))

# The client of each record: by mobile, by client number, then the one both agree on.
_RESOLVE_SQL = (
    f"UPDATE {_STAGE_TABLE} SET mobile_client_id = c.id FROM clients c WHERE c.mobile = {_STAGE_TABLE}.mobile",
    f"UPDATE {_STAGE_TABLE} SET number_client_id = c.id FROM clients c "
    f"WHERE c.account_no = {_STAGE_TABLE}.client_no",
    f"""UPDATE {_STAGE_TABLE} SET client_id = COALESCE(mobile_client_id, number_client_id)
        WHERE NOT (mobile IS NOT NULL AND mobile_client_id IS NULL)
          AND NOT (client_no_given AND number_client_id IS NULL)
          AND NOT (mobile_client_id IS NOT NULL AND number_client_id IS NOT NULL
                   AND mobile_client_id <> number_client_id)""",
)

# Errors found against the database, each kind in line order with its total; at most MAX_ERRORS read.
_PROBLEM_SQL = {
    "unknown_mobile": f"""SELECT line, mobile, NULL, count(*) OVER () FROM {_STAGE_TABLE}
        WHERE mobile IS NOT NULL AND mobile_client_id IS NULL ORDER BY line LIMIT :limit""",
    "unknown_number": f"""SELECT line, client_no_shown, NULL, count(*) OVER () FROM {_STAGE_TABLE}
        WHERE client_no_given AND number_client_id IS NULL ORDER BY line LIMIT :limit""",
    "mismatch": f"""SELECT line, mobile, client_no_shown, count(*) OVER () FROM {_STAGE_TABLE}
        WHERE mobile_client_id IS NOT NULL AND number_client_id IS NOT NULL
          AND mobile_client_id <> number_client_id ORDER BY line LIMIT :limit""",
    "duplicate": f"""SELECT line, first_line, NULL, count(*) OVER () FROM (
            SELECT line, min(line) OVER (PARTITION BY client_id, as_of) AS first_line FROM {_STAGE_TABLE}
            WHERE client_id IS NOT NULL AND as_of IS NOT NULL) d
        WHERE line <> first_line ORDER BY line LIMIT :limit""",
}

_COUNT_SQL = f"""
SELECT count(*), count(DISTINCT r.client_id),
       coalesce(sum(CASE WHEN s.client_id IS NULL THEN 1 ELSE 0 END), 0),
       coalesce(sum(CASE WHEN s.total_assets_fen <> r.fen THEN 1 ELSE 0 END), 0)
FROM {_STAGE_TABLE} r
LEFT JOIN asset_snapshots s ON s.client_id = r.client_id AND s.as_of = r.as_of
"""

# `WHERE 1 = 1`: SQLite needs a WHERE before ON CONFLICT in an INSERT ... SELECT.
_WRITE_SQL = f"""
INSERT INTO asset_snapshots (client_id, as_of, total_assets_fen, source, created_by_id, created_at)
SELECT client_id, as_of, fen, :source, :actor_id, :now FROM {_STAGE_TABLE} WHERE 1 = 1
ON CONFLICT (client_id, as_of) DO UPDATE SET
    total_assets_fen = excluded.total_assets_fen, source = excluded.source,
    created_by_id = excluded.created_by_id, created_at = excluded.created_at
WHERE asset_snapshots.total_assets_fen <> excluded.total_assets_fen
"""


def _plausible_client_no(value: str) -> bool:
    # Longer than the column, or with control characters, it can match no client; PostgreSQL
    # would even refuse a NUL in a parameter, so such values are never sent.
    return len(value) <= 30 and value.isprintable()


def _stage(rows: Iterator[Row]) -> tuple[int, int]:
    """Write the records to the temporary table in chunks; returns how many, and the last one's line."""
    count = line = 0
    chunk: list[dict] = []
    for row in rows:
        line = row.line
        number = row.client_no
        chunk.append({
            "line": row.line, "mobile": row.mobile,
            "client_no": number if number and _plausible_client_no(number) else None,
            "client_no_given": number is not None, "client_no_shown": asset_csv.shown(number) if number else None,
            "as_of": row.as_of, "fen": row.fen,
        })
        if len(chunk) >= STAGE_CHUNK:
            db.session.execute(_INSERT_STAGE_SQL, chunk)
            count += len(chunk)
            chunk = []
    if chunk:
        db.session.execute(_INSERT_STAGE_SQL, chunk)
        count += len(chunk)
    return count, line


def _check_against_clients(errors: LineErrors) -> None:
    """Match each record to its client; note unknown clients, mismatches and duplicate (client, date)."""
    for statement in _RESOLVE_SQL:
        db.session.execute(sa.text(statement))
    for kind, sql in _PROBLEM_SQL.items():
        found = db.session.execute(sa.text(sql), {"limit": MAX_ERRORS}).all()
        for line, first, second, _total in found:
            if kind == "unknown_mobile":
                errors.add(line, "assets.unknown_client", key="mobile", value=first)
            elif kind == "unknown_number":
                errors.add(line, "assets.unknown_client", key="client_no", value=first)
            elif kind == "mismatch":
                errors.add(line, "assets.client_mismatch", mobile=first, client_no=second)
            else:
                errors.add(line, "assets.duplicate", first_line=first)
        if found:
            errors.count += found[0][3] - len(found)  # counted, not kept


def _write(result: ImportResult, source: str, actor_id: int | None) -> None:
    """Count new, replaced and unchanged snapshots, then write them in one statement."""
    rows, clients, inserted, updated = db.session.execute(sa.text(_COUNT_SQL)).one()
    result.clients, result.inserted, result.updated = clients, inserted, updated
    result.unchanged = rows - inserted - updated
    if inserted or updated:
        db.session.execute(sa.text(_WRITE_SQL).bindparams(sa.bindparam("now", type_=UTCDateTime())),
                           {"source": source, "actor_id": actor_id, "now": utcnow()})


def _import_staged(result: ImportResult, errors: LineErrors, lines: Iterator[str], actor: User | None,
                   source: str, today: date, progress: Callable[[int], None] | None) -> None:
    """Stage and check the records; when there is no error at all, write them and re-tier the clients."""
    result.rows, last_line = _stage(asset_csv.checked_rows(lines, errors, today, progress))
    if not result.rows and not errors:
        errors.add(0, "assets.empty_file")
    if errors.fatal:
        return
    _check_against_clients(errors)
    if errors:
        return
    _write(result, source, actor.id if actor is not None else None)
    # PostgreSQL: the clients of 100,000 lines at a time, as recompute_tiers does (one statement
    # over a million clients took twice as long as ten of a tenth). SQLite: all at once.
    step = dialect.PG_CHUNK if dialect.is_postgresql() else max(last_line, 1)
    for first in range(0, last_line, step):
        result.tier_changes += recompute_where(
            f"c.id IN (SELECT client_id FROM {_STAGE_TABLE} WHERE line > {first} AND line <= {first + step})",
            source)


def _finish(result: ImportResult, errors: LineErrors) -> ImportResult:
    result.error_count = errors.count
    result.errors = errors.sorted()[:MAX_ERRORS]
    return result


def import_assets(stream: bytes | BinaryIO, actor: User | None, source: str = "import", *,
                  today: date | None = None,
                  progress: Callable[[int], None] | None = None) -> ImportResult:
    """Validate and import a back office CSV of (client mobile or number, date, total assets).

    All-or-nothing: with any error the result lists them (line numbers as in a spreadsheet; the
    first MAX_ERRORS, and how many in all) and nothing is written. Otherwise new snapshots are
    inserted, changed amounts replaced, identical ones left alone, and the tiers of the file's
    clients recomputed. `stream` is a seekable binary file (or bytes), read piece by piece.
    `progress(n)` is called as rows are checked. Flushes; the caller commits.
    """
    today = today or datetime.now(SHANGHAI).date()
    result = ImportResult()
    errors = LineErrors()
    lines = asset_csv.text_lines(stream, errors)
    if lines is None:
        return _finish(result, errors)
    db.session.flush()
    dialect.drop_temporary_table(_STAGE_TABLE)
    db.session.execute(sa.text(_CREATE_STAGE_SQL))
    # On an exception the table stays until the caller's rollback (or the next import) drops it.
    _import_staged(result, errors, lines, actor, source, today, progress)
    dialect.drop_temporary_table(_STAGE_TABLE)
    if errors:
        return _finish(result, errors)
    if result.inserted or result.updated or result.tier_changes:
        from crm.services import audit

        audit.record(actor, "assets.import", "asset_snapshots", None, params={
            "source": source, "rows": result.rows, "inserted": result.inserted, "updated": result.updated,
            "unchanged": result.unchanged, "tier_changes": result.tier_changes})
    db.session.flush()
    return result


# --------------------------------------------------------------------------- one import at a time

IMPORT_JOB = "asset-import"  # the job_runs row a user's running import holds (run_key user:<id>)
# A claim older than this is taken to be left by a worker that died mid-import: the next may start.
IMPORT_LEASE = timedelta(minutes=15)


class ImportRunning(RuleError):
    """This user has an import running already (in this process or another); `since` is when it began."""

    def __init__(self, since: datetime) -> None:
        super().__init__("assets.running", "file", since=since)
        self.since = since


def _import_key(user: User | None) -> str:
    return f"user:{user.id}" if user is not None else "command-line"


def _abandoned(owner: str) -> bool:
    """True when a claim was made on this host by a process that is gone (e.g. a worker killed mid-import)."""
    parts = owner.rsplit(":", 2)  # host:pid:token
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _claim_import(key: str, owner: str) -> None:
    """Take the user's import slot (a committed job_runs row, seen by every process) or raise ImportRunning."""
    now = utcnow()
    try:
        db.session.add(JobRun(job=IMPORT_JOB, run_key=key, owner=owner, started_at=now))
        db.session.commit()
        return
    except IntegrityError:
        db.session.rollback()
    held = db.session.execute(sa.select(JobRun.owner, JobRun.started_at, JobRun.finished_at).where(
        JobRun.job == IMPORT_JOB, JobRun.run_key == key)).one()
    # Free once finished, when the lease ran out, or when its process on this host is gone. The
    # UPDATE names the owner seen: of two takers, one wins.
    if held.finished_at is not None or held.started_at < now - IMPORT_LEASE or _abandoned(held.owner):
        taken = db.session.execute(
            sa.update(JobRun).where(JobRun.job == IMPORT_JOB, JobRun.run_key == key, JobRun.owner == held.owner)
            .values(owner=owner, started_at=now, finished_at=None, outcome="")
            .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
        if taken == 1:
            return
    db.session.rollback()
    raise ImportRunning(held.started_at)


def _release_import(key: str, owner: str, outcome: str) -> None:
    db.session.execute(sa.update(JobRun).where(JobRun.job == IMPORT_JOB, JobRun.run_key == key,
                                               JobRun.owner == owner)
                       .values(finished_at=utcnow(), outcome=outcome[:500])
                       .execution_options(synchronize_session=False))
    db.session.commit()


@contextmanager
def one_import_at_a_time(user: User | None) -> Iterator[None]:
    """Hold the user's import slot while the block runs; raise ImportRunning if it is taken.

    The slot is a row in job_runs, committed before the import starts, so a second import by the
    same user is refused in any web worker or command. The block imports and commits (or rolls
    back); the slot is then released, with an outcome, in a commit of its own. A worker killed
    mid-import leaves the row: it is free once its process is gone from this host, or after IMPORT_LEASE.
    """
    from crm.services.processes import owner_name

    key = _import_key(user)
    owner = f"{owner_name()}:{secrets.token_hex(4)}"
    _claim_import(key, owner)
    outcome = "done"
    try:
        yield
    except BaseException as exc:
        db.session.rollback()
        outcome = f"error: {exc!r}"
        raise
    finally:
        _release_import(key, owner, outcome)


# --------------------------------------------------------------------------- manual entry


def add_snapshot(client: Client, actor: User | None, as_of: date, total_assets_fen: int,
                 *, today: date | None = None) -> AddResult:
    """Record a client's total assets on a date by hand (replacing that date's amount) and re-tier.

    Refuses (RuleError on `amount` or `as_of`) what an import would refuse; the form checks the same first.
    """
    today = today or datetime.now(SHANGHAI).date()
    if total_assets_fen < 0:
        raise RuleError("assets.negative_amount", "amount", value=fen_to_yuan(total_assets_fen))
    if total_assets_fen > MAX_AMOUNT_FEN:
        raise RuleError("assets.amount_too_large", "amount", value=fen_to_yuan(total_assets_fen))
    if as_of > today:
        raise RuleError("assets.future_date", "as_of", value=as_of.isoformat())
    if as_of < EARLIEST_DATE:
        raise RuleError("assets.bad_date", "as_of", value=as_of.isoformat())
    before = db.session.execute(sa.select(AssetSnapshot.total_assets_fen).where(
        AssetSnapshot.client_id == client.id, AssetSnapshot.as_of == as_of)).scalar_one_or_none()
    if before == total_assets_fen:
        status = "unchanged"
    else:
        status = "inserted" if before is None else "updated"
        _upsert(client.id, as_of, total_assets_fen, actor.id if actor else None)
    changes = recompute_tiers([client.id], source="manual")
    db.session.flush()
    return AddResult(status, changes)


def _upsert(client_id: int, as_of: date, total_assets_fen: int, actor_id: int | None) -> None:
    """Insert a snapshot, replacing the one of that (client, date) only when its amount differs."""
    table = AssetSnapshot.__table__
    stmt = dialect.insert(table).values(client_id=client_id, as_of=as_of, total_assets_fen=total_assets_fen,
                                        source="manual", created_by_id=actor_id, created_at=utcnow())
    db.session.execute(stmt.on_conflict_do_update(
        index_elements=[table.c.client_id, table.c.as_of],
        set_={"total_assets_fen": stmt.excluded.total_assets_fen, "source": stmt.excluded.source,
              "created_by_id": stmt.excluded.created_by_id, "created_at": stmt.excluded.created_at},
        where=table.c.total_assets_fen != stmt.excluded.total_assets_fen,
    ))


def snapshots_of(client: Client, limit: int = 100) -> list[AssetSnapshot]:
    """A client's snapshots, newest first."""
    query = (sa.select(AssetSnapshot).where(AssetSnapshot.client_id == client.id)
             .order_by(AssetSnapshot.as_of.desc()).limit(limit))
    return list(db.session.execute(query).scalars())

