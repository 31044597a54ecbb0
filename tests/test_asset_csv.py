"""The asset CSV read and checked on its own (crm.domain.asset_csv): no database, no app."""
from __future__ import annotations

import io
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.domain import asset_csv
from crm.domain.asset_csv import LineErrors, checked_rows, parse_date, text_lines
from crm.domain.refusals import RuleError

TODAY = date(2026, 11, 25)


def read(data: bytes) -> tuple[list[asset_csv.Row], LineErrors]:
    """Every row and the errors of a file, as an import sees them before it asks the database."""
    errors = LineErrors()
    lines = text_lines(data, errors)
    rows = [] if lines is None else list(checked_rows(lines, errors, TODAY))
    return rows, errors


def codes(data: bytes) -> list[tuple[int, str]]:
    return [(e.line, e.code) for e in read(data)[1].sorted()]


def test_a_good_file_gives_checked_rows_and_no_errors():
    rows, errors = read("手机号,客户号,日期,总资产（元）\r\n138-0013-8001,,2026/3/5,\"¥1,234.50\"\r\n,880001,20261101,0\r\n"
                        .encode("gb18030"))
    assert not errors
    assert [(r.line, r.mobile, r.client_no, r.as_of, r.fen) for r in rows] == [
        (2, "13800138001", None, date(2026, 3, 5), 123_450),
        (3, None, "880001", date(2026, 11, 1), 0)]


def test_a_bad_field_is_none_and_its_error_names_the_line_left_to_right():
    rows, errors = read(b"mobile,date,assets\n12345,2026-13-01,-1\n")
    assert [(r.mobile, r.as_of, r.fen) for r in rows] == [(None, None, None)]
    assert [(e.line, e.code, e.detail) for e in errors.sorted()] == [
        (2, "assets.bad_mobile", {"value": "12345"}),
        (2, "assets.bad_date", {"value": "2026-13-01"}),
        (2, "assets.negative_amount", {"value": "-1"})]


@pytest.mark.parametrize("data, expected", [
    (b"", [(0, "assets.empty_file")]),
    (b"mobile,date,assets\r\n,,\r\n", []),  # no rows: the import says empty once it has staged none
    (b"\xff\xfe\x00m", [(0, "assets.encoding")]),
    (b"date,assets\n", [(1, "assets.missing_column")]),
    (b"mobile,mobile,date,assets\n", [(1, "assets.duplicate_column")]),
    (b"mobile,date,assets\n" + b"9" * 140_000 + b",2026-11-01,1\n", [(2, "assets.malformed")]),  # over csv's limit
], ids=["empty", "no-rows", "utf-16", "no-client-column", "repeated-column", "huge-cell"])
def test_file_and_header_problems(data, expected):
    assert codes(data) == expected


def test_file_and_header_problems_are_fatal_row_problems_are_not():
    assert read(b"date,assets\n")[1].fatal
    assert not read(b"mobile,date,assets\n1,2026-11-01,1\n")[1].fatal


def test_a_line_error_is_the_one_refusal_type_with_its_line():
    error = asset_csv.LineError(7, "assets.bad_amount", {"value": "1.234"})
    assert isinstance(error, RuleError)
    assert (error.code, error.field, error.params) == ("assets.bad_amount", None, {"line": 7, "value": "1.234"})


def test_every_code_has_words_in_the_catalogue():
    from crm.routes.refusals import TEXT

    assert [code for code in asset_csv.CODES if code not in TEXT] == []


def test_only_the_first_errors_are_kept_but_all_are_counted():
    errors = LineErrors()
    for line in range(1000, 0, -1):
        errors.add(line, "assets.missing_date")
    kept = errors.sorted()[:asset_csv.MAX_ERRORS]
    assert errors.count == 1000 and [e.line for e in kept] == list(range(1, asset_csv.MAX_ERRORS + 1))


@pytest.mark.parametrize("raw, expected", [
    ("2026-03-05", date(2026, 3, 5)), ("2026/3/5", date(2026, 3, 5)), ("20260305", date(2026, 3, 5)),
    ("2026年3月5日", date(2026, 3, 5)), ("２０２６-03-05", date(2026, 3, 5)),
])
def test_dates_in_the_back_office_formats(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["2026-02-30", "1989-12-31", "٢٠٢٦-03-05", "yesterday", ""])
def test_not_a_date(raw):
    assert parse_date(raw) is None


def test_a_stream_is_read_from_where_it_stands():
    stream = io.BytesIO(b"junk" + b"mobile,date,assets\n13800138001,2026-11-01,1\n")
    stream.seek(4)
    errors = LineErrors()
    rows = list(checked_rows(text_lines(stream, errors), errors, TODAY))
    assert not errors and [r.fen for r in rows] == [100]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=800))
def test_arbitrary_bytes_never_raise(data):
    rows, errors = read(data)
    assert all(isinstance(row, asset_csv.Row) for row in rows)
    assert all(error.code in asset_csv.CODES for error in errors.sorted())


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list(",;\t\"\r\n\x00 -/.¥0123456789年月日期手机号总资产mobiledateassets")),
                    max_size=300))
def test_csv_like_text_never_raises_and_every_row_is_checked(text):
    rows, errors = read(text.encode("utf-8"))
    for row in rows:
        assert row.as_of is None or asset_csv.EARLIEST_DATE <= row.as_of <= TODAY
        assert row.fen is None or 0 <= row.fen <= asset_csv.MAX_AMOUNT_FEN
    assert all(error.code in asset_csv.CODES for error in errors.sorted())
