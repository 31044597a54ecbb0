"""Forms of the needs profile and the investor type decision."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, NumberRange, Optional, ValidationError

from crm.forms.fields import TEXT, CheckboxesField, OptionalSelectField, blank_choices, max_len
from crm.labels import (
    ASSETS_BANDS,
    CONTACT_CHANNELS,
    GOALS,
    HORIZONS,
    INCOME_BANDS,
    INVESTOR_CRITERIA,
    INVESTOR_TYPES,
    LIQUIDITY_NEEDS,
    PREFERENCES,
    PRODUCT_TYPES,
    choices,
)


def _past_birthday(form, field) -> None:
    if field.data and not (date(1900, 1, 1) <= field.data <= date.today()):
        raise ValidationError(_l("Enter a birthday between 1900 and today."))


class NeedsProfileForm(FlaskForm):
    """Financial situation, experience, goals and preferences of the client."""

    version = HiddenField()
    income_band = OptionalSelectField(_l("Annual income"), choices=blank_choices(INCOME_BANDS))
    assets_band = OptionalSelectField(_l("Investable assets"), choices=blank_choices(ASSETS_BANDS))
    experience_years = IntegerField(_l("Years of investing"), validators=[Optional(), NumberRange(0, 80)],
                                    render_kw={"inputmode": "numeric"})
    product_types = CheckboxesField(_l("Products used"), choices=choices(PRODUCT_TYPES))
    goals = CheckboxesField(_l("Goals"), choices=choices(GOALS))
    horizon = OptionalSelectField(_l("Investment horizon"), choices=blank_choices(HORIZONS))
    liquidity_need = OptionalSelectField(_l("Liquidity needs"), choices=blank_choices(LIQUIDITY_NEEDS))
    preference = OptionalSelectField(_l("Investment preference"), choices=blank_choices(PREFERENCES))
    contact_channel = OptionalSelectField(_l("Preferred contact channel"), choices=blank_choices(CONTACT_CHANNELS))
    contact_time = StringField(_l("Preferred contact time"), filters=TEXT, validators=[Optional(), max_len(60)])
    birthday = DateField(_l("Birthday"), validators=[Optional(), _past_birthday],
                         description=_l("Only when the ID number is not on file or gives another date."))
    notes = TextAreaField(_l("Notes"), filters=TEXT, validators=[Optional(), max_len(4000)])

    def load(self, values: dict) -> None:
        """Fill the form from stored profile values."""
        for name, value in values.items():
            field = getattr(self, name)
            if name in ("product_types", "goals"):
                field.data = [v for v in (value or "").split(",") if v]
            else:
                field.data = value

    def profile_data(self) -> dict:
        """Cleaned values keyed by profile attribute."""
        data = {name: getattr(self, name).data for name in (
            "income_band", "assets_band", "experience_years", "horizon", "liquidity_need", "preference",
            "contact_channel", "birthday")}
        data["product_types"] = ",".join(sorted(self.product_types.data or []))
        data["goals"] = ",".join(sorted(self.goals.data or []))
        data["contact_time"] = self.contact_time.data or ""
        data["notes"] = self.notes.data or ""
        return data


class InvestorTypeForm(FlaskForm):
    """Decide that the client is an ordinary or professional investor, and on what basis."""

    investor_type = SelectField(_l("Investor type"), choices=choices(INVESTOR_TYPES))
    criterion = SelectField(_l("Basis"), choices=choices(INVESTOR_CRITERIA))
    evidence = TextAreaField(_l("Evidence"), filters=TEXT, validators=[DataRequired(), max_len(2000)])
    basis_date = DateField(_l("Date of the evidence"), validators=[DataRequired()])
    recording_ref = StringField(_l("Audio/video recording reference (双录)"), filters=TEXT,
                                validators=[Optional(), max_len(120)])
