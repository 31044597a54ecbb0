"""Sign-in and personal settings forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField, ValidationError
from wtforms.validators import DataRequired, InputRequired, Optional

from crm.domain.passwords import MIN_LENGTH, Problem, password_problems
from crm.forms.fields import TEXT, max_len
from crm.labels import LOCALES, choices

MIN_PASSWORD = MIN_LENGTH

PASSWORD_PROBLEMS = {
    Problem.SPACE: _l("The password cannot start or end with a space, or be only spaces."),
    Problem.TOO_SHORT: _l("Use at least 12 characters."),
    Problem.LIKE_NAME: _l("The password cannot be the same as or close to the username or name."),
    Problem.PATTERN: _l("The password cannot be one character repeated or a simple sequence "
                        "(such as 123456… or abcdef…)."),
    Problem.COMMON: _l("This password is too common and easy to guess: choose another."),
}
PASSWORD_RULES = _l("At least 12 characters, no spaces at either end; not the username or name, "
                    "not a repeated character or a sequence like 123456 or qwerty, not a common password. "
                    "A few words you will remember make a good one.")

# A password is kept exactly as typed: no filter strips it, and no validator treats spaces as empty.
KEEP_AS_TYPED = Optional(strip_whitespace=False)


def password_messages(password: str, username: str, display_name: str = "") -> list[str]:
    """The rules this password breaks, as messages in the user's language (empty: it is accepted)."""
    return [str(PASSWORD_PROBLEMS[problem]) for problem in password_problems(password, username, display_name)]


def strong_password(form, field) -> None:
    """Validator: the password meets the rules for the account `form.password_owner()` names.

    One error that names every broken rule, so a second try does not meet a new refusal.
    """
    if not field.data:
        return
    username, display_name = form.password_owner()
    messages = password_messages(field.data, username or "", display_name or "")
    if messages:
        raise ValidationError(" ".join(messages))


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField(_l("Username"), filters=TEXT, validators=[DataRequired(), max_len(40)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[InputRequired(), max_len(200)],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Keep me signed in on this phone"))


class SettingsForm(FlaskForm):
    """Language and password of the signed-in user."""

    locale = SelectField(_l("Language"), choices=choices(LOCALES))
    current_password = PasswordField(_l("Current password"), validators=[Optional(), max_len(200)],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"), validators=[KEEP_AS_TYPED, max_len(200), strong_password],
                                 description=PASSWORD_RULES, render_kw={"autocomplete": "new-password"})

    def password_owner(self) -> tuple[str, str]:
        """The new password is the signed-in user's."""
        return current_user.username, current_user.display_name

    def validate_current_password(self, field) -> None:
        """Changing the password needs the current one."""
        if self.new_password.data and not field.data:
            raise ValidationError(_l("Enter your current password to set a new one."))
