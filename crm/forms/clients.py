"""Forms of the client file: prospect capture, editing, stage change, reveal, visit log."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Optional

from crm.domain.formats import mask_id_number, mask_mobile
from crm.domain.refusals import RuleError
from crm.forms.fields import (
    SHANGHAI,
    TEXT,
    IdNumberCheck,
    MobileCheck,
    OptionalSelectField,
    blank_choices,
    max_len,
    to_utc,
)
from crm.labels import (
    AGE_BANDS,
    CONSENT_CHANNELS,
    GENDERS,
    INTENTS,
    SATISFACTION,
    SOURCE_CHANNELS,
    STAGES,
    VISIT_CHANNELS,
    VISIT_OUTCOMES,
    choices,
)
from crm.routes.refusals import text as refusal_text
from crm.services import referrals

_FIVE_MINUTES = timedelta(minutes=5)


class ProspectForm(FlaskForm):
    """Capture a prospect in seconds: name and mobile, the rest optional."""

    token = HiddenField()
    name = StringField(_l("Name"), filters=TEXT, validators=[DataRequired(), max_len(60)])
    mobile = StringField(_l("Mobile"), filters=TEXT, validators=[InputRequired(), MobileCheck()],
                         render_kw={"inputmode": "tel", "autocomplete": "off"})
    source_channel = SelectField(_l("Source channel"), choices=choices(SOURCE_CHANNELS),
                                 default="walk_in")
    outlet_id = OptionalSelectField(_l("Outlet"), choices=[])
    gender = OptionalSelectField(_l("Gender"), choices=blank_choices(GENDERS))
    age_band = OptionalSelectField(_l("Age band"), choices=blank_choices(AGE_BANDS))
    # The referrer is chosen, not typed: a search (name, pinyin initials, last digits) and the choice
    # "client:<id>" / "partner:<id>" (crm.services.referrals), rendered by referrals/_chooser.html.
    referrer_search = StringField(_l("Referrer"), filters=TEXT, validators=[Optional(), max_len(40)],
                                  render_kw={"autocomplete": "off"})
    referrer = StringField(_l("Referrer"), filters=TEXT, validators=[Optional(), max_len(30)])
    interests = TextAreaField(_l("Interests"), filters=TEXT, validators=[Optional(), max_len(2000)])
    consent_contact = BooleanField(_l("Consents to be contacted"))
    consent_channel = OptionalSelectField(_l("Consent channel"), choices=blank_choices(CONSENT_CHANNELS))

    # The client being edited (None on capture) and its referrer on file, kept even when the editor
    # may not see that referrer.
    referred_client = None
    referrer_on_file: tuple[int | None, int | None] = (None, None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.referrer_matches: list[referrals.Match] = []  # the no-JS choice, shown as radio buttons
        self.referrer_chosen: referrals.Match | None = None  # the chip
        self.referrer_ids: tuple[int | None, int | None] = (None, None)

    def set_outlets(self, outlets) -> None:
        """Fill the outlet choices from the database."""
        self.outlet_id.choices = choices({o.id: o.label for o in outlets}, blank="—")

    def validate(self, extra_validators=None) -> bool:
        """Consent is recorded with the channel it was given for; a referrer is one the user may see."""
        valid = super().validate(extra_validators)
        if self.consent_contact.data and not self.consent_channel.data:
            self.consent_channel.errors = [
                *self.consent_channel.errors,
                _l("Say through which channel the client agreed to be contacted.")]
            valid = False
        if not self.referrer.errors and not self.referrer_search.errors:
            valid = self._validate_referrer() and valid
        return valid

    def _validate_referrer(self) -> bool:
        """Resolve the chosen referrer; search text without a choice offers the matches, never takes one."""
        value = (self.referrer.data or "").strip()
        if value and value == referrals.value_of_ids(*self.referrer_on_file):
            self.referrer_ids = self.referrer_on_file
            self.referrer_chosen = self._chip_on_file()
            return True
        if value:
            try:
                client, partner = referrals.resolve(current_user, value, for_client=self.referred_client)
            except RuleError as refusal:
                self.referrer_search.errors = [*self.referrer_search.errors, refusal_text(refusal)]
                return False
            self.referrer_ids = (client.id if client else None, partner.id if partner else None)
            self.referrer_chosen = referrals.match_of(client, partner)
            return True
        query = (self.referrer_search.data or "").strip()
        if not query:
            return True
        self.referrer_matches = referrals.search(current_user, query)
        if self.referrer_matches:
            message = _l("Choose who referred them from the list, or empty the search.")
        else:
            message = _l("No client or partner you know matches this. Add the partner first, or leave the "
                         "referrer empty.")
        self.referrer_search.errors = [*self.referrer_search.errors, message]
        return False

    def _chip_on_file(self) -> referrals.Match | None:
        """The chip of the referrer on file: named if the user may see it, else only its kind."""
        if self.referred_client is None:
            return None
        seen = referrals.referred_by(self.referred_client, current_user)
        if seen is None:
            return None
        if seen.record is not None:
            return referrals.match_of(*((seen.record, None) if seen.kind == referrals.CLIENT else (None, seen.record)))
        record_id = self.referrer_on_file[0] if seen.kind == referrals.CLIENT else self.referrer_on_file[1]
        return referrals.Match(seen.kind, record_id, "", "")

    def client_data(self) -> dict:
        """The cleaned values, keyed by client attribute."""
        return {
            "name": self.name.data, "mobile": self.mobile.data,
            "source_channel": self.source_channel.data,
            "outlet_id": int(self.outlet_id.data) if self.outlet_id.data else None,
            "gender": self.gender.data, "age_band": self.age_band.data,
            "referrer_client_id": self.referrer_ids[0], "referrer_partner_id": self.referrer_ids[1],
            "interests": self.interests.data or "",
            "consent_contact": bool(self.consent_contact.data),
            "consent_channel": self.consent_channel.data if self.consent_contact.data else None,
        }


class ClientEditForm(ProspectForm):
    """Edit the client file; carries the version and values it was loaded from.

    The mobile and ID number on file are never sent to the browser: their inputs start empty (the
    masked value is the placeholder) and an empty input keeps the number on file.
    """

    mobile = StringField(_l("Mobile"), filters=TEXT, validators=[Optional(), MobileCheck()],
                         render_kw={"inputmode": "tel", "autocomplete": "off"})
    id_number = StringField(_l("ID number"), filters=TEXT, validators=[IdNumberCheck()],
                            render_kw={"autocomplete": "off"})
    remove_id_number = BooleanField(_l("Remove the ID number from the file"))
    version = HiddenField()
    loaded = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        client = kwargs.get("obj")
        if client is not None:
            self.referred_client = client
            self.referrer_on_file = (client.referrer_client_id, client.referrer_partner_id)
            if not self.is_submitted():
                # `referrer` is the choice, not the legacy free text of the same name (shown read-only).
                self.referrer.data = referrals.value_of(client)
                self.referrer_search.data = ""
                self.referrer_chosen = self._chip_on_file()

    def show_masked(self, mobile: str, id_number: str | None) -> None:
        """Empty number inputs with the numbers on file, masked, as placeholders."""
        self.mobile.data = ""
        self.id_number.data = ""
        self.mobile.render_kw = {**(self.mobile.render_kw or {}), "placeholder": mask_mobile(mobile)}
        if id_number:
            self.id_number.render_kw = {**(self.id_number.render_kw or {}),
                                        "placeholder": mask_id_number(id_number)}

    def client_data(self, on_file: dict | None = None) -> dict:
        """The cleaned values; an empty number input stands for `on_file`'s number (what the form was loaded with)."""
        data = super().client_data()
        data["id_number"] = self.id_number.data
        on_file = on_file or {}
        if not data["mobile"]:
            data["mobile"] = on_file.get("mobile")
        if self.remove_id_number.data:
            data["id_number"] = None
        elif not data["id_number"]:
            data["id_number"] = on_file.get("id_number")
        return data


class StageForm(FlaskForm):
    """Move the client to another lifecycle stage."""

    stage = SelectField(_l("Stage"), choices=choices(STAGES))
    note = StringField(_l("Note"), filters=TEXT, validators=[Optional(), max_len(200)])


class RevealForm(FlaskForm):
    """Reveal a masked number on purpose; the reveal is logged."""

    field = SelectField(choices=choices({"mobile": "mobile", "id_number": "id_number"}))


class ReassignForm(FlaskForm):
    """Hand a client to another manager, with the reason kept in the audit trail."""

    owner_id = SelectField(_l("New owner"), choices=[])
    reason = StringField(_l("Reason"), filters=TEXT, validators=[DataRequired(), max_len(200)])


def _local_now() -> datetime:
    return datetime.now(SHANGHAI).replace(second=0, microsecond=0, tzinfo=None)


class VisitForm(FlaskForm):
    """Log a contact: when, how, what was said, what came of it and what happens next."""

    token = HiddenField()
    occurred_at = DateTimeLocalField(_l("When"), default=_local_now,
                                     format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                     validators=[InputRequired()])
    channel = SelectField(_l("Channel"), choices=choices(VISIT_CHANNELS), default="outlet")
    summary = TextAreaField(_l("Summary"), filters=TEXT, validators=[DataRequired(), max_len(4000)])
    outcome = SelectField(_l("Outcome"), choices=choices(VISIT_OUTCOMES), default="interested")
    next_step = StringField(_l("Next step"), filters=TEXT, validators=[Optional(), max_len(200)])
    next_contact_on = DateField(_l("Next contact date"), validators=[Optional()])
    intent = OptionalSelectField(_l("Client mentioned leaving"), choices=blank_choices(INTENTS, "—"))
    satisfaction = OptionalSelectField(_l("Satisfaction (if asked)"), choices=blank_choices(SATISFACTION, "—"))

    def validate_occurred_at(self, field) -> None:
        """A visit cannot be logged in the future (a few minutes of clock skew are allowed)."""
        if field.data and field.data.replace(tzinfo=SHANGHAI) > datetime.now(SHANGHAI).replace(
                second=59) + _FIVE_MINUTES:
            raise ValidationError(_l("A visit cannot be in the future."))
        if field.data and field.data.year < 2000:
            raise ValidationError(_l("Enter a date after 2000."))

    def validate_next_contact_on(self, field) -> None:
        """The next contact is today or later."""
        if field.data and field.data < datetime.now(SHANGHAI).date():
            raise ValidationError(_l("The next contact date cannot be in the past."))
        if field.data and field.data > date(2100, 1, 1):
            raise ValidationError(_l("Enter a realistic date."))

    def visit_data(self) -> dict:
        """The cleaned values, keyed by visit attribute, with the time in UTC."""
        occurred = to_utc(self.occurred_at.data)
        return {
            "occurred_at": occurred, "channel": self.channel.data, "summary": self.summary.data,
            "outcome": self.outcome.data, "next_step": self.next_step.data or "",
            "next_contact_on": self.next_contact_on.data,
            "intent": self.intent.data,
            "satisfaction": int(self.satisfaction.data) if self.satisfaction.data else None,
        }

