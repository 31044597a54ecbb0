"""Parse and format the plain-text form in which admins write a risk questionnaire version."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from crm.domain.refusals import LineError, RuleError

__all__ = [
    "TITLE_MAX",
    "QUESTION_MAX",
    "OPTION_MAX",
    "ERROR_CODES",
    "DEFAULT_QUESTIONNAIRE_PATH",
    "ParsedOption",
    "ParsedQuestion",
    "ParsedQuestionnaire",
    "LineError",
    "QuestionnaireError",
    "parse_questionnaire",
    "format_questionnaire",
    "load_default_questionnaire",
]

# The column sizes of Questionnaire.title, Question.text and QuestionOption.text.
TITLE_MAX = 120
QUESTION_MAX = 300
OPTION_MAX = 200

ERROR_CODES: tuple[str, ...] = (
    "title.missing",
    "title.duplicate",
    "title.too_long",
    "bands.missing",
    "bands.duplicate",
    "bands.format",
    "bands.order",
    "bands.unreachable",
    "questions.missing",
    "question.no_options",
    "question.too_long",
    "option.before_question",
    "option.format",
    "option.score",
    "option.flag",
    "option.too_long",
    "line.unknown",
)

DEFAULT_QUESTIONNAIRE_PATH = Path(__file__).resolve().parent.parent / "data" / "questionnaire_zh.txt"

_TITLE_KEYS = frozenset({"标题", "title"})
_BANDS_KEYS = frozenset({"分档", "bands"})
_LOWEST_FLAGS = frozenset({"最低", "lowest"})
_LOWEST_FLAG_OUT = "最低"

_QUESTION = re.compile(r"([0-9０-９]+)\s*[.．、]\s*(?P<text>.+)")
_OPTION_DASHES = ("-", "－")
_COLUMN_SEPARATOR = re.compile(r"[|｜]")
_KEY_VALUE = re.compile(r"(?P<key>[^:：]+?)\s*[:：]\s*(?P<value>.*)")
_BAND_SEPARATORS = re.compile(r"[\s,;/、]+")
_NUMBER = re.compile(r"[0-9]+")


@dataclass
class ParsedOption:
    """An answer option: its text, its score and whether it puts the investor in the lowest category."""

    text: str
    score: int
    lowest_category: bool = False


@dataclass
class ParsedQuestion:
    """A question and its options, in order."""

    text: str
    options: list[ParsedOption] = field(default_factory=list)


@dataclass
class ParsedQuestionnaire:
    """A questionnaire version: title, minimum scores of C2..C5 and the questions in order."""

    title: str
    bands: tuple[int, int, int, int]
    questions: list[ParsedQuestion] = field(default_factory=list)


class QuestionnaireError(RuleError, ValueError):
    """The text is not a valid questionnaire; `errors` (and `all`) list every problem found, by line."""

    def __init__(self, errors: list[LineError]) -> None:
        first = errors[0]
        super().__init__(first.code, None, **first.params)
        self.args = (", ".join(f"{error.line}:{error.code}" for error in errors),)
        self.errors = errors
        self.all = tuple(errors)


def _nfkc(raw: str) -> str:
    # Folds full-width digits, letters and punctuation typed on Chinese IMEs.
    return unicodedata.normalize("NFKC", raw)


def _too_long(text: str, limit: int) -> dict[str, str] | None:
    if len(text) <= limit:
        return None
    return {"max": str(limit), "length": str(len(text))}


def _parse_bands(value: str) -> tuple[tuple[int, int, int, int] | None, str | None]:
    tokens = [token for token in _BAND_SEPARATORS.split(_nfkc(value)) if token]
    if len(tokens) != 4 or not all(_NUMBER.fullmatch(token) for token in tokens):
        return None, "bands.format"
    c2, c3, c4, c5 = (int(token) for token in tokens)
    if not c2 < c3 < c4 < c5:
        return None, "bands.order"
    return (c2, c3, c4, c5), None


class _Parser:
    """Reads the text line by line, keeping every error rather than stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[LineError] = []
        self.title: str | None = None
        self.title_line = 0
        self.bands: tuple[int, int, int, int] | None = None
        self.bands_line = 0
        self.questions: list[ParsedQuestion] = []
        self.question_lines: list[int] = []
        # A question with an unreadable option has an unknown maximum score.
        self.options_broken = False

    def error(self, line: int, code: str, **params: str) -> None:
        self.errors.append(LineError(line, code, params))

    def feed(self, number: int, raw: str) -> None:
        line = raw.strip()
        if not line or line.startswith("#"):
            return
        if line.startswith(_OPTION_DASHES):
            self.read_option(number, line[1:].strip())
            return
        question = _QUESTION.fullmatch(line)
        if question:
            self.read_question(number, question["text"].strip())
            return
        key_value = _KEY_VALUE.fullmatch(line)
        key = _nfkc(key_value["key"]).casefold() if key_value else ""
        if key_value and key in _TITLE_KEYS:
            self.read_title(number, key_value["value"].strip())
        elif key_value and key in _BANDS_KEYS:
            self.read_bands(number, key_value["value"])
        else:
            self.error(number, "line.unknown")

    def read_title(self, number: int, value: str) -> None:
        if self.title_line:
            self.error(number, "title.duplicate", first_line=str(self.title_line))
            return
        self.title_line = number
        if not value:
            self.error(number, "title.missing")
            return
        self.title = value
        too_long = _too_long(value, TITLE_MAX)
        if too_long:
            self.error(number, "title.too_long", **too_long)

    def read_bands(self, number: int, value: str) -> None:
        if self.bands_line:
            self.error(number, "bands.duplicate", first_line=str(self.bands_line))
            return
        self.bands_line = number
        bands, problem = _parse_bands(value)
        if problem:
            self.error(number, problem, value=value.strip())
        self.bands = bands

    def read_question(self, number: int, text: str) -> None:
        self.questions.append(ParsedQuestion(text))
        self.question_lines.append(number)
        too_long = _too_long(text, QUESTION_MAX)
        if too_long:
            self.error(number, "question.too_long", **too_long)

    def read_option(self, number: int, body: str) -> None:
        if not self.questions:
            self.error(number, "option.before_question")
            return
        columns = [column.strip() for column in _COLUMN_SEPARATOR.split(body)]
        if len(columns) not in (2, 3) or not columns[0]:
            self.error(number, "option.format")
            self.options_broken = True
            return
        text, raw_score = columns[0], columns[1]
        score = _nfkc(raw_score)
        ok = True
        if not _NUMBER.fullmatch(score):
            self.error(number, "option.score", value=raw_score)
            ok = False
        lowest = False
        if len(columns) == 3:
            lowest = _nfkc(columns[2]).casefold() in _LOWEST_FLAGS
            if not lowest:
                self.error(number, "option.flag", value=columns[2])
                ok = False
        too_long = _too_long(text, OPTION_MAX)
        if too_long:
            self.error(number, "option.too_long", **too_long)
        if not ok:
            self.options_broken = True
            return
        self.questions[-1].options.append(ParsedOption(text, int(score), lowest))

    def finish(self) -> ParsedQuestionnaire:
        if not self.title_line:
            self.error(0, "title.missing")
        if not self.bands_line:
            self.error(0, "bands.missing")
        if not self.questions:
            self.error(0, "questions.missing")
        for question, number in zip(self.questions, self.question_lines):
            if len(question.options) < 2:
                self.error(number, "question.no_options", count=str(len(question.options)))
        if self.bands is not None and self.questions and not self.options_broken:
            best = sum(max((option.score for option in q.options), default=0) for q in self.questions)
            if best < self.bands[3]:
                self.error(self.bands_line, "bands.unreachable", max_score=str(best), c5_min=str(self.bands[3]))
        if self.errors:
            raise QuestionnaireError(sorted(self.errors, key=lambda error: error.line))
        assert self.title is not None and self.bands is not None
        return ParsedQuestionnaire(self.title, self.bands, self.questions)


def parse_questionnaire(text: str) -> ParsedQuestionnaire:
    """Parse a questionnaire written in the text format, or raise QuestionnaireError with every error."""
    parser = _Parser()
    text = text.removeprefix("\ufeff")  # Windows Notepad saves UTF-8 with a BOM.
    # Only real line breaks count, so line numbers match what the admin's editor shows.
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        parser.feed(number, raw)
    return parser.finish()


def _single_line(text: str, what: str, separators: bool = False) -> str:
    if text != text.strip() or not text or "\n" in text or "\r" in text:
        raise ValueError(f"{what} must be non-empty single-line text without surrounding spaces: {text!r}")
    if separators and _COLUMN_SEPARATOR.search(text):
        raise ValueError(f"{what} must not contain a column separator: {text!r}")
    return text


def format_questionnaire(parsed: ParsedQuestionnaire) -> str:
    """Write a questionnaire in the text format; parsing the result gives an equal object back."""
    lines = [
        f"标题: {_single_line(parsed.title, 'title')}",
        "分档: " + " ".join(str(band) for band in parsed.bands),
    ]
    for number, question in enumerate(parsed.questions, start=1):
        lines += ["", f"{number}. {_single_line(question.text, 'question')}"]
        for option in question.options:
            line = f"- {_single_line(option.text, 'option', separators=True)} | {option.score}"
            if option.lowest_category:
                line += f" | {_LOWEST_FLAG_OUT}"
            lines.append(line)
    return "\n".join(lines) + "\n"


def load_default_questionnaire() -> ParsedQuestionnaire:
    """Parse the default Chinese questionnaire shipped as seed data."""
    return parse_questionnaire(DEFAULT_QUESTIONNAIRE_PATH.read_text(encoding="utf-8"))
