"""Forms of complaint tickets: register, change status, note, hand over, extend, close, reopen; overrides."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional

from crm.domain.formats import mask_mobile
from crm.forms.fields import TEXT, max_len, realistic_date
from crm.labels import (
    COMPLAINT_CATEGORIES,
    COMPLAINT_CHANNELS,
    COMPLAINT_SEVERITIES,
    SATISFACTION,
    choices,
)


class ComplaintForm(FlaskForm):
    """Register a complaint (受理登记)."""

    token = HiddenField()
    complainant_name = StringField(_l("Complainant"), filters=TEXT, validators=[DataRequired(), max_len(60)])
    complainant_contact = StringField(_l("Contact"), filters=TEXT, validators=[Optional(), max_len(100)])
    account_ref = StringField(_l("Account"), filters=TEXT, validators=[Optional(), max_len(40)])
    channel = SelectField(_l("Complaint channel"), choices=choices(COMPLAINT_CHANNELS), default="outlet")
    category = SelectField(_l("Category"), choices=choices(COMPLAINT_CATEGORIES), default="service_attitude")
    severity = SelectField(_l("Severity"), choices=choices(COMPLAINT_SEVERITIES), default="normal")
    facts = TextAreaField(_l("Facts"), filters=TEXT, validators=[DataRequired(), max_len(5000)])
    evidence = TextAreaField(_l("Evidence"), filters=TEXT, validators=[Optional(), max_len(2000)])
    staff_involved = StringField(_l("Staff involved"), filters=TEXT, validators=[Optional(), max_len(200)])
    client_request = TextAreaField(_l("What the client asks for"), filters=TEXT,
                                   validators=[Optional(), max_len(2000)])

    def prefill(self, client) -> None:
        """Start from the client on file: the name, and the mobile masked (the full number stays on the server)."""
        self.complainant_name.data = client.name
        self.complainant_contact.data = mask_mobile(client.mobile)

    def complaint_data(self, client=None) -> dict[str, str]:
        """The fields the register service takes; the masked prefill stands for the client's mobile on file."""
        from crm.services.complaints import FIELDS

        data = {name: getattr(self, name).data or "" for name in FIELDS}
        if client is not None and data["complainant_contact"] == mask_mobile(client.mobile):
            data["complainant_contact"] = client.mobile
        return data


class StatusForm(FlaskForm):
    """Move the complaint to the next status."""

    to_status = SelectField(_l("Next status"), choices=[])
    note = TextAreaField(_l("Note"), filters=TEXT, validators=[Optional(), max_len(2000)])


class NoteForm(FlaskForm):
    """Add a note to the history."""

    text = TextAreaField(_l("Note"), filters=TEXT, validators=[DataRequired(), max_len(2000)])


class HandoverForm(FlaskForm):
    """Hand the complaint to another handler."""

    owner_id = SelectField(_l("Hand over to"), choices=[])
    reason = StringField(_l("Reason"), filters=TEXT, validators=[DataRequired(), max_len(200)])


class ExtendForm(FlaskForm):
    """Move the resolve deadline to the end of a later day."""

    new_due = DateField(_l("New deadline"), validators=[InputRequired(), realistic_date])
    reason = StringField(_l("Reason"), filters=TEXT, validators=[DataRequired(), max_len(200)])


class CloseForm(FlaskForm):
    """Close and archive with the resolution and the client's answer."""

    resolution = TextAreaField(_l("Resolution"), filters=TEXT, validators=[DataRequired(), max_len(5000)])
    accepted = RadioField(_l("Did the client accept it?"), choices=[SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))],
                          validators=[InputRequired()])
    satisfaction = SelectField(_l("Client's satisfaction"), choices=choices(SATISFACTION, blank="—"),
                               validators=[DataRequired()])
    note = TextAreaField(_l("Note"), filters=TEXT, validators=[Optional(), max_len(2000)])

    def satisfaction_score(self) -> int:
        """The chosen score, 1 to 5."""
        return int(self.satisfaction.data)


class ReopenForm(FlaskForm):
    """Reopen a closed complaint."""

    reason = StringField(_l("Reason"), filters=TEXT, validators=[DataRequired(), max_len(200)])


class WorkdayOverrideForm(FlaskForm):
    """Mark a date as a working day or a day off."""

    day = DateField(_l("Date"), validators=[InputRequired(), realistic_date])
    is_working_day = SelectField(_l("This day is"), choices=[SelectChoice("0", _l("A day off")),
                                                                    SelectChoice("1", _l("A working day"))],
                                 default="0")
    note = StringField(_l("Note"), filters=TEXT, validators=[Optional(), max_len(200)])
