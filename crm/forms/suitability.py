"""Forms of products, recommendations, questionnaires and settings."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional, Regexp

from crm.forms.fields import SHANGHAI, TEXT, OptionalSelectField, blank_choices, max_len, to_utc
from crm.labels import CONFIRMATION_METHODS, PRODUCT_KINDS, RISK_NAMES, choices


class ProductForm(FlaskForm):
    """A product and its risk rating."""

    code = StringField(_l("Product code"), filters=TEXT, validators=[
        DataRequired(), max_len(40), Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Use letters and digits."))])
    name = StringField(_l("Product name"), filters=TEXT, validators=[DataRequired(), max_len(120)])
    kind = SelectField(_l("Type"), choices=choices(PRODUCT_KINDS))
    issuer = StringField(_l("Issuer"), filters=TEXT, validators=[Optional(), max_len(120)])
    risk = SelectField(_l("Risk rating"), choices=choices(RISK_NAMES), coerce=int)
    active = BooleanField(_l("Offered"), default=True)


class RecommendationForm(FlaskForm):
    """Recommend a product; a mismatch needs the special warning and the client's confirmation."""

    token = HiddenField()
    product_id = SelectField(_l("Product"), choices=[], coerce=str)
    warning_given = BooleanField(_l("I gave the client the special risk warning (特别风险警示书)"))
    confirmation_method = OptionalSelectField(_l("How the client confirmed"),
                                              choices=blank_choices(CONFIRMATION_METHODS))
    confirmation_ref = StringField(_l("Form number or recording reference"), filters=TEXT,
                                   validators=[Optional(), max_len(120)])
    confirmed_at = DateTimeLocalField(_l("When the client confirmed"), format=["%Y-%m-%dT%H:%M"],
                                      validators=[Optional()])
    recording_ref = StringField(_l("Audio/video recording reference (双录), if any"), filters=TEXT,
                                validators=[Optional(), max_len(120)])
    note = TextAreaField(_l("Note"), filters=TEXT, validators=[Optional(), max_len(2000)])

    def validate_confirmed_at(self, field) -> None:
        """A confirmation cannot be dated in the future."""
        if field.data and field.data.replace(tzinfo=SHANGHAI) > datetime.now(SHANGHAI):
            raise ValidationError(_l("The confirmation cannot be in the future."))

    def product_missing(self) -> None:
        """Saving needs a product chosen (checking without one only shows the form again)."""
        self.product_id.errors = [_l("Choose a product.")]

    def confirmed_at_utc(self):
        """The confirmation time in UTC."""
        if not self.confirmed_at.data:
            return None
        return to_utc(self.confirmed_at.data)


class QuestionnaireForm(FlaskForm):
    """A new questionnaire version written in the text format."""

    text = TextAreaField(_l("Questionnaire"), validators=[DataRequired(), max_len(50000)],
                         render_kw={"rows": 24, "spellcheck": "false"})


def settings_form(specs: dict, labels: dict) -> type[FlaskForm]:
    """A form with one whole-number field per run-time setting, within its allowed range."""

    class SettingsForm(FlaskForm):
        pass

    for key, spec in specs.items():
        setattr(SettingsForm, key, IntegerField(labels.get(key, key), validators=[
            InputRequired(), NumberRange(spec.minimum, spec.maximum)]))
    return SettingsForm
