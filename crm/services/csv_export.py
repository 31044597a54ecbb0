"""CSV downloads that a spreadsheet opens safely: UTF-8 with a BOM, text cells that cannot run formulas.

Excel, WPS and LibreOffice treat a cell starting with = + - @ (or a tab or carriage return
before one) as a formula, so a client's name like `=HYPERLINK("http://x","点我")` would become a
live link or worse (CSV injection). Every *text* cell that starts with one of those characters is
written with a leading apostrophe, which the spreadsheet shows as plain text.

Decision on negative numbers: values the code hands over as numbers (int, float, Decimal) are
written unchanged, so a legitimately negative amount (-1500.00) stays a number a spreadsheet can
sum. Only strings are escaped: a text cell "-1" came from somebody's typing and gets the
apostrophe. Callers therefore pass amounts and counts as numbers, never pre-formatted strings.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal

from flask import Response, stream_with_context

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def safe_cell(value: object) -> object:
    """A value ready for a CSV cell: text that a spreadsheet would run as a formula gets a leading '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float, Decimal)):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _line(row: Iterable[object]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([safe_cell(v) for v in row])
    return out.getvalue()


def lines(header: Iterable[object], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The BOM and header, then one CSV line per row, each cell made safe."""
    yield BOM + _line(header)
    for row in rows:
        yield _line(row)


def to_text(header: Iterable[object], rows: Iterable[Iterable[object]]) -> str:
    """The whole CSV document as one string (for small exports and tests)."""
    return "".join(lines(header, rows))


def response(filename: str, header: Iterable[object], rows: Iterable[Iterable[object]],
             stream: bool = False) -> Response:
    """A download of the rows; `stream=True` writes them as they are read (rows may query lazily)."""
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if stream:
        return Response(stream_with_context(lines(header, rows)), mimetype="text/csv; charset=utf-8",
                        headers=headers)
    return Response(to_text(header, rows), mimetype="text/csv; charset=utf-8", headers=headers)
