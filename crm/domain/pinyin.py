"""Pinyin readings of client names for search and sorting, with surname pronunciations."""
from __future__ import annotations

import re
import unicodedata

from pypinyin import Style, lazy_pinyin

__all__ = ["name_initials", "name_pinyin"]

# pypinyin reads characters by their most common sound, which is wrong for
# these as surnames (曾 is "ceng" in 曾经 but "zeng" as a family name).
_COMPOUND_SURNAMES: dict[str, tuple[str, ...]] = {
    "欧阳": ("ou", "yang"),
    "司马": ("si", "ma"),
    "诸葛": ("zhu", "ge"),
    "上官": ("shang", "guan"),
    "东方": ("dong", "fang"),
    "皇甫": ("huang", "fu"),
    "尉迟": ("yu", "chi"),
    "公孙": ("gong", "sun"),
    "慕容": ("mu", "rong"),
    "长孙": ("zhang", "sun"),
    "夏侯": ("xia", "hou"),
    "轩辕": ("xuan", "yuan"),
    "令狐": ("ling", "hu"),
    "宇文": ("yu", "wen"),
    "万俟": ("mo", "qi"),
}
_SINGLE_SURNAMES: dict[str, str] = {
    "单": "shan",
    "曾": "zeng",
    "仇": "qiu",
    "解": "xie",
    "区": "ou",
    "查": "zha",
    "朴": "piao",
    "盖": "ge",
    "朝": "chao",
    "覃": "qin",
    "乐": "yue",
    "翟": "zhai",
    "缪": "miao",
    "繁": "po",
    "员": "yun",
    "秘": "bi",
}

# Han runs cover the basic block, extension A and the supplementary planes
# where rare name characters live; everything else but latin words is dropped.
_TOKENS = re.compile(
    r"(?P<han>[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]+)|(?P<latin>[A-Za-z]+)"
)


def _syllables(name: str) -> list[str]:
    """Split a name into lowercase pinyin syllables and latin words, in order."""
    text = unicodedata.normalize("NFKC", name or "").strip()
    result: list[str] = []
    for position, match in enumerate(_TOKENS.finditer(text)):
        latin = match.group("latin")
        if latin:
            result.append(latin.lower())
            continue
        han = match.group("han")
        # Only a leading Han run can start with the family name.
        if position == 0 and match.start() == 0:
            if han[:2] in _COMPOUND_SURNAMES:
                result.extend(_COMPOUND_SURNAMES[han[:2]])
                han = han[2:]
            elif han[0] in _SINGLE_SURNAMES:
                result.append(_SINGLE_SURNAMES[han[0]])
                han = han[1:]
        if han:
            # The given name is read on its own so phrase matching cannot
            # glue it to the surname; unknown characters are skipped.
            result.extend(
                syllable.lower()
                for syllable in lazy_pinyin(han, style=Style.NORMAL, errors="ignore")
            )
    return result


def name_initials(name: str) -> str:
    """Return the lowercase pinyin initials of a name: 曾国藩 -> "zgf"."""
    return "".join(syllable[0] for syllable in _syllables(name) if syllable)


def name_pinyin(name: str) -> str:
    """Return the full toneless lowercase pinyin of a name: 张三 -> "zhangsan"."""
    return "".join(_syllables(name))
