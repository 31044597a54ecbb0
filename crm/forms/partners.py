"""Forms of channel partners: add one, edit it, reveal its mobile, log a contact."""
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
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from crm.domain.formats import mask_mobile
from crm.forms.fields import SHANGHAI, TEXT, MobileCheck, OptionalSelectField, max_len, to_utc
from crm.labels import PARTNER_ROLES, VISIT_CHANNELS, choices


class OptionalMobileCheck(MobileCheck):
    """A mobile is optional for a partner (not every teller gives one); when given it is checked as a client's."""

    def __call__(self, form, field):
        if not (field.data or "").strip():
            field.data = None
            return
        super().__call__(form, field)


class PartnerForm(FlaskForm):
    """Add a partner: name and role; the rest optional."""

    token = HiddenField()
    name = StringField(_l("Name"), filters=TEXT, validators=[DataRequired(), max_len(60)])
    role = SelectField(_l("Role"), choices=choices(PARTNER_ROLES), default="teller")
    organisation = StringField(_l("Organisation (bank branch or company)"), filters=TEXT,
                               validators=[Optional(), max_len(120)])
    mobile = StringField(_l("Mobile"), filters=TEXT, validators=[OptionalMobileCheck()],
                         render_kw={"inputmode": "tel", "autocomplete": "off"})
    outlet_id = OptionalSelectField(_l("Outlet"), choices=[])
    notes = TextAreaField(_l("Relationship notes"), filters=TEXT, validators=[Optional(), max_len(2000)])
    consent_contact = BooleanField(_l("Agrees to be contacted"))

    def set_outlets(self, outlets) -> None:
        """Fill the outlet choices from the database."""
        self.outlet_id.choices = choices({o.id: o.label for o in outlets}, blank="—")

    def partner_data(self) -> dict:
        """The cleaned values, keyed by partner attribute."""
        return {
            "name": self.name.data, "role": self.role.data, "organisation": self.organisation.data or "",
            "mobile": self.mobile.data or None,
            "outlet_id": int(self.outlet_id.data) if self.outlet_id.data else None,
            "notes": self.notes.data or "", "consent_contact": bool(self.consent_contact.data),
        }


class PartnerEditForm(PartnerForm):
    """Edit a partner; carries the version it was loaded at. The mobile on file never goes to the browser:
    its input starts empty (the masked number is the placeholder) and an empty input keeps it."""

    remove_mobile = BooleanField(_l("Remove the mobile number"))
    cadence_days = IntegerField(_l("Keep in touch every (days)"),
                                validators=[InputRequired(), NumberRange(min=1, max=365)])
    active = BooleanField(_l("Still in touch"))
    version = HiddenField()

    def show_masked(self, mobile: str | None) -> None:
        """An empty mobile input with the number on file, masked, as its placeholder."""
        self.mobile.data = ""
        if mobile:
            self.mobile.render_kw = {**(self.mobile.render_kw or {}), "placeholder": mask_mobile(mobile)}

    def loaded_version(self) -> int:
        """The version the form was loaded at (0, which no partner has, when missing or doctored)."""
        try:
            return int(self.version.data or "0")
        except ValueError:
            return 0

    def partner_data(self, on_file: str | None = None) -> dict:
        """The cleaned values; an empty mobile input keeps `on_file`, unless the number is removed."""
        data = super().partner_data()
        if self.remove_mobile.data:
            data["mobile"] = None
        elif not data["mobile"]:
            data["mobile"] = on_file
        data["cadence_days"] = self.cadence_days.data
        data["active"] = bool(self.active.data)
        return data


class PartnerRevealForm(FlaskForm):
    """Reveal the partner's masked mobile on purpose; the reveal is logged."""


def _local_now() -> datetime:
    return datetime.now(SHANGHAI).replace(second=0, microsecond=0, tzinfo=None)


class PartnerContactForm(FlaskForm):
    """Log a contact with a partner: when, how, what was said, what comes next."""

    token = HiddenField()
    occurred_at = DateTimeLocalField(_l("When"), default=_local_now,
                                     format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                     validators=[InputRequired()])
    channel = SelectField(_l("Channel"), choices=choices(VISIT_CHANNELS), default="outlet")
    summary = TextAreaField(_l("Summary"), filters=TEXT, validators=[DataRequired(), max_len(4000)])
    next_step = StringField(_l("Next step"), filters=TEXT, validators=[Optional(), max_len(200)])

    def validate_occurred_at(self, field) -> None:
        """A realistic date (the service refuses one in the future)."""
        if field.data and not (2000 <= field.data.year <= 2100):
            raise ValidationError(_l("Enter a realistic date."))

    def contact_data(self) -> dict:
        """The cleaned values, keyed by contact attribute, with the time in UTC."""
        return {"occurred_at": to_utc(self.occurred_at.data), "channel": self.channel.data,
                "summary": self.summary.data, "next_step": self.next_step.data or ""}
