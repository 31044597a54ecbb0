"""Sign-in, sign-out and personal settings."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.domain.refusals import RuleError
from crm.extensions import db, limiter
from crm.forms.auth import LoginForm, SettingsForm
from crm.routes import refusals
from crm.routes.helpers import render, safe_next, see_other
from crm.services import sessions, signin, users

bp = Blueprint("auth", __name__)


def _password_failed(_response) -> bool:
    """The flood guard counts only tries whose password was checked and wrong: not junk, not throttled ones."""
    return bool(g.get("_crm_password_failed"))


def _device(username: str | None) -> str | None:
    """This browser's valid device key for `username` (set where it signed in before), or None."""
    return signin.device_key(request.cookies.get(signin.DEVICE_COOKIE), username)


def _known_device() -> bool:
    """A try from the typed username's own browser is not held by others' failures, the flood guard included."""
    return _device(request.form.get("username")) is not None


def _remember_device(response, username: str):
    """After a success: this browser keeps a device key for the username (its own throttle, not others')."""
    value = signin.device_cookie(request.cookies.get(signin.DEVICE_COOKIE), username)
    response.set_cookie(signin.DEVICE_COOKIE, value, max_age=signin.DEVICE_DAYS * 86400, httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"], samesite="Lax")
    return response


def _too_many(refusal: signin.MustWait, template: str, form):
    """429 with the wait on the form: the password was not looked at."""
    refusals.show(refusal, form)
    body, status = render(template, form=form, status=429)
    return body, status, {"Retry-After": str(refusal.wait.seconds)}


_safe_next = safe_next  # the one check of ?next= (crm.routes.helpers)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CRM_LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"],
               deduct_when=_password_failed, exempt_when=_known_device)
def login():
    """Sign in with username and password."""
    if current_user.is_authenticated:
        return see_other(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        address, device = request.remote_addr, _device(form.username.data)
        try:
            signin.hold_if_throttled(form.username.data, address, device, "password")
        except signin.MustWait as refusal:
            # The password is not looked at; the same answer whether the account exists or not.
            return _too_many(refusal, "auth/login.html", form)
        user = users.authenticate(form.username.data, form.password.data)
        if user is not None:
            signin.record_success(user, form.username.data, address, device=device)
            sessions.sign_in(user, remember=form.remember.data)
            why = users.require_change_if_weak(user, form.password.data)
            if why:
                session[_PASSWORD_CHANGE_WHY] = why
            db.session.commit()
            return _remember_device(see_other(_safe_next(request.args.get("next"))), form.username.data)
        # Same words whether the account is unknown, inactive or the password wrong.
        signin.record_failure(form.username.data, address, device=device)
        g._crm_password_failed = True
        db.session.commit()
        refusals.show(RuleError("auth.wrong_password", "password"), form)
    status = 422 if form.errors else 200
    return render("auth/login.html", form=form, status=status)


@bp.post("/logout")
@login_required
def logout():
    """Sign out: this browser's session ends on the server, and its remember cookie with it."""
    sessions.sign_out()
    db.session.commit()
    return see_other(url_for("auth.login"))


@bp.post("/language/<code>")
def choose_language(code: str):
    """Choose the language before signing in (stored in the session)."""
    if code in ("zh_CN", "en"):
        session["locale"] = code
    return see_other(_safe_next(request.form.get("next")))


# Open while a password must be changed: the settings page to change it, ways out, and the session
# timer's own calls (the settings page keeps its warning before the session ends).
_OPEN_WHILE_PASSWORD_CHANGE = {"auth.settings", "auth.logout", "auth.choose_language", "static", "main.healthz",
                               "sessions.keep_alive", "sessions.status"}


_PASSWORD_CHANGE_WHY = "password_change_why"  # in the session from sign-in: which message to show


@bp.before_app_request
def require_password_change():
    """A user whose password no longer meets the rules (or was reset by an admin) must change it first."""
    if (request.endpoint in _OPEN_WHILE_PASSWORD_CHANGE or not current_user.is_authenticated
            or not current_user.password_change_required):
        return None
    if session.get(_PASSWORD_CHANGE_WHY) == "set-by-admin":
        message = _("An administrator set your password: choose a new one that only you know to continue.")
    else:
        message = _("Your password no longer meets the rules: choose a new one to continue.")
    if message not in (text for _category, text in session.get("_flashes", [])):
        flash(message, "warning")
    target = url_for("auth.settings")
    if request.headers.get("HX-Request") == "true":
        return "", 204, {"HX-Redirect": target}
    return see_other(target)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """Language and password of the signed-in user."""
    form = SettingsForm(obj=current_user)
    if form.validate_on_submit():
        try:
            if form.new_password.data:
                signin.check_current_password(current_user, form.current_password.data or "",
                                              form.new_password.data, request.remote_addr,
                                              _device(current_user.username))
        except signin.MustWait as refusal:
            return _too_many(refusal, "auth/settings.html", form)
        except signin.SignedOutAfterTries as refusal:
            db.session.commit()
            flash(refusals.text(refusal), "warning")
            return see_other(url_for("auth.login"))
        except RuleError as refusal:
            db.session.commit()  # a wrong current password stays on the audit trail
            refusals.show(refusal, form)
        else:
            was_required = current_user.password_change_required
            users.update_settings(current_user, form.locale.data, form.new_password.data)
            db.session.commit()
            flash(_("Settings saved."), "success")
            if was_required and not current_user.password_change_required:
                return see_other(url_for("main.home"))
            return see_other(url_for("auth.settings"))
    return render("auth/settings.html", form=form, status=422 if form.errors else 200)
