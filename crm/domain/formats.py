"""Parse, validate and mask the identifiers and amounts a client record holds."""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from crm.domain.refusals import RuleError

__all__ = [
    "InvalidFormat",
    "normalize_mobile",
    "mask_mobile",
    "validate_id_number",
    "id_birth_date",
    "id_gender",
    "mask_id_number",
    "check_uscc",
    "yuan_to_fen",
    "fen_to_yuan",
]


class InvalidFormat(RuleError, ValueError):
    """A value failed a format rule; `code` names it (its words are in `crm.routes.refusals`).

    Still a ValueError, so callers that parse with `except ValueError` keep working.
    """

    def __init__(self, code: str) -> None:
        super().__init__(code)


def _nfkc(raw: str) -> str:
    # NFKC folds full-width digits, letters, spaces and punctuation typed on
    # Chinese IMEs into their ASCII forms, so later checks can stay ASCII-only.
    return unicodedata.normalize("NFKC", raw or "")


_ASCII_DIGITS = frozenset("0123456789")
_MOBILE_SEPARATORS = re.compile(r"[\s\-.()\u2010-\u2015\u2212]")
_MOBILE_PATTERN = re.compile(r"1[3-9][0-9]{9}")


def normalize_mobile(raw: str) -> str:
    """Return the 11-digit mainland mobile number in `raw` or raise InvalidFormat."""
    text = _MOBILE_SEPARATORS.sub("", _nfkc(raw))
    if not text:
        raise InvalidFormat("mobile.empty")
    explicit_country = text.startswith("+")
    if explicit_country:
        text = text[1:]
    # str.isdigit() would also accept e.g. Arabic-Indic digits, which NFKC keeps.
    if not text or not set(text) <= _ASCII_DIGITS:
        raise InvalidFormat("mobile.chars")
    if explicit_country:
        # Only mainland numbers are in scope; any other country code is wrong.
        if not text.startswith("86"):
            raise InvalidFormat("mobile.prefix")
        text = text[2:]
    elif text.startswith("0086") and len(text) == 15:
        text = text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    if len(text) != 11:
        raise InvalidFormat("mobile.length")
    if not _MOBILE_PATTERN.fullmatch(text):
        raise InvalidFormat("mobile.prefix")
    return text


def _mask_middle(value: str, keep_head: int, keep_tail: int) -> str:
    # Values too short to keep both ends are fully masked rather than leaked.
    if len(value) <= keep_head + keep_tail:
        return "*" * len(value)
    hidden = len(value) - keep_head - keep_tail
    return value[:keep_head] + "*" * hidden + value[len(value) - keep_tail:]


def mask_mobile(mobile: str) -> str:
    """Hide the middle four digits of a mobile number: 138****1234."""
    return _mask_middle(mobile, 3, 4)


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID_PATTERN = re.compile(r"[1-9][0-9]{16}[0-9X]")
_EARLIEST_BIRTH = date(1900, 1, 1)


def _id_check_char(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK_CHARS[total % 11]


def validate_id_number(raw: str, today: date | None = None) -> str:
    """Return the normalized 18-character Resident ID number or raise InvalidFormat."""
    text = re.sub(r"\s", "", _nfkc(raw)).upper()
    if not text:
        raise InvalidFormat("id.empty")
    if len(text) != 18:
        raise InvalidFormat("id.length")
    # A leading 0 is no region code, so it is reported with the other
    # structural faults rather than under a code of its own.
    if not _ID_PATTERN.fullmatch(text):
        raise InvalidFormat("id.chars")
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise InvalidFormat("id.birthdate") from None
    if not _EARLIEST_BIRTH <= born <= (today or date.today()):
        raise InvalidFormat("id.birthdate")
    if _id_check_char(text[:17]) != text[17]:
        raise InvalidFormat("id.checksum")
    return text


def id_birth_date(id_number: str) -> date:
    """Return the birth date encoded in a Resident ID number."""
    text = validate_id_number(id_number)
    return date(int(text[6:10]), int(text[10:12]), int(text[12:14]))


def id_gender(id_number: str) -> str:
    """Return "male" or "female" from the parity of the ID's 17th digit."""
    text = validate_id_number(id_number)
    return "male" if int(text[16]) % 2 else "female"


def mask_id_number(id_number: str) -> str:
    """Hide the birth date of an ID number: 110105********1234."""
    return _mask_middle(id_number, 6, 4)


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {char: index for index, char in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def check_uscc(raw: str) -> tuple[str, bool]:
    """Return the normalized unified social credit code and whether its check char matches."""
    text = re.sub(r"\s", "", _nfkc(raw)).upper()
    if len(text) != 18:
        raise InvalidFormat("uscc.length")
    if any(char not in _USCC_VALUES for char in text):
        raise InvalidFormat("uscc.chars")
    total = sum(_USCC_VALUES[char] * weight for char, weight in zip(text, _USCC_WEIGHTS))
    check = (31 - total % 31) % 31
    # The domain brief treats a mismatch as a warning to show, not a rejection.
    return text, text[17] == _USCC_ALPHABET[check]


# Thousands separators must be well placed so "1,2,3" is not read as 123, and
# [0-9] rather than \d because Decimal also parses digits of other scripts.
_MONEY_PATTERN = re.compile(r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{1,2})?")


def yuan_to_fen(text: str) -> int:
    """Parse a yuan amount such as "1,234.5" into integer fen."""
    cleaned = _nfkc(text).strip()
    # The pattern rules out exponents, NaN, Infinity and a third decimal,
    # which Decimal alone would happily accept.
    if not _MONEY_PATTERN.fullmatch(cleaned):
        raise InvalidFormat("money.format")
    try:
        amount = Decimal(cleaned.replace(",", ""))
    except InvalidOperation:
        raise InvalidFormat("money.format") from None
    return int(amount * 100)


def fen_to_yuan(fen: int) -> str:
    """Format integer fen as yuan with thousands separators: 123456 -> "1,234.56"."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan:,}.{cents:02d}"


# Database ids are INTEGER columns, 32-bit signed on PostgreSQL: anything larger, or not plain ASCII
# digits ("²", "١"), names no record, and must not reach int() or the database driver (SQLite's
# OverflowError beyond 64 bits, PostgreSQL's "integer out of range" beyond 32: a 500 either way).
MAX_ID = 2**31 - 1
_ID_TEXT = re.compile(r"[0-9]{1,19}")


def parse_id(text: object) -> int | None:
    """A record id from a query argument or form value, or None when it cannot name a record."""
    raw = str(text or "").strip()
    if not _ID_TEXT.fullmatch(raw):
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


_COUNT_TEXT = re.compile(r"[0-9]{1,9}")


def parse_count(text: object) -> int | None:
    """A small non-negative integer (a record's version, a page number) from a form or query, or None."""
    raw = str(text or "").strip()
    return int(raw) if _COUNT_TEXT.fullmatch(raw) else None
