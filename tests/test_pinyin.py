"""Table-driven tests for pinyin initials and full pinyin of client names."""
from __future__ import annotations

import re

import pytest

from crm.domain.pinyin import name_initials, name_pinyin

COMPOUND_SURNAMES = [
    ("欧阳修", "oyx", "ouyangxiu"),
    ("司马光", "smg", "simaguang"),
    ("诸葛亮", "zgl", "zhugeliang"),
    ("上官婉儿", "sgwe", "shangguanwaner"),
    ("东方朔", "dfs", "dongfangshuo"),
    ("皇甫嵩", "hfs", "huangfusong"),
    ("尉迟恭", "ycg", "yuchigong"),
    ("公孙策", "gsc", "gongsunce"),
    ("慕容复", "mrf", "murongfu"),
    ("长孙无忌", "zswj", "zhangsunwuji"),
    ("夏侯惇", "xhd", "xiahoudun"),
    ("轩辕明", "xym", "xuanyuanming"),
    ("令狐冲", "lhc", "linghuchong"),
    ("宇文泰", "ywt", "yuwentai"),
    ("万俟卨", "mqx", "moqixie"),
]

POLYPHONIC_SURNAMES = [
    ("单田芳", "stf", "shantianfang"),
    ("曾国藩", "zgf", "zengguofan"),
    ("仇英", "qy", "qiuying"),
    ("解缙", "xj", "xiejin"),
    ("区明", "om", "ouming"),
    ("查良镛", "zly", "zhaliangyong"),
    ("朴明", "pm", "piaoming"),
    ("盖明", "gm", "geming"),
    ("朝明", "cm", "chaoming"),
    ("覃明", "qm", "qinming"),
    ("乐明", "ym", "yueming"),
    ("翟明", "zm", "zhaiming"),
    ("缪明", "mm", "miaoming"),
    ("繁明", "pm", "poming"),
    ("员明", "ym", "yunming"),
    ("秘明", "bm", "biming"),
]

ORDINARY_NAMES = [
    ("张三", "zs", "zhangsan"),
    ("王小明", "wxm", "wangxiaoming"),
    ("吕布", "lb", "lvbu"),
    ("李", "l", "li"),
    ("  陈一 ", "cy", "chenyi"),
]

LATIN_AND_MIXED = [
    ("Li Lei", "ll", "lilei"),
    ("JOHN SMITH", "js", "johnsmith"),
    ("ＬＩ\u3000Ｌｅｉ", "ll", "lilei"),
    ("王 Ann-Marie", "wam", "wangannmarie"),
    ("张三3号", "zsh", "zhangsanhao"),
    ("李四（VIP）", "lsv", "lisivip"),
    ("阿沛·阿旺晋美", "apawjm", "apeiawangjinmei"),
    ("007", "", ""),
    ("", "", ""),
]

ALL_NAMES = COMPOUND_SURNAMES + POLYPHONIC_SURNAMES + ORDINARY_NAMES + LATIN_AND_MIXED


def _initials(rows: list[tuple[str, str, str]]) -> list[object]:
    return [pytest.param(name, initials, id=full or "empty") for name, initials, full in rows]


def _full(rows: list[tuple[str, str, str]]) -> list[object]:
    return [pytest.param(name, full, id=full or "empty") for name, _, full in rows]


@pytest.mark.parametrize(("name", "initials"), _initials(COMPOUND_SURNAMES))
def test_name_initials_read_compound_surnames_as_surnames(name: str, initials: str) -> None:
    assert name_initials(name) == initials


@pytest.mark.parametrize(("name", "full"), _full(COMPOUND_SURNAMES))
def test_name_pinyin_reads_compound_surnames_as_surnames(name: str, full: str) -> None:
    assert name_pinyin(name) == full


@pytest.mark.parametrize(("name", "initials"), _initials(POLYPHONIC_SURNAMES))
def test_name_initials_use_surname_reading_of_polyphonic_surnames(
    name: str, initials: str
) -> None:
    assert name_initials(name) == initials


@pytest.mark.parametrize(("name", "full"), _full(POLYPHONIC_SURNAMES))
def test_name_pinyin_uses_surname_reading_of_polyphonic_surnames(name: str, full: str) -> None:
    assert name_pinyin(name) == full


@pytest.mark.parametrize(("name", "initials"), _initials(ORDINARY_NAMES))
def test_name_initials_take_first_letter_of_each_syllable(name: str, initials: str) -> None:
    assert name_initials(name) == initials


@pytest.mark.parametrize(("name", "full"), _full(ORDINARY_NAMES))
def test_name_pinyin_joins_toneless_syllables(name: str, full: str) -> None:
    assert name_pinyin(name) == full


@pytest.mark.parametrize(("name", "initials"), _initials(LATIN_AND_MIXED))
def test_name_initials_keep_latin_word_initials_and_drop_digits_and_punctuation(
    name: str, initials: str
) -> None:
    assert name_initials(name) == initials


@pytest.mark.parametrize(("name", "full"), _full(LATIN_AND_MIXED))
def test_name_pinyin_keeps_latin_words_and_drops_digits_and_punctuation(
    name: str, full: str
) -> None:
    assert name_pinyin(name) == full


@pytest.mark.parametrize(
    ("name", "full"),
    [("李单", "lidan"), ("王曾经", "wangcengjing")],
    ids=["single-char", "inside-phrase"],
)
def test_name_pinyin_applies_surname_reading_only_to_the_first_character(
    name: str, full: str
) -> None:
    assert name_pinyin(name) == full


@pytest.mark.parametrize(("name", "_full"), _full(ALL_NAMES))
def test_name_readings_are_lowercase_ascii_only(name: str, _full: str) -> None:
    assert re.fullmatch(r"[a-z]*", name_initials(name))
    assert re.fullmatch(r"[a-z]*", name_pinyin(name))
