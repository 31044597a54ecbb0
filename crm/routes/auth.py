"""Sign-in, sign-out and personal settings."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.extensions import db, limiter
from crm.forms.auth import LoginForm, SettingsForm
from crm.routes.helpers import render, safe_next, see_other
from crm.services import sessions, signin, users

bp = Blueprint("auth", __name__)


def _failed(response) -> bool:
    """Only failed (or throttled) sign-ins count against the flood guard; a success redirects with 303."""
    return response.status_code != 303


_safe_next = safe_next  # the one check of ?next= (crm.routes.helpers)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CRM_LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"],
               deduct_when=_failed)
def login():
    """Sign in with username and password."""
    if current_user.is_authenticated:
        return see_other(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        address = request.remote_addr
        wait = signin.wait_for(form.username.data, address)
        if wait is not None:
            # The password is not looked at; the same answer whether the account exists or not.
            form.password.errors.append(_("Too many attempts. Please try again in %(seconds)s seconds.",
                                          seconds=wait.seconds))
            body, status = render("auth/login.html", form=form, status=429)
            return body, status, {"Retry-After": str(wait.seconds)}
        user = users.authenticate(form.username.data, form.password.data)
        if user is not None:
            signin.record_success(user, form.username.data, address)
            sessions.sign_in(user, remember=form.remember.data)
            users.require_change_if_weak(user, form.password.data)
            db.session.commit()
            return see_other(_safe_next(request.args.get("next")))
        # Same words whether the account is unknown, inactive or the password wrong.
        signin.record_failure(form.username.data, address)
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


@bp.before_app_request
def require_password_change():
    """A user whose password no longer meets the rules (or was reset by an admin) must change it first."""
    if (request.endpoint in _OPEN_WHILE_PASSWORD_CHANGE or not current_user.is_authenticated
            or not current_user.password_change_required):
        return None
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
        if form.new_password.data and not current_user.check_password(form.current_password.data or ""):
            form.current_password.errors.append(_("The current password is not right."))
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
