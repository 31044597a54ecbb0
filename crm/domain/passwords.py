"""Password rules: what makes a new password too weak to accept (finding 5 of the audit, issue 11).

A pure function of the password and whose it is; no database, no request. The rules:

- at least 12 characters, kept exactly as typed (nothing strips a password anywhere), but never
  starting or ending with whitespace, nor all whitespace: a phone keyboard's trailing space would
  otherwise make a password nobody can type again;
- not the username or the display name (its pinyin for a Chinese name), nor a close variant: any
  case, digits or punctuation before or after, reversed, common substitutions (p@ssw0rd), or mostly
  the same letters;
- not one character repeated, a short unit repeated (abababab…), only two or three different
  characters, nor made only of simple sequences (1234…, abcd…, keyboard rows and columns such as
  qwertyuiop[] or 1qaz2wsx3edc);
- not in the common-password list shipped in crm/data (Django's, plus a few Chinese-typical ones),
  also once digits and punctuation around a word are taken off (woaini1314520, Password2024!).

The list is read once, lazily, on the first check: importing the app does not load it.
"""
from __future__ import annotations

import enum
import gzip
import unicodedata
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path

from crm.domain.pinyin import name_pinyin

MIN_LENGTH = 12

DATA = Path(__file__).resolve().parent.parent / "data"
COMMON_LISTS = (DATA / "common-passwords.txt.gz", DATA / "common-passwords-zh.txt")


class Problem(enum.StrEnum):
    """Why a password is refused; the forms turn each into a message."""

    SPACE = "space"              # all whitespace, or whitespace at either end
    TOO_SHORT = "too_short"
    LIKE_NAME = "like_name"      # the username or display name, or close to them
    PATTERN = "pattern"          # repeated characters or simple sequences
    COMMON = "common"            # on the shipped list of common passwords


# Substitutions people make for letters; "1" stands for both i and l, so both readings are tried.
_LEET = [str.maketrans("0134@5$7!|+8", "oieaasstiltb"), str.maketrans("0134@5$7!|+8", "oleaasstiltb")]

# Strings whose substrings are "simple sequences": digits wrap (…7890123…), keyboard rows, columns.
_SEQUENCES = (
    "0123456789" * 3,
    "02468" * 6,
    "13579" * 6,
    "abcdefghijklmnopqrstuvwxyz",
    "`1234567890-=",
    "~!@#$%^&*()_+",
    "qwertyuiop[]\\",
    "qwertyuiop{}|",
    "asdfghjkl;'",
    'asdfghjkl:"',
    "zxcvbnm,./",
    "zxcvbnm<>?",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/-['=]",
    "zaq1xsw2cde3vfr4bgt5nhy6mju7,ki8.lo9/;p0",
    "!qaz@wsx#edc$rfv%tgb^yhn&ujm*ik<(ol>)p:?",
    "qazwsxedcrfvtgbyhnujmikolp",
    "1q2w3e4r5t6y7u8i9o0p",
    "q1w2e3r4t5y6u7i8o9p0",
    "1a2b3c4d5e6f7g8h9i0j",
    "a1b2c3d4e5f6g7h8i9j0",
)
_SEQUENCES_BOTH_WAYS = _SEQUENCES + tuple(s[::-1] for s in _SEQUENCES)
_LONGEST_SEQUENCE = max(len(s) for s in _SEQUENCES)
_MIN_RUN = 3
_MAX_REPEATED_UNIT = 6
_SIMILAR = 0.7


def password_problems(password: str, username: str = "", display_name: str = "") -> list[Problem]:
    """Every rule this password breaks, most basic first; an empty list means it is accepted."""
    problems = []
    if not password.strip() or password != password.strip():
        problems.append(Problem.SPACE)
    if len(password) < MIN_LENGTH:
        problems.append(Problem.TOO_SHORT)
    text = _fold(password)
    if not text:
        return problems
    if is_like_name(text, username, display_name):
        problems.append(Problem.LIKE_NAME)
    if is_pattern(text) or is_pattern(password.lower()):  # folding can spread one character (ﷺ) into many
        problems.append(Problem.PATTERN)
    if is_common(text):
        problems.append(Problem.COMMON)
    return problems


def _fold(text: str) -> str:
    """Compare case-insensitively and width-insensitively (full-width digits are digits)."""
    return unicodedata.normalize("NFKC", text or "").strip().lower()


def _core(text: str) -> str:
    """The word inside: digits, punctuation and spaces taken off both ends (woaini1314 → woaini)."""
    start, end = 0, len(text)
    while start < end and not text[start].isalpha():
        start += 1
    while end > start and not text[end - 1].isalpha():
        end -= 1
    return text[start:end]


def _unit(text: str) -> str:
    """What a password repeats when it is one piece typed over and over (abcdabcd → abcd), else itself."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text == text[:size] * (len(text) // size):
            return text[:size]
    return text


def _readings(text: str) -> set[str]:
    """The password as it may be meant: as typed, its core, the piece it repeats, and with substitutions undone."""
    found = {text}
    for _ in range(2):
        found |= {_core(form) for form in found} | {_unit(form) for form in found}
    for table in _LEET:
        found |= {_core(form.translate(table)) for form in found} | {form.translate(table) for form in found}
    found.discard("")
    return found


def _name_forms(name: str) -> set[str]:
    """A name as a password might use it: as is, letters only, and reversed."""
    name = _fold(name)
    letters = "".join(ch for ch in name if ch.isalpha())
    forms = {name, letters}
    forms |= {form[::-1] for form in forms}
    forms.discard("")
    return forms


def is_like_name(text: str, username: str, display_name: str = "") -> bool:
    """The folded password is the username or display name (or its pinyin), or close to one."""
    names: set[str] = set()
    for name in (username, display_name, name_pinyin(display_name or "")):
        names |= _name_forms(name)
    if not names:
        return False
    readings = _readings(text) | _readings(text[::-1])
    if readings & names:
        return True
    return any(len(name) >= 4 and SequenceMatcher(None, reading, name).ratio() >= _SIMILAR
               for reading in readings for name in names)


def _is_run(piece: str) -> bool:
    """One character repeated, or a stretch of a sequence (either way)."""
    if len(set(piece)) == 1:
        return True
    return any(piece in sequence for sequence in _SEQUENCES_BOTH_WAYS)


def _repeats_a_short_unit(text: str) -> bool:
    for size in range(1, _MAX_REPEATED_UNIT + 1):
        if len(text) >= 2 * size and text == (text[:size] * (len(text) // size + 1))[:len(text)]:
            return True
    return False


def _only_runs(text: str) -> bool:
    """The text splits into runs of at least three characters each (1234qwer, abcd9876, aaaa1234)."""
    n = len(text)
    covered = [False] * (n + 1)
    covered[n] = True
    for start in range(n - 1, -1, -1):
        for end in range(start + _MIN_RUN, n + 1):
            if not _is_run(text[start:end]):
                break  # a longer piece that holds this one is no run either
            if covered[end]:
                covered[start] = True
                break
    return covered[0]


def is_pattern(text: str) -> bool:
    """The folded password is made of repeated characters or simple sequences."""
    return len(set(text)) <= 3 or _repeats_a_short_unit(text) or _only_runs(text)


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lowercase; read on first use only."""
    words: set[str] = set()
    django, *ours = COMMON_LISTS
    with gzip.open(django, "rt", encoding="utf-8") as lines:
        words.update(line.strip().lower() for line in lines)
    for path in ours:  # ours may have comment lines; Django's has passwords starting with #
        with path.open(encoding="utf-8") as lines:
            words.update(line.strip().lower() for line in lines if not line.startswith("#"))
    words.discard("")
    return frozenset(words)


def is_common(text: str) -> bool:
    """The folded password, or the word inside it, is on the list of common passwords."""
    common = common_passwords()
    return any(reading in common for reading in _readings(text))
