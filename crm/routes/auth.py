"""Sign-in, sign-out and personal settings."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.extensions import db, limiter
from crm.forms.auth import LoginForm, SettingsForm
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


def _too_many(form_field, wait: signin.Wait, template: str, form):
    """429 with the wait on the form: the password was not looked at."""
    form_field.errors.append(_("Too many attempts. Please try again in %(seconds)s seconds.", seconds=wait.seconds))
    body, status = render(template, form=form, status=429)
    return body, status, {"Retry-After": str(wait.seconds)}


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
        wait = signin.wait_for(form.username.data, address, device=device)
        if wait is not None:
            # The password is not looked at; the same answer whether the account exists or not.
            return _too_many(form.password, wait, "auth/login.html", form)
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
        form.password.errors.append(_("Wrong username or password."))
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
        stop = _check_current_password(form) if form.new_password.data else None
        if stop is not None:
            return stop
        if form.current_password.errors:
            pass  # wrong: said so on the form
        elif form.new_password.data and form.new_password.data == form.current_password.data:
            form.new_password.errors.append(_("Choose a password different from the current one."))
        else:
            was_required = current_user.password_change_required
            users.update_settings(current_user, form.locale.data, form.new_password.data)
            db.session.commit()
            flash(_("Settings saved."), "success")
            if was_required and not current_user.password_change_required:
                return see_other(url_for("main.home"))
            return see_other(url_for("auth.settings"))
    return render("auth/settings.html", form=form, status=422 if form.errors else 200)


# Wrong current passwords in one session before Settings signs this browser out.
SETTINGS_TRIES = 5


def _check_current_password(form):
    """Settings' current-password check, through the sign-in throttle and audited like a sign-in.

    A wrong one adds an error to the form; the answer to return instead when the try must wait, or
    when it is the session's fifth wrong one (this browser is then signed out).
    """
    username, address, row = current_user.username, request.remote_addr, sessions.current()
    device = _device(username)
    wait = signin.wait_for(username, address, device=device)
    if wait is not None:
        return _too_many(form.current_password, wait, "auth/settings.html", form)
    if current_user.check_password(form.current_password.data or ""):
        signin.record_success(current_user, username, address, device=device)
        return None
    signin.record_failure(username, address, device=device, where=signin.SETTINGS,
                          session_id=row.id if row else None)
    if row is not None and signin.failures_in_session(current_user, row.id, row.created_at) >= SETTINGS_TRIES:
        sessions.sign_out()
        db.session.commit()
        flash(_("The current password was wrong %(count)s times: you have been signed out. Please sign in again.",
                count=SETTINGS_TRIES), "warning")
        return see_other(url_for("auth.login"))
    db.session.commit()
    form.current_password.errors.append(_("The current password is not right."))
    return None
