"""Table-driven tests for the mobile, ID, USCC and money format rules."""
from __future__ import annotations

from datetime import date

import pytest

from crm.domain.formats import (
    InvalidFormat,
    check_uscc,
    fen_to_yuan,
    id_birth_date,
    id_gender,
    mask_id_number,
    mask_mobile,
    normalize_mobile,
    validate_id_number,
    yuan_to_fen,
)

# Every birth date in the tables below is judged against this fixed day.
TODAY = date(2024, 6, 1)


def test_invalid_format_is_a_value_error_carrying_its_code() -> None:
    error = InvalidFormat("mobile.length")
    assert isinstance(error, ValueError)
    assert error.code == "mobile.length"


# --- mobile -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812341234", "13812341234"),
        ("19912341234", "19912341234"),
        ("+8613812341234", "13812341234"),
        ("+86 138 1234 1234", "13812341234"),
        ("008613812341234", "13812341234"),
        ("0086-138-1234-1234", "13812341234"),
        ("8613812341234", "13812341234"),
        ("138 1234 1234", "13812341234"),
        ("138-1234-1234", "13812341234"),
        ("138.1234.1234", "13812341234"),
        ("(+86) 138-1234-1234", "13812341234"),
        ("  13812341234\t", "13812341234"),
        ("１３８１２３４１２３４", "13812341234"),
        ("138\u30001234\u30001234", "13812341234"),
        ("＋８６（138）1234－1234", "13812341234"),
    ],
    ids=[
        "plain",
        "prefix-19",
        "plus86",
        "plus86-spaced",
        "0086",
        "0086-dashed",
        "bare-86",
        "spaces",
        "dashes",
        "dots",
        "parentheses",
        "surrounding-whitespace",
        "full-width-digits",
        "full-width-spaces",
        "full-width-punctuation",
    ],
)
def test_normalize_mobile_accepts_and_returns_eleven_digits(raw: str, expected: str) -> None:
    assert normalize_mobile(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "mobile.empty"),
        ("   ", "mobile.empty"),
        ("--", "mobile.empty"),
        ("138123412345", "mobile.length"),
        ("1381234123", "mobile.length"),
        ("+86 1381234123", "mobile.length"),
        ("+86", "mobile.length"),
        ("86138123412", "mobile.prefix"),
        ("12812341234", "mobile.prefix"),
        ("10812341234", "mobile.prefix"),
        ("23812341234", "mobile.prefix"),
        ("+1 4155551234", "mobile.prefix"),
        ("1381234123a", "mobile.chars"),
        ("abcdefghijk", "mobile.chars"),
        ("138+12341234", "mobile.chars"),
        ("+", "mobile.chars"),
        ("138/1234/1234", "mobile.chars"),
        ("\u0661\u0663\u0668\u0661\u0662\u0663\u0664\u0661\u0662\u0663\u0664", "mobile.chars"),
    ],
    ids=[
        "empty",
        "blank",
        "separators-only",
        "twelve-digits",
        "ten-digits",
        "plus86-with-ten-digits",
        "plus86-alone",
        "eleven-digits-starting-86",
        "starts-with-12",
        "starts-with-10",
        "starts-with-2",
        "foreign-country-code",
        "trailing-letter",
        "all-letters",
        "plus-in-middle",
        "plus-alone",
        "slashes",
        "arabic-indic-digits",
    ],
)
def test_normalize_mobile_rejects_with_code(raw: str, code: str) -> None:
    with pytest.raises(InvalidFormat) as caught:
        normalize_mobile(raw)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("mobile", "masked"),
    [
        ("13812341234", "138****1234"),
        ("19900000000", "199****0000"),
        ("1381234", "*******"),
        ("", ""),
    ],
    ids=["mobile", "other-mobile", "too-short-fully-hidden", "empty"],
)
def test_mask_mobile_hides_middle_digits(mobile: str, masked: str) -> None:
    assert mask_mobile(mobile) == masked


# --- resident ID ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("11010519491231002X", "11010519491231002X"),
        ("11010519491231002x", "11010519491231002X"),
        ("110105199001011232", "110105199001011232"),
        ("44030419850615231X", "44030419850615231X"),
        ("320102200002290048", "320102200002290048"),
        ("110105190001010028", "110105190001010028"),
        ("11010520240601003X", "11010520240601003X"),
        (" 110105 19491231 002X ", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),
    ],
    ids=[
        "check-x",
        "lowercase-x",
        "check-digit",
        "other-region",
        "leap-day-2000",
        "earliest-birth-date",
        "born-today",
        "spaces",
        "full-width",
    ],
)
def test_validate_id_number_accepts_and_normalizes(raw: str, expected: str) -> None:
    assert validate_id_number(raw, today=TODAY) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "id.empty"),
        ("   ", "id.empty"),
        ("11010519491231002", "id.length"),
        ("11010519491231002X1", "id.length"),
        ("010105199001011239", "id.chars"),
        ("1101051990010112A3", "id.chars"),
        ("110105199001011X32", "id.chars"),
        ("110105199002301231", "id.birthdate"),
        ("110105199013010018", "id.birthdate"),
        ("110105199001000015", "id.birthdate"),
        ("110105190002290017", "id.birthdate"),
        ("110105189912310015", "id.birthdate"),
        ("110105202406020035", "id.birthdate"),
        ("110105209901011234", "id.birthdate"),
        ("110105199001011234", "id.checksum"),
        ("110105194912310021", "id.checksum"),
    ],
    ids=[
        "empty",
        "blank",
        "seventeen-chars",
        "nineteen-chars",
        "region-starts-with-zero",
        "letter-in-body",
        "x-not-last",
        "february-30",
        "month-13",
        "day-zero",
        "february-29-1900",
        "before-1900",
        "born-tomorrow",
        "far-future",
        "wrong-check-digit",
        "digit-where-x-expected",
    ],
)
def test_validate_id_number_rejects_with_code(raw: str, code: str) -> None:
    with pytest.raises(InvalidFormat) as caught:
        validate_id_number(raw, today=TODAY)
    assert caught.value.code == code


def test_validate_id_number_defaults_today_to_the_current_date() -> None:
    assert validate_id_number("11010519491231002X") == "11010519491231002X"


@pytest.mark.parametrize(
    ("id_number", "born"),
    [
        ("11010519491231002X", date(1949, 12, 31)),
        ("320102200002290048", date(2000, 2, 29)),
        ("44030419850615231x", date(1985, 6, 15)),
    ],
    ids=["1949", "leap-day", "lowercase-x"],
)
def test_id_birth_date_reads_the_encoded_date(id_number: str, born: date) -> None:
    assert id_birth_date(id_number) == born


@pytest.mark.parametrize(
    ("id_number", "gender"),
    [
        ("11010519491231002X", "female"),
        ("320102200002290048", "female"),
        ("44030419850615231X", "male"),
        ("510107190001010017", "male"),
    ],
    ids=["digit-2", "digit-4", "digit-1", "digit-1-other"],
)
def test_id_gender_follows_parity_of_seventeenth_digit(id_number: str, gender: str) -> None:
    assert id_gender(id_number) == gender


def test_id_birth_date_rejects_an_invalid_number() -> None:
    with pytest.raises(InvalidFormat) as caught:
        id_birth_date("110105199001011234")
    assert caught.value.code == "id.checksum"


@pytest.mark.parametrize(
    ("id_number", "masked"),
    [
        ("110105199001011234", "110105********1234"),
        ("11010519491231002X", "110105********002X"),
        ("1101051234", "**********"),
    ],
    ids=["digits", "check-x", "too-short-fully-hidden"],
)
def test_mask_id_number_hides_birth_date(id_number: str, masked: str) -> None:
    assert mask_id_number(id_number) == masked


# --- unified social credit code -------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "checksum_ok"),
    [
        ("91350100M000100Y43", "91350100M000100Y43", True),
        ("91350100m000100y43", "91350100M000100Y43", True),
        (" 9135 0100 M000 100Y 43 ", "91350100M000100Y43", True),
        ("９１３５０１００Ｍ０００１００Ｙ４３", "91350100M000100Y43", True),
        ("91110000100000000R", "91110000100000000R", True),
        ("91350100M000100Y44", "91350100M000100Y44", False),
        ("91350100M000100Y4A", "91350100M000100Y4A", False),
        ("91110000100000000Y", "91110000100000000Y", False),
    ],
    ids=[
        "known-valid",
        "lowercase",
        "spaces",
        "full-width",
        "digit-body-letter-check",
        "wrong-last-digit",
        "wrong-last-letter",
        "wrong-check-letter",
    ],
)
def test_check_uscc_normalizes_and_reports_checksum(
    raw: str, expected: str, checksum_ok: bool
) -> None:
    assert check_uscc(raw) == (expected, checksum_ok)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "uscc.length"),
        ("91350100M000100Y4", "uscc.length"),
        ("91350100M000100Y433", "uscc.length"),
        ("91350100I000100Y43", "uscc.chars"),
        ("91350100O000100Y43", "uscc.chars"),
        ("91350100Z000100Y43", "uscc.chars"),
        ("91350100S000100Y43", "uscc.chars"),
        ("91350100V000100Y43", "uscc.chars"),
        ("91350100M000100Y4-", "uscc.chars"),
    ],
    ids=[
        "empty",
        "seventeen-chars",
        "nineteen-chars",
        "letter-i",
        "letter-o",
        "letter-z",
        "letter-s",
        "letter-v",
        "punctuation",
    ],
)
def test_check_uscc_rejects_with_code(raw: str, code: str) -> None:
    with pytest.raises(InvalidFormat) as caught:
        check_uscc(raw)
    assert caught.value.code == code


# --- money ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("1234.56", 123456),
        ("1,234.5", 123450),
        ("1,234", 123400),
        ("1,234,567.89", 123456789),
        ("0", 0),
        ("0.01", 1),
        ("0.1", 10),
        ("-1,234.56", -123456),
        ("-0.05", -5),
        ("+5", 500),
        (" 12 ", 1200),
        ("１，２３４．５６", 123456),
        ("99999999999999.99", 9999999999999999),
    ],
    ids=[
        "two-decimals",
        "grouped-one-decimal",
        "grouped-integer",
        "grouped-millions",
        "zero",
        "one-fen",
        "one-jiao",
        "negative-grouped",
        "negative-fen",
        "explicit-plus",
        "surrounding-spaces",
        "full-width",
        "large-without-float-error",
    ],
)
def test_yuan_to_fen_parses_exactly(text: str, fen: int) -> None:
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize(
    "text",
    [
        "1.234",
        "abc",
        "1e3",
        "",
        "   ",
        "NaN",
        "Infinity",
        "1,23",
        "12,34.5",
        "1.",
        ".5",
        "1..2",
        "--1",
        "1 234",
        "\u0661\u0662",
    ],
    ids=[
        "three-decimals",
        "letters",
        "exponent",
        "empty",
        "blank",
        "nan",
        "infinity",
        "short-group",
        "misplaced-comma",
        "trailing-dot",
        "leading-dot",
        "double-dot",
        "double-sign",
        "inner-space",
        "arabic-indic-digits",
    ],
)
def test_yuan_to_fen_rejects_with_money_format(text: str) -> None:
    with pytest.raises(InvalidFormat) as caught:
        yuan_to_fen(text)
    assert caught.value.code == "money.format"


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (123456, "1,234.56"),
        (0, "0.00"),
        (5, "0.05"),
        (10, "0.10"),
        (100, "1.00"),
        (100000000, "1,000,000.00"),
        (-5, "-0.05"),
        (-123456, "-1,234.56"),
    ],
    ids=[
        "grouped",
        "zero",
        "fen",
        "jiao",
        "one-yuan",
        "million",
        "negative-fen",
        "negative-grouped",
    ],
)
def test_fen_to_yuan_formats_with_separators(fen: int, text: str) -> None:
    assert fen_to_yuan(fen) == text


@pytest.mark.parametrize(
    "fen",
    [0, 1, 99, 100, 123456, 100000001, -1, -123456, 9999999999999999],
)
def test_money_round_trips_through_text(fen: int) -> None:
    assert yuan_to_fen(fen_to_yuan(fen)) == fen
