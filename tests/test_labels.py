"""Labels: every member of a stored enum has words in both languages, every map a template or the trail
names exists, assembled parts never overlap, and the `label` filter fails loudly in tests."""
from __future__ import annotations

import enum
import inspect
import re
from pathlib import Path

import pytest
from flask_babel import force_locale
from flask_babel.speaklater import LazyString

from crm import labels, models
from crm.domain import cadence
from crm.labels import EnumLabels
from crm.labels import audit as audit_labels
from crm.labels import settings as setting_labels
from crm.models import FollowUpKind, Stage
from crm.routes.helpers import PROFILE_VALUE_LABELS, label
from crm.services import settings

CRM = Path(__file__).resolve().parent.parent / "crm"

# Every map of words in crm.labels (AUDIT_PARAM_LABELS holds names of maps, not words).
MAPS = {name: value for name, value in vars(labels).items()
        if name.isupper() and isinstance(value, dict) and name != "AUDIT_PARAM_LABELS"}
ENUM_MAPS = {name: value for name, value in MAPS.items() if isinstance(value, EnumLabels)}
STORED_ENUMS = [value for value in vars(models).values()
                if inspect.isclass(value) and issubclass(value, enum.StrEnum) and value is not enum.StrEnum]
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def test_every_stored_enum_has_a_label_map():
    labelled = {mapping.enum for mapping in ENUM_MAPS.values()}
    missing = [e.__name__ for e in STORED_ENUMS if e not in labelled]
    assert len(STORED_ENUMS) >= 17
    assert not missing, f"stored enums without an EnumLabels map in crm/labels/: {missing}"


@pytest.mark.parametrize("name", sorted(ENUM_MAPS))
def test_every_member_of_the_enum_has_a_label(name):
    mapping = ENUM_MAPS[name]
    missing = [member.value for member in mapping.enum if member not in mapping]
    assert not missing, f"crm.labels.{name} has no label for {mapping.enum.__name__} {missing}"


@pytest.mark.parametrize("name", sorted(ENUM_MAPS))
def test_every_key_of_an_enum_map_is_a_member_of_its_enum(name):
    mapping = ENUM_MAPS[name]
    strangers = [key for key in mapping if not isinstance(key, mapping.enum)]
    assert not strangers, f"crm.labels.{name} keys that are not {mapping.enum.__name__} members: {strangers}"


def test_a_member_and_its_stored_text_find_the_same_label():
    assert labels.STAGES["active"] is labels.STAGES[Stage.ACTIVE]
    assert "plan_item" in labels.FOLLOWUP_KINDS and FollowUpKind.PLAN_ITEM in labels.FOLLOWUP_KINDS


def test_every_label_reads_in_chinese(app):
    """A `_l` label with words has a Chinese text of its own; a plain str (Chrome, English) is the same on purpose."""
    untranslated = []
    for name, mapping in MAPS.items():
        for code, text in mapping.items():
            if not isinstance(text, LazyString):
                assert isinstance(text, str), f"crm.labels.{name}[{code!r}] is neither words nor a lazy label"
                continue
            with force_locale("en"):
                english = str(text)
            with force_locale("zh_CN"):
                chinese = str(text)
            if re.search(r"[A-Za-z]", PLACEHOLDER.sub("", english)) and chinese == english:
                untranslated.append(f"{name}[{code!r}]: {english}")
    assert not untranslated, "labels without a Chinese text:\n" + "\n".join(untranslated)


def _named_in_templates() -> dict[str, str]:
    found = {}
    for path in sorted((CRM / "templates").rglob("*")):
        if path.suffix not in (".html", ".txt"):
            continue
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"\|\s*label\(\s*(['\"])(\w+)\1|\blabels\.([A-Z][A-Z_]+)", text):
            found.setdefault(match.group(2) or match.group(3), str(path.relative_to(CRM)))
    return found


def _named_in_code() -> dict[str, str]:
    found = {}
    for path in sorted(CRM.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"\blabel\((?:[^()]|\([^()]*\))*?,\s*(['\"])(\w+)\1\s*\)", text):
            found.setdefault(match.group(2), str(path.relative_to(CRM)))
    for where, names in (("crm.routes.helpers.PROFILE_VALUE_LABELS", PROFILE_VALUE_LABELS.values()),
                         ("crm.labels.AUDIT_PARAM_LABELS", labels.AUDIT_PARAM_LABELS.values())):
        for name in names:
            found.setdefault(name, where)
    return found


def test_the_scans_find_the_label_maps_in_use():
    assert len(_named_in_templates()) >= 30 and {"STAGES", "FOLLOWUP_KINDS", "AUDIT_ACTIONS"} <= set(
        _named_in_templates())
    assert {"FLAG_REASONS", "FLAG_KINDS", "COMPLAINT_STATUSES", "INCOME_BANDS", "SETTING_NAMES"} <= set(
        _named_in_code())


def test_every_map_a_template_or_the_code_names_exists():
    named = {**_named_in_code(), **_named_in_templates()}
    unknown = [f"{where}: {name}" for name, where in sorted(named.items()) if name not in MAPS]
    assert not unknown, "label maps that crm.labels does not have:\n" + "\n".join(unknown)


@pytest.mark.parametrize("assembled, part", [
    (labels.AUDIT_ACTIONS, "ACTIONS"), (labels.AUDIT_DETAILS, "DETAILS"), (labels.AUDIT_PARAM_LABELS, "PARAM_MAPS"),
])
def test_no_two_features_declare_the_same_audit_code(assembled, part):
    parts = [*audit_labels.FEATURES, audit_labels]
    assert sum(len(getattr(feature, part, {})) for feature in parts) == len(assembled)


def test_every_audit_details_template_belongs_to_a_labelled_action():
    assert set(labels.AUDIT_DETAILS) <= set(labels.AUDIT_ACTIONS)


def test_every_setting_has_a_name_and_no_feature_names_it_twice():
    features = setting_labels.FEATURES
    assert sum(len(feature.SETTINGS) for feature in features) == len(setting_labels.SETTING_NAMES)
    assert set(labels.SETTING_NAMES) == set(settings.SPECS)


def test_the_holiday_labels_name_the_holidays_the_cadence_knows():
    assert list(labels.HOLIDAYS) == list(cadence.HOLIDAYS)


# ---------------------------------------------------------------- the label filter

def test_the_filter_gives_the_label_in_the_reader_s_language(app):
    with force_locale("zh_CN"):
        assert label(Stage.ACTIVE, "STAGES") == label("active", "STAGES") == "活跃"
        assert label(3, "LEVEL_NAMES") == label("3", "LEVEL_NAMES") == "C3 稳健型"
    assert label(None, "STAGES") == label("", "STAGES") == ""


@pytest.mark.parametrize("name", ["STAGE", "stages", "choices", "EnumLabels", "clients", "AUDIT_PARAM_LABEL"])
def test_a_name_that_is_no_label_map_fails_even_for_an_empty_code(app, name):
    with pytest.raises(LookupError):
        label("active", name)
    with pytest.raises(LookupError):
        label("", name)


def test_a_stored_code_without_a_label_fails_in_tests(app):
    with pytest.raises(LookupError, match="Stage"):
        label("retired", "STAGES")


def test_a_stored_code_without_a_label_shows_as_itself_in_production(app, monkeypatch):
    monkeypatch.setattr(app, "testing", False)
    monkeypatch.setattr(app, "debug", False)
    assert label("retired", "STAGES") == "retired"


def test_a_code_of_a_map_without_an_enum_shows_as_itself(app):
    assert label("someday", "FLAG_REASONS") == "someday"


def test_a_template_naming_an_unknown_map_fails_to_render(app):
    with app.test_request_context(), pytest.raises(LookupError):
        app.jinja_env.from_string("{{ 'active'|label('STAGE') }}").render()


def test_the_audit_action_filter_lists_each_kind_of_record_together():
    # Compliance picks an action from one list: the actions of a record kind (client.*, plan.*) sit
    # together, in the order the features are assembled, not scattered by the order they were added.
    from crm.services import audit

    codes = audit.action_codes()
    assert sorted(codes) == sorted(labels.AUDIT_ACTIONS)
    kinds = [code.split(".")[0] for code in codes]
    seen_then_left = [kind for i, kind in enumerate(kinds) if kind in kinds[:i] and kinds[i - 1] != kind]
    assert not seen_then_left, seen_then_left
