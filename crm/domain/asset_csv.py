"""The back office's CSV of total assets, read and checked on its own: bytes in, rows and line errors out.

Pure: no database and no words. Each record is checked for its formats (mobile, date, amount) here;
whether its client exists and whether a (client, date) repeats is checked against the database by
`crm.services.assets`. Errors carry a code (`assets.<rule>`) and parameters; their words are in
`crm.routes.refusals.TEXT`. The file is read piece by piece, never whole, so memory stays small.
"""
from __future__ import annotations

import codecs
import csv
import functools
import io
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from crm.domain.formats import InvalidFormat, normalize_mobile, yuan_to_fen
from crm.domain.refusals import LineError

__all__ = [
    "CODES",
    "COLUMNS",
    "EARLIEST_DATE",
    "MAX_AMOUNT_FEN",
    "MAX_BYTES",
    "MAX_ERRORS",
    "LineError",
    "LineErrors",
    "Row",
    "checked_rows",
    "parse_date",
    "shown",
    "text_lines",
]

MAX_ERRORS = 200  # errors kept in the result; the total is counted separately
MAX_BYTES = 50 * 1024 * 1024  # a 100,000-row file is about 4 MB
MAX_AMOUNT_FEN = 10**17  # one quadrillion yuan: anything above is a typo, and it must fit a BIGINT
EARLIEST_DATE = date(1990, 1, 1)  # the Shanghai exchange opened in December 1990
PROGRESS_EVERY = 1000  # rows checked between two progress calls
_READ_BYTES = 1024 * 1024  # the file is read in pieces of this size, never whole

# Header names, compared after NFKC folding (full-width brackets), lower-casing and removing spaces.
COLUMNS: dict[str, tuple[str, ...]] = {
    "mobile": ("mobile", "手机号", "手机号码"),
    "client_no": ("client_no", "account_no", "客户号", "资金账号"),
    "as_of": ("date", "as_of", "日期"),
    "assets": ("assets", "total_assets", "总资产", "总资产(元)"),
}
_HEADER_LOOKUP = {name: key for key, names in COLUMNS.items() for name in names}

# Shown in place of a column key in "assets.missing_column".
COLUMN_LABELS = {
    "client": "mobile / 手机号 / client_no / 客户号",
    "as_of": "date / 日期",
    "assets": "assets / 总资产",
}

# Every code an import can report, in the order a line's errors are listed (left to right).
CODES = (
    "assets.empty_file",
    "assets.encoding",
    "assets.malformed",
    "assets.too_large",
    "assets.missing_column",
    "assets.duplicate_column",
    "assets.no_client_key",
    "assets.bad_mobile",
    "assets.unknown_client",
    "assets.client_mismatch",
    "assets.missing_date",
    "assets.bad_date",
    "assets.future_date",
    "assets.missing_amount",
    "assets.bad_amount",
    "assets.negative_amount",
    "assets.amount_too_large",
    "assets.duplicate",
)
# A file or header error: the rows are not checked against the clients.
FILE_CODES = frozenset(CODES[:6])
_RANK = {code: rank for rank, code in enumerate(CODES)}


class LineErrors:
    """The errors of a file: all counted, only the first MAX_ERRORS (by line) kept, so memory stays small."""

    def __init__(self) -> None:
        self.items: list[LineError] = []
        self.count = 0
        self.fatal = False

    def add(self, line: int, code: str, **params) -> None:
        """Note one problem on a line (0: the whole file)."""
        self.count += 1
        self.fatal = self.fatal or code in FILE_CODES
        self.items.append(LineError(line, code, params))
        if len(self.items) >= 4 * MAX_ERRORS:
            self.items = self.sorted()[:MAX_ERRORS]

    def __bool__(self) -> bool:
        return self.count > 0

    def sorted(self) -> list[LineError]:
        """The kept errors by line, a line's errors left to right."""
        # Stable: a line's errors of one code keep the order they were found in (mobile, then number).
        return sorted(self.items, key=lambda e: (e.line, _RANK.get(e.code, 99)))


@dataclass
class Row:
    """One data record checked on its own; a field that failed its check is None."""

    line: int
    mobile: str | None
    client_no: str | None
    as_of: date | None
    fen: int | None


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


@functools.lru_cache(maxsize=4096)  # a back office file repeats a few dates on every row
def parse_date(raw: str) -> date | None:
    """YYYY-MM-DD, YYYY/MM/DD (Excel's 2026/3/5 too), YYYYMMDD or 2026年3月5日; None if not a date since 1990."""
    text = _fold(raw)
    match = next((m for m in (p.fullmatch(text) for p in _DATE_PATTERNS) if m), None)
    if match is None:
        return None
    try:
        value = date(*(int(part) for part in match.groups()))
    except ValueError:
        return None
    return value if value >= EARLIEST_DATE else None


def shown(value: str, limit: int = 40) -> str:
    """A cell value as quoted back in an error message: printable and short."""
    text = "".join(ch if ch.isprintable() else "?" for ch in value.strip())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def _encoding(stream: BinaryIO, start: int, errors: LineErrors) -> str | None:
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
                    errors.add(0, "assets.too_large", megabytes=MAX_BYTES // (1024 * 1024))
                    return None
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        stream.seek(start)
        return name
    errors.add(0, "assets.encoding")
    return None


def text_lines(stream: bytes | BinaryIO, errors: LineErrors) -> Iterator[str] | None:
    """The file's lines as text (newlines kept, as csv wants them), or None with the error noted.

    `stream` is bytes or a seekable binary file: its encoding is judged on the whole file first.
    """
    if isinstance(stream, (bytes, bytearray, memoryview)):
        stream = io.BytesIO(bytes(stream))
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
            yield line, None  # reported as assets.malformed by the caller
            return
        yield line, cells


def _header(records: Iterator[tuple[int, list[str] | None]], errors: LineErrors) -> dict[str, int] | None:
    """The position of each known column, from the first non-blank record; None with errors noted."""
    header: list[str] | None = None
    header_line = 0
    for line, cells in records:
        if cells is None:
            errors.add(line, "assets.malformed")
            return None
        if any(cell.strip() for cell in cells):
            header, header_line = cells, line
            break
    if header is None:
        errors.add(0, "assets.empty_file")
        return None
    index: dict[str, int] = {}
    for position, cell in enumerate(header):
        key = _header_key(cell)
        if key is None:
            continue
        if key in index:
            errors.add(header_line, "assets.duplicate_column", column=shown(cell))
        else:
            index[key] = position
    if "mobile" not in index and "client_no" not in index:
        errors.add(header_line, "assets.missing_column", column=COLUMN_LABELS["client"])
    for key in ("as_of", "assets"):
        if key not in index:
            errors.add(header_line, "assets.missing_column", column=COLUMN_LABELS[key])
    return None if errors else index


def _row(line: int, cells: list[str], index: dict[str, int], errors: LineErrors, today: date) -> Row:
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
            errors.add(line, "assets.bad_mobile", value=shown(mobile_raw))
    elif not number_raw:
        errors.add(line, "assets.no_client_key")

    as_of = None
    if not date_raw:
        errors.add(line, "assets.missing_date")
    else:
        as_of = parse_date(date_raw)
        if as_of is None:
            errors.add(line, "assets.bad_date", value=shown(date_raw))
        elif as_of > today:
            errors.add(line, "assets.future_date", value=as_of.isoformat())
            as_of = None

    fen = None
    if not amount_raw:
        errors.add(line, "assets.missing_amount")
    else:
        try:
            fen = yuan_to_fen(amount_raw.lstrip("¥￥").strip())
        except InvalidFormat:
            errors.add(line, "assets.bad_amount", value=shown(amount_raw))
        else:
            if fen < 0:
                errors.add(line, "assets.negative_amount", value=shown(amount_raw))
                fen = None
            elif fen > MAX_AMOUNT_FEN:
                errors.add(line, "assets.amount_too_large", value=shown(amount_raw))
                fen = None
    return Row(line, mobile, number_raw or None, as_of, fen)


def checked_rows(lines: Iterator[str], errors: LineErrors, today: date,
                 progress: Callable[[int], None] | None = None) -> Iterator[Row]:
    """Each non-blank data record of the file, checked on its own, one at a time (never a list).

    Reads the header first (a missing or repeated column ends the file); errors go to `errors`.
    `progress(n)` is called as rows are checked.
    """
    records = _records(lines)
    index = _header(records, errors)
    if index is None:
        return
    seen = 0
    for line, cells in records:
        seen += 1
        if progress is not None and seen % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
        if cells is None:
            errors.add(line, "assets.malformed")
            break
        if not any(cell.strip() for cell in cells):
            continue  # blank lines, and the ",,," rows Excel leaves at the end
        yield _row(line, cells, index, errors, today)
    if progress is not None and seen % PROGRESS_EVERY:
        progress(seen % PROGRESS_EVERY)
