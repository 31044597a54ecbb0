"""Forms of the admin pages: users, teams, outlets."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, ValidationError
from wtforms.validators import DataRequired, Email, Optional, Regexp

from crm.forms.auth import KEEP_AS_TYPED, PASSWORD_RULES, strong_password
from crm.forms.fields import TEXT, OptionalSelectField, max_len
from crm.labels import LOCALES, ROLES, choices


class UserForm(FlaskForm):
    """Create or edit a user; the password is required only when creating."""

    username = StringField(_l("Username"), filters=TEXT, validators=[
        DataRequired(), max_len(40),
        Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Use letters, digits, dot, dash or underscore.")),
    ])
    display_name = StringField(_l("Display name"), filters=TEXT, validators=[DataRequired(), max_len(60)])
    email = EmailField(_l("Email"), filters=TEXT, validators=[Optional(), Email(), max_len(254)])
    role = SelectField(_l("Role"), choices=choices(ROLES))
    team_id = OptionalSelectField(_l("Team"), choices=[])
    outlet_id = OptionalSelectField(_l("Outlet"), choices=[])
    locale = SelectField(_l("Language"), choices=choices(LOCALES))
    active = BooleanField(_l("Account active"), default=True)
    password = PasswordField(_l("Password"), validators=[KEEP_AS_TYPED, max_len(200), strong_password],
                             description=PASSWORD_RULES, render_kw={"autocomplete": "new-password"})

    def __init__(self, *args, creating: bool = False, taken_usernames=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = creating
        self._taken = taken_usernames or (lambda name: False)

    def password_owner(self) -> tuple[str, str]:
        """The password is for the username and name in this form (as they will be saved)."""
        return self.username.data or "", self.display_name.data or ""

    def validate_username(self, field) -> None:
        """Usernames are unique, whatever their case."""
        if field.data and self._taken(field.data):
            raise ValidationError(_l("This username is already taken."))

    def validate(self, extra_validators=None) -> bool:
        """A new user needs a password; managers and leads belong to a team.

        Checked here rather than in validate_<field>: an Optional() field stops its own chain.
        """
        valid = super().validate(extra_validators)
        if self.creating and not self.password.data:
            self.password.errors = [*self.password.errors, _l("Set a password for the new user.")]
            valid = False
        if self.role.data in ("manager", "lead") and not self.team_id.data:
            self.team_id.errors = [*self.team_id.errors, _l("Managers and team leads belong to a team.")]
            valid = False
        return valid


class TeamForm(FlaskForm):
    """A team's name."""

    name = StringField(_l("Team name"), filters=TEXT, validators=[DataRequired(), max_len(80)])


class OutletForm(FlaskForm):
    """A bank outlet."""

    bank = StringField(_l("Bank"), filters=TEXT, validators=[DataRequired(), max_len(80)])
    branch = StringField(_l("Branch"), filters=TEXT, validators=[DataRequired(), max_len(120)])
    city = StringField(_l("City"), filters=TEXT, validators=[DataRequired(), max_len(60)])
    active = BooleanField(_l("In use"), default=True)
