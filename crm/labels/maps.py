"""The shape of a label map of a stored enum, and WTForms choices built from any label map."""
from __future__ import annotations

import enum
from collections.abc import Mapping

from wtforms.fields.choices import SelectChoice


class EnumLabels(dict):
    """Labels of a stored enum, keyed by its members: a missing member fails tests/test_labels.py.

    StrEnum members hash and compare like their stored text, so `STAGES["active"]` and
    `STAGES[Stage.ACTIVE]` find the same label.
    """

    def __init__(self, of: type[enum.Enum], labels: Mapping):
        super().__init__(labels)
        self.enum = of


def choices(mapping: dict, blank: str | None = None) -> list[SelectChoice]:
    """WTForms choices from a code → label mapping, optionally led by an empty option."""
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(str(code), label) for code, label in mapping.items()]
