"""Table-driven tests for the questionnaire text format: parsing, errors by line and round trips."""
from __future__ import annotations

import pytest

from crm.domain.questionnaire_text import (
    DEFAULT_QUESTIONNAIRE_PATH,
    ERROR_CODES,
    LineError,
    ParsedOption,
    ParsedQuestion,
    ParsedQuestionnaire,
    QuestionnaireError,
    format_questionnaire,
    load_default_questionnaire,
    parse_questionnaire,
)
from crm.domain.suitability import score_answers

HEADER = "标题: 测试问卷\n分档: 2 3 4 5\n"
GOOD_QUESTION = "1. 您的年龄是？\n- 18-30岁 | 5\n- 65岁以上 | 1 | 最低\n"
SMALL = ParsedQuestionnaire(
    title="测试问卷",
    bands=(2, 3, 4, 5),
    questions=[ParsedQuestion("您的年龄是？", [ParsedOption("18-30岁", 5), ParsedOption("65岁以上", 1, True)])],
)


def errors_of(text: str) -> list[tuple[int, str]]:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(text)
    return [(error.line, error.code) for error in caught.value.errors]


# ---------------------------------------------------------------- the shipped questionnaire

def test_shipped_questionnaire_parses_without_errors() -> None:
    parsed = load_default_questionnaire()
    assert parsed.title == "个人投资者风险承受能力评估问卷"
    assert 10 <= len(parsed.questions) <= 12


def test_shipped_questionnaire_bands_are_reachable_and_every_question_offers_a_choice() -> None:
    parsed = load_default_questionnaire()
    best = sum(max(option.score for option in q.options) for q in parsed.questions)
    worst = sum(min(o.score for o in q.options if not o.lowest_category) for q in parsed.questions)
    assert worst < parsed.bands[0] < parsed.bands[3] <= best
    assert all(len(q.options) >= 2 for q in parsed.questions)


@pytest.mark.parametrize("option_text", ["不能承受任何损失", "否，无完全民事行为能力或为限制民事行为能力人"])
def test_shipped_questionnaire_flags_the_lowest_category_answers(option_text: str) -> None:
    flagged = {o.text for q in load_default_questionnaire().questions for o in q.options if o.lowest_category}
    assert option_text in flagged


def test_shipped_questionnaire_puts_its_top_answers_in_c5_and_a_flagged_answer_in_c1() -> None:
    parsed = load_default_questionnaire()
    top = [max(((o.score, o.lowest_category) for o in q.options), key=lambda pair: (not pair[1], pair[0]))
           for q in parsed.questions]
    assert score_answers(top, parsed.bands).level == 5
    flagged = top[:-1] + [(0, True)]
    assert score_answers(flagged, parsed.bands).level == 1


def test_shipped_questionnaire_round_trips() -> None:
    parsed = load_default_questionnaire()
    assert parse_questionnaire(format_questionnaire(parsed)) == parsed
    assert DEFAULT_QUESTIONNAIRE_PATH.name == "questionnaire_zh.txt"


# ---------------------------------------------------------------- parsing what is allowed

def test_parse_reads_title_bands_questions_options_and_flags() -> None:
    assert parse_questionnaire(HEADER + GOOD_QUESTION) == SMALL


@pytest.mark.parametrize("text", [
    "标题: 测试问卷\n分档: 2 3 4 5\n" + GOOD_QUESTION,
    "标题：测试问卷\n分档：2 3 4 5\n" + GOOD_QUESTION,
    "title: 测试问卷\nbands: 2 3 4 5\n" + GOOD_QUESTION,
    "Title : 测试问卷\nBANDS : 2, 3, 4, 5\n" + GOOD_QUESTION,
    "标题: 测试问卷\n分档: ２ ３ ４ ５\n" + GOOD_QUESTION,
    "标题: 测试问卷\n分档: 2，3，4，5\n" + GOOD_QUESTION,
    "\ufeff标题: 测试问卷\r\n分档: 2 3 4 5\r\n" + GOOD_QUESTION.replace("\n", "\r\n"),
    "# 注释\n\n  标题: 测试问卷  \n   \n分档: 2 3 4 5\n# 又一条注释\n" + GOOD_QUESTION,
    HEADER + "1、您的年龄是？\n- 18-30岁 | 5\n- 65岁以上 | 1 | 最低\n",
    HEADER + "１．您的年龄是？\n－ 18-30岁｜５\n－ 65岁以上｜1｜最低\n",
    HEADER + "7. 您的年龄是？\n-18-30岁|5\n-65岁以上|1|lowest\n",
    HEADER + "1. 您的年龄是？\n- 18-30岁 | 5\n- 65岁以上 | 1 | LOWEST\n",
    GOOD_QUESTION + HEADER,
])
def test_parse_accepts_the_documented_spellings(text: str) -> None:
    assert parse_questionnaire(text) == SMALL


def test_parse_keeps_full_width_punctuation_inside_texts() -> None:
    parsed = parse_questionnaire(HEADER + "1. 您的年龄是（周岁）？\n- 小于30（含） | 5\n- 其他：请说明 | 2\n")
    assert parsed.questions[0].text == "您的年龄是（周岁）？"
    assert [o.text for o in parsed.questions[0].options] == ["小于30（含）", "其他：请说明"]


@pytest.mark.parametrize(("text", "scores"), [
    (HEADER + "1. 问题\n- 甲 | 0\n- 乙 | 5\n", [0, 5]),
    (HEADER + "1. 问题\n- 甲 | 007\n- 乙 | 12\n", [7, 12]),
])
def test_parse_reads_scores_as_non_negative_integers(text: str, scores: list[int]) -> None:
    assert [o.score for o in parse_questionnaire(text).questions[0].options] == scores


# ---------------------------------------------------------------- round trip

@pytest.mark.parametrize("parsed", [
    SMALL,
    ParsedQuestionnaire("问卷 #2", (0, 1, 2, 3), [
        ParsedQuestion("1. 带序号的题干？", [ParsedOption("- 以横线开头", 2), ParsedOption("#井号", 1, True)]),
        ParsedQuestion("标题: 像标题的题干", [ParsedOption("分档: 像分档", 0), ParsedOption("乙", 3)]),
    ]),
])
def test_format_then_parse_gives_an_equal_questionnaire(parsed: ParsedQuestionnaire) -> None:
    assert parse_questionnaire(format_questionnaire(parsed)) == parsed


def test_format_writes_the_documented_layout() -> None:
    assert format_questionnaire(SMALL) == (
        "标题: 测试问卷\n分档: 2 3 4 5\n\n1. 您的年龄是？\n- 18-30岁 | 5\n- 65岁以上 | 1 | 最低\n")


@pytest.mark.parametrize("parsed", [
    ParsedQuestionnaire("", (2, 3, 4, 5), SMALL.questions),
    ParsedQuestionnaire("两行\n标题", (2, 3, 4, 5), SMALL.questions),
    ParsedQuestionnaire("测试", (2, 3, 4, 5), [ParsedQuestion(" 前有空格", SMALL.questions[0].options)]),
    ParsedQuestionnaire("测试", (2, 3, 4, 5), [ParsedQuestion("题", [ParsedOption("甲|乙", 1)])]),
])
def test_format_refuses_texts_the_format_cannot_carry(parsed: ParsedQuestionnaire) -> None:
    with pytest.raises(ValueError):
        format_questionnaire(parsed)


# ---------------------------------------------------------------- one error each, with its line

ERROR_CASES = [
    ("分档: 2 3 4 5\n" + GOOD_QUESTION, [(0, "title.missing")]),
    ("标题:\n分档: 2 3 4 5\n" + GOOD_QUESTION, [(1, "title.missing")]),
    (HEADER + "标题: 又一个\n" + GOOD_QUESTION, [(3, "title.duplicate")]),
    ("标题: " + "长" * 121 + "\n分档: 2 3 4 5\n" + GOOD_QUESTION, [(1, "title.too_long")]),
    ("标题: 测试问卷\n" + GOOD_QUESTION, [(0, "bands.missing")]),
    (HEADER + "分档: 2 3 4 5\n" + GOOD_QUESTION, [(3, "bands.duplicate")]),
    ("标题: 测试问卷\n分档: 2 3 4\n" + GOOD_QUESTION, [(2, "bands.format")]),
    ("标题: 测试问卷\n分档: 2 3 4 5 6\n" + GOOD_QUESTION, [(2, "bands.format")]),
    ("标题: 测试问卷\n分档: 2 3 4 x\n" + GOOD_QUESTION, [(2, "bands.format")]),
    ("标题: 测试问卷\n分档: 2 3 4.5 5\n" + GOOD_QUESTION, [(2, "bands.format")]),
    ("标题: 测试问卷\n分档: -2 3 4 5\n" + GOOD_QUESTION, [(2, "bands.format")]),
    ("标题: 测试问卷\n分档:\n" + GOOD_QUESTION, [(2, "bands.format")]),
    ("标题: 测试问卷\n分档: 2 2 4 5\n" + GOOD_QUESTION, [(2, "bands.order")]),
    ("标题: 测试问卷\n分档: 5 4 3 2\n" + GOOD_QUESTION, [(2, "bands.order")]),
    ("标题: 测试问卷\n分档: 2 3 4 9\n" + GOOD_QUESTION, [(2, "bands.unreachable")]),
    (HEADER, [(0, "questions.missing")]),
    (HEADER + "- 早到的选项 | 1\n" + GOOD_QUESTION, [(3, "option.before_question")]),
    (HEADER + GOOD_QUESTION + "- 只有文字\n", [(6, "option.format")]),
    (HEADER + GOOD_QUESTION + "- | 3\n", [(6, "option.format")]),
    (HEADER + GOOD_QUESTION + "-\n", [(6, "option.format")]),
    (HEADER + GOOD_QUESTION + "- 甲 | 1 | 最低 | 多余\n", [(6, "option.format")]),
    (HEADER + GOOD_QUESTION + "- 甲 | 三\n", [(6, "option.score")]),
    (HEADER + GOOD_QUESTION + "- 甲 | 2.5\n", [(6, "option.score")]),
    (HEADER + GOOD_QUESTION + "- 甲 | -1\n", [(6, "option.score")]),
    (HEADER + GOOD_QUESTION + "- 甲 |\n", [(6, "option.score")]),
    (HEADER + GOOD_QUESTION + "- 甲 | 1 | 最高\n", [(6, "option.flag")]),
    (HEADER + GOOD_QUESTION + "- 甲 | 1 |\n", [(6, "option.flag")]),
    (HEADER + GOOD_QUESTION + "- " + "长" * 201 + " | 1\n", [(6, "option.too_long")]),
    (HEADER + GOOD_QUESTION + "2. 只有一个选项\n- 甲 | 1\n", [(6, "question.no_options")]),
    (HEADER + GOOD_QUESTION + "2. 没有选项\n", [(6, "question.no_options")]),
    (HEADER + "1. " + "长" * 301 + "\n- 甲 | 5\n- 乙 | 1\n", [(3, "question.too_long")]),
    (HEADER + GOOD_QUESTION + "这一行什么都不是\n", [(6, "line.unknown")]),
    (HEADER + GOOD_QUESTION + "备注: 未知的键\n", [(6, "line.unknown")]),
    (HEADER + GOOD_QUESTION + "1.\n", [(6, "line.unknown")]),
]


@pytest.mark.parametrize(("text", "expected"), ERROR_CASES)
def test_each_error_is_reported_with_its_code_and_line(text: str, expected: list[tuple[int, str]]) -> None:
    assert errors_of(text) == expected


def test_texts_at_the_length_limits_are_accepted() -> None:
    text = ("标题: " + "标" * 120 + "\n分档: 2 3 4 5\n1. " + "题" * 300
            + "\n- " + "选" * 200 + " | 5\n- 乙 | 1\n")
    parsed = parse_questionnaire(text)
    assert (len(parsed.title), len(parsed.questions[0].text), len(parsed.questions[0].options[0].text)) == (
        120, 300, 200)


@pytest.mark.parametrize(("text", "code", "params"), [
    (HEADER + GOOD_QUESTION + "- 甲 | 三\n", "option.score", {"value": "三"}),
    (HEADER + GOOD_QUESTION + "- 甲 | 1 | 最高\n", "option.flag", {"value": "最高"}),
    (HEADER + GOOD_QUESTION + "- " + "长" * 201 + " | 1\n", "option.too_long", {"max": "200", "length": "201"}),
    (HEADER + "1. " + "长" * 301 + "\n- 甲 | 5\n- 乙 | 1\n", "question.too_long", {"max": "300", "length": "301"}),
    ("标题: " + "长" * 121 + "\n分档: 2 3 4 5\n" + GOOD_QUESTION, "title.too_long", {"max": "120", "length": "121"}),
    (HEADER + GOOD_QUESTION + "2. 只有一个选项\n- 甲 | 1\n", "question.no_options", {"count": "1"}),
    ("标题: 测试问卷\n分档: 2 3 4 9\n" + GOOD_QUESTION, "bands.unreachable", {"max_score": "5", "c5_min": "9"}),
    ("标题: 测试问卷\n分档: 2 3 4\n" + GOOD_QUESTION, "bands.format", {"value": "2 3 4"}),
    ("标题: 测试问卷\n分档: 5 4 3 2\n" + GOOD_QUESTION, "bands.order", {"value": "5 4 3 2"}),
    (HEADER + "标题: 又一个\n" + GOOD_QUESTION, "title.duplicate", {"first_line": "1"}),
    (HEADER + "分档: 2 3 4 5\n" + GOOD_QUESTION, "bands.duplicate", {"first_line": "2"}),
])
def test_errors_carry_their_parameters_as_strings(text: str, code: str, params: dict[str, str]) -> None:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(text)
    assert caught.value.errors == [LineError(caught.value.errors[0].line, code, params)]


# ---------------------------------------------------------------- several errors at once

def test_every_error_is_reported_together_in_line_order() -> None:
    text = "\n".join([
        "# 有问题的问卷",        # 1
        "- 太早 | 1",            # 2 option.before_question
        "分档: 9 8 7 6",         # 3 bands.order
        "1. 第一题",             # 4 question.no_options (one good option left)
        "- 甲 | x",              # 5 option.score
        "- 乙 | 2",              # 6
        "- 丙 | 1 | 也许",        # 7 option.flag
        "胡乱的一行",             # 8 line.unknown
        "2. 第二题",             # 9 question.no_options
        "分档: 1 2 3 4",         # 10 bands.duplicate
    ])
    assert errors_of(text) == [
        (0, "title.missing"),
        (2, "option.before_question"),
        (3, "bands.order"),
        (4, "question.no_options"),
        (5, "option.score"),
        (7, "option.flag"),
        (8, "line.unknown"),
        (9, "question.no_options"),
        (10, "bands.duplicate"),
    ]


def test_an_empty_text_reports_everything_that_is_missing() -> None:
    assert errors_of("") == [(0, "title.missing"), (0, "bands.missing"), (0, "questions.missing")]


def test_unreadable_options_do_not_also_report_unreachable_bands() -> None:
    text = "标题: 测试问卷\n分档: 2 3 4 99\n1. 题\n- 甲 | 100分\n- 乙 | 1\n- 丙 | 2\n"
    assert errors_of(text) == [(4, "option.score")]


def test_questionnaire_error_is_a_value_error_naming_lines_and_codes() -> None:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire("")
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == "0:title.missing, 0:bands.missing, 0:questions.missing"


def test_every_emitted_error_code_is_listed() -> None:
    emitted = {code for text, _ in ERROR_CASES for _, code in errors_of(text)}
    assert emitted == set(ERROR_CODES)
    assert len(ERROR_CODES) == len(set(ERROR_CODES))
