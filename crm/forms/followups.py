"""Forms of follow-ups: create, snooze, bulk assignment."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError

from crm.domain.formats import parse_id
from crm.forms.fields import SHANGHAI, TEXT, max_len, realistic_date
from crm.labels import FOLLOWUP_KINDS, PRIORITIES, choices


def _tomorrow_morning() -> datetime:
    day = datetime.now(SHANGHAI).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, 9, 0)


class FollowUpForm(FlaskForm):
    """A follow-up on one client."""

    token = HiddenField()
    due_at = DateTimeLocalField(_l("Due"), default=_tomorrow_morning, format=["%Y-%m-%dT%H:%M"],
                                validators=[InputRequired(), realistic_date])
    kind = SelectField(_l("Kind"), choices=choices(FOLLOWUP_KINDS), default="call")
    priority = SelectField(_l("Priority"), choices=choices(PRIORITIES), default="2", coerce=int)
    assignee_id = SelectField(_l("Assignee"), choices=[])
    title = StringField(_l("What to do"), filters=TEXT, validators=[DataRequired(), max_len(200)])
    note = TextAreaField(_l("Note"), filters=TEXT, validators=[Optional(), max_len(2000)])


class SnoozeForm(FlaskForm):
    """Put a follow-up off, saying why."""

    until = DateTimeLocalField(_l("Until"), default=_tomorrow_morning, format=["%Y-%m-%dT%H:%M"],
                               validators=[InputRequired()])
    reason = StringField(_l("Reason"), filters=TEXT, validators=[DataRequired(), max_len(200)])

    def validate_until(self, field) -> None:
        """A snooze moves the follow-up into the future."""
        if field.data and field.data.replace(tzinfo=SHANGHAI) <= datetime.now(SHANGHAI):
            raise ValidationError(_l("Choose a time in the future."))
        if field.data and field.data.year > 2100:
            raise ValidationError(_l("Enter a realistic date."))


class AssignForm(FlaskForm):
    """Give one or several follow-ups to a member of the team."""

    followup_ids = SelectMultipleField(choices=[], validate_choice=False)
    assignee_id = SelectField(_l("Assign to"), choices=[])

    def ids(self) -> list[int]:
        """The chosen follow-up ids (non-numbers ignored)."""
        return [i for i in map(parse_id, self.followup_ids.data or []) if i is not None]
