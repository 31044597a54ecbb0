"""Sign-in and personal settings forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField, ValidationError
from wtforms.validators import DataRequired, Length, Optional

from crm.forms.fields import TEXT, max_len
from crm.labels import LOCALES, choices

MIN_PASSWORD = 10


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField(_l("Username"), filters=TEXT, validators=[DataRequired(), max_len(40)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), max_len(200)],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Keep me signed in on this phone"))


class SettingsForm(FlaskForm):
    """Language and password of the signed-in user."""

    locale = SelectField(_l("Language"), choices=choices(LOCALES))
    current_password = PasswordField(_l("Current password"), validators=[Optional(), max_len(200)],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"),
                                 validators=[Optional(), Length(min=MIN_PASSWORD, max=200)],
                                 render_kw={"autocomplete": "new-password"})

    def validate_current_password(self, field) -> None:
        """Changing the password needs the current one."""
        if self.new_password.data and not field.data:
            raise ValidationError(_l("Enter your current password to set a new one."))
