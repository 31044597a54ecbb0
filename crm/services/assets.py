"""Asset snapshots: import the back office's CSV, enter one by hand, recompute client tiers.

An import is all-or-nothing and idempotent: every row is validated first and nothing is written
if any row is wrong; the same file imported twice adds nothing. Clients are resolved, snapshots
written and tiers recomputed in a handful of set-based statements, never one query per row.
Services flush; the caller (CLI command or route) commits.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import BinaryIO
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from crm.domain.formats import InvalidFormat, normalize_mobile, yuan_to_fen
from crm.extensions import db
from crm.models import AssetSnapshot, Client, TierChange, User, utcnow
from crm.models.base import UTCDateTime
from crm.services import dialect

__all__ = [
    "COLUMNS",
    "MAX_BYTES",
    "MAX_ERRORS",
    "MESSAGES",
    "AddResult",
    "ImportResult",
    "RowError",
    "add_snapshot",
    "format_error",
    "import_assets",
    "parse_date",
    "recompute_tiers",
    "snapshots_of",
    "tier_changes_of",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
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


def _decode(data: bytes) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        return None


def _sniff_delimiter(text: str) -> str:
    """Comma, unless the header line clearly uses semicolons or tabs (some Excel locales)."""
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) for each CSV record; a record's line is its row number in a spreadsheet."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    line = 0
    while True:
        line += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield line, None  # type: ignore[misc]  # reported as file.malformed by the caller
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
    """All errors of a file; sorted by line when done."""

    def __init__(self) -> None:
        self.items: list[RowError] = []

    def add(self, line: int, code: str, **params) -> None:
        self.items.append(RowError(line, code, params))

    def __bool__(self) -> bool:
        return bool(self.items)

    def sorted(self) -> list[RowError]:
        return sorted(self.items, key=lambda e: (e.line, _RANK.get(e.code, 99)))


def _parse(text: str, errors: _Errors, today: date,
           progress: Callable[[int], None] | None) -> list[_Row]:
    records = _records(text)
    header: list[str] | None = None
    header_line = 0
    for line, cells in records:
        if cells is None:
            errors.add(line, "file.malformed")
            return []
        if any(cell.strip() for cell in cells):
            header, header_line = cells, line
            break
    if header is None:
        errors.add(0, "file.empty")
        return []

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
    if errors:
        return []

    def cell_of(cells: list[str], key: str) -> str:
        position = index.get(key)
        if position is None or position >= len(cells):
            return ""
        return cells[position].strip()

    rows: list[_Row] = []
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
        mobile_raw = cell_of(cells, "mobile")
        number_raw = _fold(cell_of(cells, "client_no"))
        date_raw = cell_of(cells, "as_of")
        amount_raw = cell_of(cells, "assets")

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
            try:
                as_of = parse_date(date_raw)
            except InvalidFormat:
                errors.add(line, "row.bad_date", value=_shown(date_raw))
            else:
                if as_of > today:
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
        rows.append(_Row(line, mobile, number_raw or None, as_of, fen))
    if progress is not None and seen % _PROGRESS_EVERY:
        progress(seen % _PROGRESS_EVERY)
    return rows


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


def _lookup(column: sa.ColumnElement, values: Iterable[str]) -> dict[str, int]:
    """Map each value of a unique client column to the client id, in bulk queries."""
    found: dict[str, int] = {}
    for condition in _among(column, values, sa.String()):
        query = sa.select(column, Client.id).where(condition)
        found.update({value: client_id for value, client_id in db.session.execute(query)})
    return found


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


def tier_changes_of(client: Client, limit: int = 50) -> list[TierChange]:
    """A client's tier changes, newest first (for the client's asset page and timeline)."""
    query = (sa.select(TierChange).where(TierChange.client_id == client.id)
             .order_by(TierChange.changed_at.desc(), TierChange.id.desc()).limit(limit))
    return list(db.session.execute(query).scalars())


# --------------------------------------------------------------------------- import


def _read(stream: bytes | BinaryIO) -> bytes:
    if isinstance(stream, (bytes, bytearray, memoryview)):
        return bytes(stream)
    return stream.read(MAX_BYTES + 1)


def _finish(result: ImportResult, errors: _Errors) -> ImportResult:
    ordered = errors.sorted()
    result.error_count = len(ordered)
    result.errors = ordered[:MAX_ERRORS]
    return result


def import_assets(stream: bytes | BinaryIO, actor: User | None, source: str = "import", *,
                  today: date | None = None,
                  progress: Callable[[int], None] | None = None) -> ImportResult:
    """Validate and import a back office CSV of (client mobile or number, date, total assets).

    All-or-nothing: with any error the result lists them (line numbers as in a spreadsheet) and
    nothing is written. Otherwise new snapshots are inserted, changed amounts replaced, identical
    ones left alone, and the tiers of the file's clients recomputed. `progress(n)` is called as rows
    are checked. Flushes; the caller commits.
    """
    today = today or datetime.now(SHANGHAI).date()
    result = ImportResult()
    errors = _Errors()
    data = _read(stream)
    if len(data) > MAX_BYTES:
        errors.add(0, "file.too_large", megabytes=MAX_BYTES // (1024 * 1024))
        return _finish(result, errors)
    text = _decode(data)
    if text is None:
        errors.add(0, "file.encoding")
        return _finish(result, errors)
    rows = _parse(text, errors, today, progress)
    result.rows = len(rows)
    if not rows and not errors:
        errors.add(0, "file.empty")
    if any(e.code.startswith(("file.", "header.")) for e in errors.items):
        return _finish(result, errors)

    db.session.flush()
    by_mobile = _lookup(Client.mobile, {r.mobile for r in rows if r.mobile})
    by_number = _lookup(Client.account_no,
                        {r.client_no for r in rows if r.client_no and _plausible_client_no(r.client_no)})

    first_line: dict[tuple[int, date], int] = {}
    values: dict[tuple[int, date], int] = {}
    for row in rows:
        client_id = None
        from_mobile = by_mobile.get(row.mobile) if row.mobile else None
        from_number = by_number.get(row.client_no) if row.client_no else None
        if row.mobile and from_mobile is None:
            errors.add(row.line, "row.unknown_client", key="mobile", value=row.mobile)
        if row.client_no and from_number is None:
            errors.add(row.line, "row.unknown_client", key="client_no", value=_shown(row.client_no))
        if from_mobile is not None and from_number is not None and from_mobile != from_number:
            errors.add(row.line, "row.client_mismatch", mobile=row.mobile, client_no=_shown(row.client_no))
        elif not (row.mobile and from_mobile is None) and not (row.client_no and from_number is None):
            client_id = from_mobile or from_number
        if client_id is None or row.as_of is None:
            continue
        key = (client_id, row.as_of)
        if key in first_line:
            errors.add(row.line, "row.duplicate", first_line=first_line[key])
            continue
        first_line[key] = row.line
        if row.fen is not None:
            values[key] = row.fen
    if errors:
        return _finish(result, errors)

    existing = _existing(set(values))
    actor_id = actor.id if actor is not None else None
    to_write = []
    for (client_id, as_of), fen in values.items():
        before = existing.get((client_id, as_of))
        if before == fen:
            result.unchanged += 1
            continue
        if before is None:
            result.inserted += 1
        else:
            result.updated += 1
        to_write.append({"client_id": client_id, "as_of": as_of, "total_assets_fen": fen})
    _upsert(to_write, source, actor_id)
    client_ids = sorted({client_id for client_id, _ in values})
    result.clients = len(client_ids)
    result.tier_changes = recompute_tiers(client_ids, source=source)
    if result.inserted or result.updated or result.tier_changes:
        from crm.services import audit

        audit.record(actor, "assets.import", "asset_snapshots", None, params={
            "source": source, "rows": result.rows, "inserted": result.inserted, "updated": result.updated,
            "unchanged": result.unchanged, "tier_changes": result.tier_changes})
    db.session.flush()
    return result


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

