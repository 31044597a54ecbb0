"""Forms of outlet coverage (驻点排班): a weekly pattern, an exception, ending a pattern, check-in/out."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Optional

from crm.forms.fields import (
    TEXT,
    CheckboxesField,
    OptionalSelectField,
    blank_choices,
    max_len,
    realistic_date,
)
from crm.labels import COVERAGE_EXCEPTION_KINDS, choices
from crm.labels.coverage import WEEKDAYS


def _id(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


class _MemberOutletMixin:
    def set_choices(self, members, outlets) -> None:
        """The people the user plans for, and the outlets in use."""
        self.user_id.choices = choices({m.id: m.display_name for m in members}, blank="—")
        self.outlet_id.choices = choices({o.id: o.label for o in outlets}, blank="—")


class PatternForm(_MemberOutletMixin, FlaskForm):
    """Station a manager at an outlet on some weekdays, from a day on (until a day, or until changed)."""

    token = HiddenField()
    user_id = SelectField(_l("Manager"), choices=[], validators=[DataRequired()])
    outlet_id = SelectField(_l("Outlet"), choices=[], validators=[DataRequired()])
    weekdays = CheckboxesField(_l("Weekdays"), choices=choices(WEEKDAYS), validators=[DataRequired()])
    starts_on = DateField(_l("From"), validators=[InputRequired(), realistic_date])
    ends_on = DateField(_l("Until (optional)"), validators=[Optional(), realistic_date])

    def pattern_data(self) -> dict:
        """What `coverage.add_pattern` takes besides the actor and the loaded member and outlet."""
        return {"weekdays": sorted({int(w) for w in self.weekdays.data or [] if str(w).isdigit()}),
                "starts_on": self.starts_on.data, "ends_on": self.ends_on.data}


class ExceptionForm(_MemberOutletMixin, FlaskForm):
    """One day on which a manager is on leave or at another outlet."""

    token = HiddenField()
    user_id = SelectField(_l("Manager"), choices=[], validators=[DataRequired()])
    day = DateField(_l("Day"), validators=[InputRequired(), realistic_date])
    kind = SelectField(_l("Where"), choices=choices(COVERAGE_EXCEPTION_KINDS), default="leave")
    outlet_id = OptionalSelectField(_l("Outlet (for another outlet)"), choices=[])
    note = StringField(_l("Note"), filters=TEXT, validators=[Optional(), max_len(200)])

    def exception_data(self) -> dict:
        """What `coverage.add_exception` takes besides the actor and the loaded member and outlet."""
        return {"day": self.day.data, "kind": self.kind.data, "note": self.note.data or ""}


class EndPatternForm(FlaskForm):
    """End a weekly pattern after a last day (today by default)."""

    last_day = DateField(_l("Last day"), validators=[Optional(), realistic_date])


class CheckInForm(FlaskForm):
    """Check in at an outlet; the approximate location only when the box is ticked."""

    token = HiddenField()
    outlet_id = SelectField(_l("Outlet"), choices=[], validators=[DataRequired()])
    share_location = BooleanField(_l("Share my approximate location (about 1 km)"), default=False)
    latitude = HiddenField()
    longitude = HiddenField()

    def set_outlets(self, outlets) -> None:
        """The outlets in use."""
        self.outlet_id.choices = blank_choices({o.id: o.label for o in outlets})


class PlainForm(FlaskForm):
    """A button-only form (check out, remove): the CSRF token alone."""


def chosen_id(field) -> int | None:
    """A select's value as an id, or None."""
    return _id(field.data)
