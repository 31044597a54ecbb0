"""Asset snapshots: import the back office's CSV, enter one by hand, recompute client tiers.

An import is all-or-nothing and idempotent: every row is validated first and nothing is written
if any row is wrong; the same file imported twice adds nothing. The file is read as a stream and
its records kept in a temporary table, so memory does not grow with the file; clients are resolved,
snapshots written and tiers recomputed in a handful of set-based statements, never one query per row.
Services flush; the caller (CLI command or route) commits. A user runs one import at a time
(`one_import_at_a_time`), across every web worker: that claim alone commits, as a job run does.
"""
from __future__ import annotations

import codecs
import csv
import functools
import io
import itertools
import os
import re
import secrets
import socket
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from crm.domain.clock import SHANGHAI
from crm.domain.formats import InvalidFormat, normalize_mobile, yuan_to_fen
from crm.extensions import db
from crm.models import AssetSnapshot, Client, JobRun, TierChange, User, utcnow
from crm.models.base import UTCDateTime
from crm.services import dialect

__all__ = [
    "COLUMNS",
    "MAX_BYTES",
    "MAX_ERRORS",
    "MESSAGES",
    "AddResult",
    "ImportResult",
    "ImportRunning",
    "RowError",
    "add_snapshot",
    "format_error",
    "import_assets",
    "one_import_at_a_time",
    "parse_date",
    "recompute_tiers",
    "snapshots_of",
    "tier_changes_of",
]

MAX_ERRORS = 200  # errors kept in the result; the total is counted separately
MAX_BYTES = 50 * 1024 * 1024  # a 100,000-row file is about 4 MB
MAX_AMOUNT_FEN = 10**17  # one quadrillion yuan: anything above is a typo, and it must fit a BIGINT
EARLIEST_DATE = date(1990, 1, 1)  # the Shanghai exchange opened in December 1990
CHUNK = 5000  # SQLite: values per IN list (its limit is 32,766 parameters a statement)
PG_CHUNK = 100_000  # PostgreSQL: values per array parameter
_PROGRESS_EVERY = 1000


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


# Header names, compared after NFKC folding (full-width brackets), lower-casing and removing spaces.
COLUMNS: dict[str, tuple[str, ...]] = {
    "mobile": ("mobile", "手机号", "手机号码"),
    "client_no": ("client_no", "account_no", "客户号", "资金账号"),
    "as_of": ("date", "as_of", "日期"),
    "assets": ("assets", "total_assets", "总资产", "总资产(元)"),
}
_HEADER_LOOKUP = {name: key for key, names in COLUMNS.items() for name in names}

# English messages; the pages translate them with gettext, the CLI prints them as they are.
MESSAGES: dict[str, str] = {
    "file.empty": N_("The file has no data rows."),
    "file.encoding": N_("The file is not UTF-8 or GB18030 text. In Excel, save it as “CSV UTF-8”."),
    "file.malformed": N_("This row is not valid CSV (for example an unclosed quote)."),
    "file.too_large": N_("The file is larger than %(megabytes)s MB."),
    "header.missing_column": N_("The header has no %(column)s column."),
    "header.duplicate_column": N_("The header has the column %(column)s more than once."),
    "row.no_client_key": N_("Give the client's mobile or client number."),
    "row.bad_mobile": N_("%(value)s is not a valid mainland mobile number."),
    "row.unknown_client": N_("No client on file has %(value)s."),
    "row.client_mismatch": N_("The mobile %(mobile)s and the client number %(client_no)s belong to different clients."),
    "row.missing_date": N_("The date is missing."),
    "row.bad_date": N_("%(value)s is not a date: use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD."),
    "row.future_date": N_("The date %(value)s is in the future."),
    "row.missing_amount": N_("The total assets are missing."),
    "row.bad_amount": N_("%(value)s is not an amount in yuan with at most two decimals."),
    "row.negative_amount": N_("Total assets cannot be negative: %(value)s."),
    "row.amount_too_large": N_("%(value)s is too large to be a client's total assets."),
    "row.duplicate": N_("This client and date are already on line %(first_line)s."),
}

# Shown in place of a column key in "header.missing_column".
COLUMN_LABELS = {
    "client": "mobile / 手机号 / client_no / 客户号",
    "as_of": "date / 日期",
    "assets": "assets / 总资产",
}

# Sort order of the errors found on one line, so a line's errors read left to right.
_RANK = {code: rank for rank, code in enumerate(MESSAGES)}


@dataclass
class RowError:
    """One problem, on a line numbered as a spreadsheet shows it (header = line 1; 0 = whole file)."""

    line: int
    code: str
    params: dict = field(default_factory=dict)


@dataclass
class ImportResult:
    """What an import found and did. With errors, nothing was written."""

    rows: int = 0
    clients: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    tier_changes: int = 0
    errors: list[RowError] = field(default_factory=list)
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


def format_error(error: RowError, translate: Callable[..., str] | None = None) -> str:
    """The message of an error, translated with `translate(msgid, **params)` or in English."""
    message = MESSAGES.get(error.code, error.code)
    if translate is not None:
        return translate(message, **error.params)
    return message % error.params if error.params else message


# --------------------------------------------------------------------------- parsing


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def _header_key(cell: str) -> str | None:
    name = re.sub(r"\s+", "", _fold(cell).lstrip("\ufeff")).lower()
    return _HEADER_LOOKUP.get(name)


# [0-9], not \d: \d also matches the digits of other scripts, which int() would accept.
_DATE_PATTERNS = (
    re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"),
    re.compile(r"([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})"),
    re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})"),
    re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日"),
)


def parse_date(raw: str) -> date:
    """Parse YYYY-MM-DD, YYYY/MM/DD (Excel's 2026/3/5 too), YYYYMMDD or 2026年3月5日."""
    text = _fold(raw)
    match = next((m for m in (p.fullmatch(text) for p in _DATE_PATTERNS) if m), None)
    if match is None:
        raise InvalidFormat("date.format")
    try:
        value = date(*(int(part) for part in match.groups()))
    except ValueError:
        raise InvalidFormat("date.format") from None
    if value < EARLIEST_DATE:
        raise InvalidFormat("date.format")
    return value


def _shown(value: str, limit: int = 40) -> str:
    """A cell value as quoted back in an error message: printable and short."""
    text = "".join(ch if ch.isprintable() else "?" for ch in value.strip())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_READ_BYTES = 1024 * 1024  # the file is read in pieces of this size, never whole


class _Source(io.RawIOBase):
    """Any binary stream (an upload's temporary file, an open file, bytes) as a raw stream to buffer."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _encoding(stream: BinaryIO, start: int, errors: _Errors) -> str | None:
    """UTF-8 or GB18030, checked over the whole file piece by piece; None (and an error) if neither.

    Also refuses a file over MAX_BYTES. The stream is read once per candidate and left at `start`.
    """
    for name in ("utf-8", "gb18030"):
        stream.seek(start)
        decoder = codecs.getincrementaldecoder(name)()
        size = 0
        try:
            while chunk := stream.read(_READ_BYTES):
                size += len(chunk)
                if size > MAX_BYTES:
                    errors.add(0, "file.too_large", megabytes=MAX_BYTES // (1024 * 1024))
                    return None
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        stream.seek(start)
        return name
    errors.add(0, "file.encoding")
    return None


def _text(stream: BinaryIO, errors: _Errors) -> Iterator[str] | None:
    """The file's lines as text (newlines kept, as csv wants them), or None with the error noted."""
    if not stream.seekable():
        raise ValueError("import_assets needs a seekable stream (a file, or bytes)")
    start = stream.tell()
    bom = stream.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
    start += len(codecs.BOM_UTF8) if bom else 0
    encoding = _encoding(stream, start, errors)
    if encoding is None:
        return None
    return io.TextIOWrapper(io.BufferedReader(_Source(stream), _READ_BYTES), encoding=encoding, newline="")


def _sniff_delimiter(first_line: str) -> str:
    """Comma, unless the header line clearly uses semicolons or tabs (some Excel locales)."""
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _records(lines: Iterator[str]) -> Iterator[tuple[int, list[str] | None]]:
    """(line, cells) for each CSV record; a record's line is its row number in a spreadsheet."""
    first = next(lines, "")
    reader = csv.reader(itertools.chain([first], lines), delimiter=_sniff_delimiter(first.split("\n", 1)[0]))
    line = 0
    while True:
        line += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield line, None  # reported as file.malformed by the caller
            return
        yield line, cells


@dataclass
class _Row:
    line: int
    mobile: str | None
    client_no: str | None
    as_of: date | None
    fen: int | None


class _Errors:
    """The errors of a file: all counted, only the first MAX_ERRORS (by line) kept, so memory stays small."""

    def __init__(self) -> None:
        self.items: list[RowError] = []
        self.count = 0
        self.fatal = False  # a file or header error: the rows are not checked against the clients

    def add(self, line: int, code: str, **params) -> None:
        self.count += 1
        self.fatal = self.fatal or code.startswith(("file.", "header."))
        self.items.append(RowError(line, code, params))
        if len(self.items) >= 4 * MAX_ERRORS:
            self.items = self.sorted()[:MAX_ERRORS]

    def __bool__(self) -> bool:
        return self.count > 0

    def sorted(self) -> list[RowError]:
        # Stable: a line's errors of one code keep the order they were found in (mobile, then number).
        return sorted(self.items, key=lambda e: (e.line, _RANK.get(e.code, 99)))


def _header(records: Iterator[tuple[int, list[str] | None]], errors: _Errors) -> dict[str, int] | None:
    """The position of each known column, from the first non-blank record; None with errors noted."""
    header: list[str] | None = None
    header_line = 0
    for line, cells in records:
        if cells is None:
            errors.add(line, "file.malformed")
            return None
        if any(cell.strip() for cell in cells):
            header, header_line = cells, line
            break
    if header is None:
        errors.add(0, "file.empty")
        return None
    index: dict[str, int] = {}
    for position, cell in enumerate(header):
        key = _header_key(cell)
        if key is None:
            continue
        if key in index:
            errors.add(header_line, "header.duplicate_column", column=_shown(cell))
        else:
            index[key] = position
    if "mobile" not in index and "client_no" not in index:
        errors.add(header_line, "header.missing_column", column=COLUMN_LABELS["client"])
    for key in ("as_of", "assets"):
        if key not in index:
            errors.add(header_line, "header.missing_column", column=COLUMN_LABELS[key])
    return None if errors else index


@functools.lru_cache(maxsize=4096)
def _date_or_none(raw: str) -> date | None:
    """parse_date, remembered: a back office file repeats a few dates on every row."""
    try:
        return parse_date(raw)
    except InvalidFormat:
        return None


def _row(line: int, cells: list[str], index: dict[str, int], errors: _Errors, today: date) -> _Row:
    """One data record checked on its own (formats, dates, amounts); errors noted, bad fields None."""

    def cell_of(key: str) -> str:
        position = index.get(key)
        if position is None or position >= len(cells):
            return ""
        return cells[position].strip()

    mobile_raw = cell_of("mobile")
    number_raw = _fold(cell_of("client_no"))
    date_raw = cell_of("as_of")
    amount_raw = cell_of("assets")

    mobile = None
    if mobile_raw:
        try:
            mobile = normalize_mobile(mobile_raw)
        except InvalidFormat:
            errors.add(line, "row.bad_mobile", value=_shown(mobile_raw))
    elif not number_raw:
        errors.add(line, "row.no_client_key")

    as_of = None
    if not date_raw:
        errors.add(line, "row.missing_date")
    else:
        as_of = _date_or_none(date_raw)
        if as_of is None:
            errors.add(line, "row.bad_date", value=_shown(date_raw))
        elif as_of > today:
            errors.add(line, "row.future_date", value=as_of.isoformat())
            as_of = None

    fen = None
    if not amount_raw:
        errors.add(line, "row.missing_amount")
    else:
        try:
            fen = yuan_to_fen(amount_raw.lstrip("¥￥").strip())
        except InvalidFormat:
            errors.add(line, "row.bad_amount", value=_shown(amount_raw))
        else:
            if fen < 0:
                errors.add(line, "row.negative_amount", value=_shown(amount_raw))
                fen = None
            elif fen > MAX_AMOUNT_FEN:
                errors.add(line, "row.amount_too_large", value=_shown(amount_raw))
                fen = None
    return _Row(line, mobile, number_raw or None, as_of, fen)


def _rows(lines: Iterator[str], errors: _Errors, today: date,
          progress: Callable[[int], None] | None) -> Iterator[_Row]:
    """Each non-blank data record of the file, checked on its own, one at a time (never a list)."""
    records = _records(lines)
    index = _header(records, errors)
    if index is None:
        return
    seen = 0
    for line, cells in records:
        seen += 1
        if progress is not None and seen % _PROGRESS_EVERY == 0:
            progress(_PROGRESS_EVERY)
        if cells is None:
            errors.add(line, "file.malformed")
            break
        if not any(cell.strip() for cell in cells):
            continue  # blank lines, and the ",,," rows Excel leaves at the end
        yield _row(line, cells, index, errors, today)
    if progress is not None and seen % _PROGRESS_EVERY:
        progress(seen % _PROGRESS_EVERY)


# --------------------------------------------------------------------------- database helpers
#
# PostgreSQL gets whole lists as one array parameter (= ANY(array), unnest(arrays)); SQLite, which
# has no arrays and caps the parameters of a statement, gets chunked IN lists and executemany.


def _chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _among(column: sa.ColumnElement, values: Iterable, item_type: sa.types.TypeEngine) -> Iterator:
    """WHERE conditions, one per statement to run, that together select `column` in `values`."""
    ordered = sorted(values)
    if dialect.is_postgresql():
        for chunk in _chunks(ordered, PG_CHUNK):
            yield column == sa.any_(sa.bindparam(None, list(chunk), type_=postgresql.ARRAY(item_type)))
    else:
        for chunk in _chunks(ordered):
            yield column.in_(chunk)


def _plausible_client_no(value: str) -> bool:
    # Longer than the column, or with control characters, it can match no client; PostgreSQL
    # would even refuse a NUL in a parameter, so such values are never sent.
    return len(value) <= 30 and value.isprintable()


def _existing(keys: set[tuple[int, date]]) -> dict[tuple[int, date], int]:
    """Amounts already stored for these (client, date) pairs, in bulk queries."""
    client_ids = {client_id for client_id, _ in keys}
    dates = sorted({as_of for _, as_of in keys})
    if not dates:
        return {}
    # A back office file usually holds one or a few dates: list them; else take the range.
    date_filter = (AssetSnapshot.as_of.in_(dates) if len(dates) <= 50
                   else AssetSnapshot.as_of.between(dates[0], dates[-1]))
    found: dict[tuple[int, date], int] = {}
    for condition in _among(AssetSnapshot.client_id, client_ids, sa.Integer()):
        query = (sa.select(AssetSnapshot.client_id, AssetSnapshot.as_of, AssetSnapshot.total_assets_fen)
                 .where(condition, date_filter))
        for client_id, as_of, fen in db.session.execute(query):
            if (client_id, as_of) in keys:
                found[(client_id, as_of)] = fen
    return found


def _upsert(values: list[dict], source: str, actor_id: int | None) -> None:
    """Insert snapshots, replacing an existing (client, date) only when its amount differs.

    `values` holds client_id, as_of and total_assets_fen. PostgreSQL: INSERT ... SELECT FROM
    unnest(arrays) ... ON CONFLICT, one statement per 100,000 rows. SQLite: one executemany of
    INSERT ... ON CONFLICT (the rows never leave the process).
    """
    if not values:
        return
    table = AssetSnapshot.__table__
    now = utcnow()
    if dialect.is_postgresql():
        for chunk in _chunks(values, PG_CHUNK):
            rows = sa.func.unnest(
                sa.bindparam(None, [v["client_id"] for v in chunk], type_=postgresql.ARRAY(sa.Integer)),
                sa.bindparam(None, [v["as_of"] for v in chunk], type_=postgresql.ARRAY(sa.Date)),
                sa.bindparam(None, [v["total_assets_fen"] for v in chunk], type_=postgresql.ARRAY(sa.BigInteger)),
            ).table_valued("client_id", "as_of", "total_assets_fen").render_derived()
            select = sa.select(rows.c.client_id, rows.c.as_of, rows.c.total_assets_fen,
                               sa.cast(sa.literal(source), sa.String(20)),
                               sa.cast(sa.literal(actor_id), sa.Integer),
                               sa.cast(sa.literal(now, UTCDateTime()), sa.DateTime()))
            stmt = dialect.insert(table).from_select(
                ["client_id", "as_of", "total_assets_fen", "source", "created_by_id", "created_at"], select)
            db.session.execute(_on_conflict(stmt, table))
    else:
        stmt = _on_conflict(dialect.insert(table), table)
        db.session.execute(stmt, [{**v, "source": source, "created_by_id": actor_id, "created_at": now}
                                  for v in values])


def _on_conflict(stmt, table: sa.Table):
    return stmt.on_conflict_do_update(
        index_elements=[table.c.client_id, table.c.as_of],
        set_={
            "total_assets_fen": stmt.excluded.total_assets_fen,
            "source": stmt.excluded.source,
            "created_by_id": stmt.excluded.created_by_id,
            "created_at": stmt.excluded.created_at,
        },
        where=table.c.total_assets_fen != stmt.excluded.total_assets_fen,
    )


# --------------------------------------------------------------------------- tiers

# Each client's latest snapshot and the tier it falls in (the highest threshold not above it).
# `{clients}` filters the clients considered.
_TARGET_SQL = """
SELECT x.client_id, x.from_tier_id, x.assets_fen,
       (SELECT t.id FROM tiers t WHERE t.min_assets_fen <= x.assets_fen
        ORDER BY t.min_assets_fen DESC LIMIT 1) AS to_tier_id
FROM (SELECT c.id AS client_id, c.tier_id AS from_tier_id,
             (SELECT s.total_assets_fen FROM asset_snapshots s WHERE s.client_id = c.id
              ORDER BY s.as_of DESC LIMIT 1) AS assets_fen
      FROM clients c WHERE {clients}) x
WHERE x.assets_fen IS NOT NULL
"""

# PostgreSQL: one statement computes the targets once, logs the changes and moves the clients.
_PG_RECOMPUTE_SQL = """
WITH target AS ({target}),
changed AS (
    INSERT INTO tier_changes (client_id, from_tier_id, to_tier_id, assets_fen, changed_at, source)
    SELECT client_id, from_tier_id, to_tier_id, assets_fen, :now, CAST(:source AS VARCHAR(20))
    FROM target WHERE from_tier_id IS DISTINCT FROM to_tier_id
    RETURNING client_id, to_tier_id)
UPDATE clients SET tier_id = changed.to_tier_id FROM changed WHERE clients.id = changed.client_id
"""

# SQLite (no data-modifying CTEs): log the changes, then move the clients. IS NOT is its
# null-safe "differs" (IS DISTINCT FROM only exists since 3.39).
_SQLITE_INSERT_CHANGES_SQL = """
INSERT INTO tier_changes (client_id, from_tier_id, to_tier_id, assets_fen, changed_at, source)
SELECT y.client_id, y.from_tier_id, y.to_tier_id, y.assets_fen, :now, :source
FROM ({target}) y
WHERE y.from_tier_id IS NOT y.to_tier_id
"""

_SQLITE_UPDATE_CLIENTS_SQL = """
UPDATE clients SET tier_id = y.to_tier_id
FROM ({target}) y
WHERE clients.id = y.client_id AND clients.tier_id IS NOT y.to_tier_id
"""

_ALL_WITH_SNAPSHOTS = "EXISTS (SELECT 1 FROM asset_snapshots s0 WHERE s0.client_id = c.id)"


def _bind(sql: str, **extra: sa.BindParameter) -> sa.TextClause:
    return sa.text(sql).bindparams(sa.bindparam("now", type_=UTCDateTime()),
                                   sa.bindparam("source", type_=sa.String), *extra.values())


def recompute_tiers(client_ids: Sequence[int] | None = None, source: str = "import") -> int:
    """Put clients in the tier of their latest snapshot; log each change. Returns the changes made.

    Set-based, for the given clients or (None) every client with a snapshot; clients without
    snapshots keep their tier. PostgreSQL: one statement per 100,000 clients (a CTE that inserts
    the tier changes and updates the clients). SQLite: per 5,000 clients, an INSERT ... SELECT of
    the tier changes and an UPDATE ... FROM of the clients.
    """
    db.session.flush()
    params = {"now": utcnow(), "source": source}
    changed = 0
    if dialect.is_postgresql():
        if client_ids is None:
            batches = [(_ALL_WITH_SNAPSHOTS, {})]
        else:
            batches = [("c.id = ANY(CAST(:ids AS INTEGER[]))", {"ids": list(chunk)})
                       for chunk in _chunks(sorted(set(client_ids)), PG_CHUNK)]
        for condition, ids in batches:
            statement = _bind(_PG_RECOMPUTE_SQL.format(target=_TARGET_SQL.format(clients=condition)))
            changed += db.session.execute(statement, {**params, **ids}).rowcount
    else:
        if client_ids is None:
            batches = [(_ALL_WITH_SNAPSHOTS, {}, {})]
        else:
            expanding = {"ids": sa.bindparam("ids", expanding=True)}
            batches = [("c.id IN :ids", {"ids": list(chunk)}, expanding)
                       for chunk in _chunks(sorted(set(client_ids)))]
        for condition, ids, extra in batches:
            target = _TARGET_SQL.format(clients=condition)
            insert = _bind(_SQLITE_INSERT_CHANGES_SQL.format(target=target), **extra)
            update = sa.text(_SQLITE_UPDATE_CLIENTS_SQL.format(target=target)).bindparams(*extra.values())
            changed += db.session.execute(insert, {**params, **ids}).rowcount
            db.session.execute(update, ids)
    # The statements bypassed the ORM: loaded clients must re-read their tier.
    affected = None if client_ids is None else set(client_ids)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Client) and (affected is None or obj.id in affected):
            db.session.expire(obj, ["tier_id", "tier"])
    return changed


def _recompute_where(condition: str, source: str) -> int:
    """recompute_tiers for the clients that `condition` (SQL on clients `c`) selects, in one pass."""
    params = {"now": utcnow(), "source": source}
    target = _TARGET_SQL.format(clients=condition)
    if dialect.is_postgresql():
        changed = db.session.execute(_bind(_PG_RECOMPUTE_SQL.format(target=target)), params).rowcount
    else:
        changed = db.session.execute(_bind(_SQLITE_INSERT_CHANGES_SQL.format(target=target)), params).rowcount
        db.session.execute(sa.text(_SQLITE_UPDATE_CLIENTS_SQL.format(target=target)))
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Client):
            db.session.expire(obj, ["tier_id", "tier"])
    return changed


def tier_changes_of(client: Client, limit: int = 50) -> list[TierChange]:
    """A client's tier changes, newest first (for the client's asset page and timeline)."""
    query = (sa.select(TierChange).where(TierChange.client_id == client.id)
             .order_by(TierChange.changed_at.desc(), TierChange.id.desc()).limit(limit))
    return list(db.session.execute(query).scalars())


# --------------------------------------------------------------------------- import
#
# The file is read as a stream: each record is checked on its own and written, in chunks, to a
# temporary table (`import_rows`, private to this database connection); matching clients, finding
# duplicates, counting and writing the snapshots are then set-based statements over that table. So
# the memory used does not grow with the file: a 50 MB, 1,000,000-row file stays well under 200 MB.

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


def _drop_stage() -> None:
    schema = "pg_temp" if dialect.is_postgresql() else "temp"
    db.session.execute(sa.text(f"DROP TABLE IF EXISTS {schema}.{_STAGE_TABLE}"))


def _stage(rows: Iterator[_Row]) -> tuple[int, int]:
    """Write the records to the temporary table in chunks; returns how many, and the last one's line."""
    count = line = 0
    chunk: list[dict] = []
    for row in rows:
        line = row.line
        number = row.client_no
        chunk.append({
            "line": row.line, "mobile": row.mobile,
            "client_no": number if number and _plausible_client_no(number) else None,
            "client_no_given": number is not None, "client_no_shown": _shown(number) if number else None,
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


def _check_against_clients(errors: _Errors) -> None:
    """Match each record to its client; note unknown clients, mismatches and duplicate (client, date)."""
    for statement in _RESOLVE_SQL:
        db.session.execute(sa.text(statement))
    for kind, sql in _PROBLEM_SQL.items():
        found = db.session.execute(sa.text(sql), {"limit": MAX_ERRORS}).all()
        for line, first, second, _total in found:
            if kind == "unknown_mobile":
                errors.add(line, "row.unknown_client", key="mobile", value=first)
            elif kind == "unknown_number":
                errors.add(line, "row.unknown_client", key="client_no", value=first)
            elif kind == "mismatch":
                errors.add(line, "row.client_mismatch", mobile=first, client_no=second)
            else:
                errors.add(line, "row.duplicate", first_line=first)
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


def _import_staged(result: ImportResult, errors: _Errors, lines: Iterator[str], actor: User | None,
                   source: str, today: date, progress: Callable[[int], None] | None) -> None:
    """Stage and check the records; when there is no error at all, write them and re-tier the clients."""
    result.rows, last_line = _stage(_rows(lines, errors, today, progress))
    if not result.rows and not errors:
        errors.add(0, "file.empty")
    if errors.fatal:
        return
    _check_against_clients(errors)
    if errors:
        return
    _write(result, source, actor.id if actor is not None else None)
    # PostgreSQL: the clients of 100,000 lines at a time, as recompute_tiers does (one statement
    # over a million clients took twice as long as ten of a tenth). SQLite: all at once.
    step = PG_CHUNK if dialect.is_postgresql() else max(last_line, 1)
    for first in range(0, last_line, step):
        result.tier_changes += _recompute_where(
            f"c.id IN (SELECT client_id FROM {_STAGE_TABLE} WHERE line > {first} AND line <= {first + step})",
            source)


def _finish(result: ImportResult, errors: _Errors) -> ImportResult:
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
    if isinstance(stream, (bytes, bytearray, memoryview)):
        stream = io.BytesIO(bytes(stream))
    result = ImportResult()
    errors = _Errors()
    lines = _text(stream, errors)
    if lines is None:
        return _finish(result, errors)
    db.session.flush()
    _drop_stage()
    db.session.execute(sa.text(_CREATE_STAGE_SQL))
    # On an exception the table stays until the caller's rollback (or the next import) drops it.
    _import_staged(result, errors, lines, actor, source, today, progress)
    _drop_stage()
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


class ImportRunning(Exception):
    """This user has an import running already (in this process or another); `since` is when it began."""

    def __init__(self, since: datetime) -> None:
        super().__init__(f"an import by this user is running since {since.isoformat()}")
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
    from crm.services.jobs import owner_name

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
    """Record a client's total assets on a date by hand (replacing that date's amount) and re-tier."""
    today = today or datetime.now(SHANGHAI).date()
    if total_assets_fen < 0:
        raise InvalidFormat("row.negative_amount")
    if total_assets_fen > MAX_AMOUNT_FEN:
        raise InvalidFormat("row.amount_too_large")
    if as_of > today:
        raise InvalidFormat("row.future_date")
    if as_of < EARLIEST_DATE:
        raise InvalidFormat("row.bad_date")
    before = _existing({(client.id, as_of)}).get((client.id, as_of))
    if before == total_assets_fen:
        status = "unchanged"
    else:
        status = "inserted" if before is None else "updated"
        _upsert([{"client_id": client.id, "as_of": as_of, "total_assets_fen": total_assets_fen}],
                "manual", actor.id if actor else None)
    changes = recompute_tiers([client.id], source="manual")
    db.session.flush()
    return AddResult(status, changes)


def snapshots_of(client: Client, limit: int = 100) -> list[AssetSnapshot]:
    """A client's snapshots, newest first."""
    query = (sa.select(AssetSnapshot).where(AssetSnapshot.client_id == client.id)
             .order_by(AssetSnapshot.as_of.desc()).limit(limit))
    return list(db.session.execute(query).scalars())

