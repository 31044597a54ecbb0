"""Forms of the team pool: claiming a prospect, a lead's assignment and a protection extension."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, ValidationError
from wtforms.validators import DataRequired, Optional

from crm.forms.fields import SHANGHAI, TEXT, max_len


class ClaimForm(FlaskForm):
    """Take a pooled prospect (the button carries only the CSRF token)."""


class AssignForm(FlaskForm):
    """A lead gives a pooled prospect to a manager of the team."""

    manager_id = SelectField(_l("Manager"), choices=[], validators=[DataRequired()])


class ProtectionForm(FlaskForm):
    """A lead extends a prospect's protection period to the end of a day."""

    until = DateField(_l("Protected until (end of day)"), validators=[DataRequired()])
    note = StringField(_l("Why"), filters=TEXT, validators=[Optional(), max_len(200)])

    def validate_until(self, field) -> None:
        """A year no calendar sum can overflow (the service checks the 90 days)."""
        if field.data is not None and field.data.year > 2100:
            raise ValidationError(_l("Choose a day within the next 90 days."))

    def until_instant(self) -> datetime:
        """The end of the chosen Shanghai day, as the instant the service takes."""
        return datetime.combine(self.until.data + timedelta(days=1), time(0), SHANGHAI)
