"""Field helpers shared by every form: text cleaning, optional selects, domain format checks."""
from __future__ import annotations

import unicodedata
from datetime import datetime, timezone

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SelectMultipleField, ValidationError, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from crm.domain.clock import SHANGHAI
from crm.domain.formats import InvalidFormat, normalize_mobile, validate_id_number
from crm.labels import choices
from crm.routes.refusals import text


def clean_text(value: object) -> object:
    """Strip surrounding space and drop control characters a database would refuse (NUL)."""
    if not isinstance(value, str):
        return value
    kept = "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
    return kept.strip()


TEXT = [clean_text]


def max_len(n: int) -> Length:
    """A length limit whose message WTForms translates."""
    return Length(max=n)


def blank_choices(mapping: dict, blank_label: str = "—") -> list[SelectChoice]:
    """Choices with a leading empty option for optional selects."""
    return choices(mapping, blank=blank_label)


class OptionalSelectField(SelectField):
    """A select whose empty option means None."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validators", [Optional()])
        kwargs.setdefault("validate_choice", True)
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):  # noqa: D102
        super().process_formdata(valuelist)
        if self.data == "":
            self.data = None

    def pre_validate(self, form):  # noqa: D102
        if self.data is None:
            return
        super().pre_validate(form)




def to_utc(local: datetime) -> datetime:
    """A naive Shanghai wall-clock time from a form as an aware UTC datetime."""
    return local.replace(tzinfo=SHANGHAI).astimezone(timezone.utc)


def realistic_date(form, field) -> None:
    """A date between 2000 and 2100 (a typo like 0202 or 20255 gets a clear message)."""
    if field.data and not (2000 <= field.data.year <= 2100):
        raise ValidationError(_l("Enter a realistic date."))


class CheckboxesField(SelectMultipleField):
    """Several choices as big checkboxes, stored comma-separated."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class MobileCheck:
    """Validate a mainland mobile number and replace the field data with the normalized digits."""

    def __call__(self, form, field):
        try:
            field.data = normalize_mobile(field.data or "")
        except InvalidFormat as refusal:
            raise ValidationError(text(refusal)) from None


class IdNumberCheck:
    """Validate an optional resident ID number and keep it normalized."""

    def __call__(self, form, field):
        if not field.data:
            field.data = None
            return
        try:
            field.data = validate_id_number(field.data)
        except InvalidFormat as refusal:
            raise ValidationError(text(refusal)) from None
