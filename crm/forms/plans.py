"""Forms of service plans and their templates."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from crm.forms.fields import TEXT, CheckboxesField, OptionalSelectField, max_len, realistic_date
from crm.labels import CADENCES, HOLIDAYS, PLAN_ITEM_KINDS, choices


class StartPlanForm(FlaskForm):
    """Start the client's plan from a template."""

    token = HiddenField()
    template_id = SelectField(_l("Template"), coerce=int, validators=[InputRequired()])
    goals = TextAreaField(_l("Goals"), filters=TEXT, validators=[Optional(), max_len(2000)],
                          description=_l("Leave empty to use the template's goals."))


class PlanForm(FlaskForm):
    """Revise the plan's goals and review date."""

    version = HiddenField()
    goals = TextAreaField(_l("Goals"), filters=TEXT, validators=[Optional(), max_len(2000)])
    review_on = DateField(_l("Review date"), validators=[DataRequired(), realistic_date])


class ItemForm(FlaskForm):
    """A service and its timing (shared by plan items and template items)."""

    kind = SelectField(_l("Service"), choices=choices(PLAN_ITEM_KINDS), default="review_call")
    cadence = SelectField(_l("When"), choices=choices(CADENCES), default="months")
    every = IntegerField(_l("Every (days, weeks or months)"), default=1,
                         validators=[Optional(), NumberRange(1, 366)], render_kw={"inputmode": "numeric"})
    holidays = CheckboxesField(_l("Holidays"), choices=choices(HOLIDAYS))
    product_id = OptionalSelectField(_l("Product"), coerce=lambda v: int(v) if v not in (None, "") else None)
    title = StringField(_l("Title"), filters=TEXT, validators=[Optional(), max_len(120)],
                        description=_l("Optional: by default the service's name."))

    def item_data(self) -> dict:
        """The values the plan service takes."""
        return {"kind": self.kind.data, "cadence": self.cadence.data, "every": self.every.data,
                "holidays": list(self.holidays.data or []), "product_id": self.product_id.data,
                "title": self.title.data or ""}


class PlanItemForm(ItemForm):
    """Add a service to a client's plan."""

    starts_on = DateField(_l("First time on"), validators=[Optional(), realistic_date],
                          description=_l("Empty: today. Birthdays and holidays keep their own dates."))

    def item_data(self) -> dict:  # noqa: D102
        return {**super().item_data(), "starts_on": self.starts_on.data}


class TemplateItemForm(ItemForm):
    """Add a service to a template."""

    offset_days = IntegerField(_l("Days after the plan starts"), default=0,
                               validators=[Optional(), NumberRange(0, 365)], render_kw={"inputmode": "numeric"})

    def item_data(self) -> dict:  # noqa: D102
        return {**super().item_data(), "offset_days": self.offset_days.data or 0}


class EndPlanForm(FlaskForm):
    """End the plan, with the reason."""

    reason = StringField(_l("Reason"), filters=TEXT, validators=[DataRequired(), max_len(200)])


class TemplateForm(FlaskForm):
    """A plan template's name, tier and defaults."""

    name = StringField(_l("Name"), filters=TEXT, validators=[DataRequired(), max_len(80)])
    tier_id = OptionalSelectField(_l("Tier"), coerce=lambda v: int(v) if v not in (None, "") else None)
    goals = TextAreaField(_l("Goals"), filters=TEXT, validators=[Optional(), max_len(2000)])
    review_months = IntegerField(_l("Review the plan after (months)"), default=12,
                                 validators=[InputRequired(), NumberRange(1, 60)], render_kw={"inputmode": "numeric"})
    active = BooleanField(_l("In use"), default=True)
