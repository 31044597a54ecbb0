"""Forms of QR self-registration: a manager's new card, and the public form a visitor fills in."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired

from crm.domain.consent import CURRENT, TEXTS
from crm.forms.fields import TEXT, MobileCheck, max_len
from crm.labels import choices
from crm.labels.qr import QR_CONTACT_TIMES, QR_INTERESTS


class CardForm(FlaskForm):
    """Issue a card for one outlet (an earlier card of the manager there stops)."""

    token = HiddenField()
    outlet_id = SelectField(_l("Outlet"), choices=[], validators=[InputRequired()])

    def set_outlets(self, outlets) -> None:
        """Fill the outlet choices from the database."""
        self.outlet_id.choices = choices({str(o.id): o.label for o in outlets})


class RegistrationForm(FlaskForm):
    """The visitor's form: name, mobile, what they are interested in, when to call, consent."""

    name = StringField(_l("Your name"), filters=TEXT, validators=[DataRequired(), max_len(60)],
                       render_kw={"autocomplete": "name"})
    mobile = StringField(_l("Mobile"), filters=TEXT, validators=[InputRequired(), MobileCheck()],
                         render_kw={"inputmode": "tel", "autocomplete": "tel"})
    interest = SelectField(_l("Interested in"), choices=choices(QR_INTERESTS), default="funds")
    preferred_time = SelectField(_l("Best time to call"), choices=choices(QR_CONTACT_TIMES), default="any")
    consent = BooleanField(_l("I agree to be contacted as described above"),
                           validators=[DataRequired(_l("Please agree so that your manager may contact you."))])
    consent_version = HiddenField(default=CURRENT)
    # The honeypot: hidden from people (CSS, aria-hidden, out of the tab order); a bot fills it in.
    website = StringField(_l("Leave this empty"), render_kw={"autocomplete": "off", "tabindex": "-1",
                                                             "aria-hidden": "true"})

    def is_bot(self) -> bool:
        """A person never sees the honeypot field, so anything in it is a bot's."""
        return bool((self.website.data or "").strip())

    def registration_data(self) -> dict:
        """What the registration service takes, with the consent version the visitor was shown."""
        shown = self.consent_version.data if self.consent_version.data in TEXTS else CURRENT
        return {"name": self.name.data, "mobile": self.mobile.data, "interest": self.interest.data,
                "preferred_time": self.preferred_time.data, "consent_version": shown}
