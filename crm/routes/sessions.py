"""Signed-in sessions: "my sessions", staying signed in, and how every request learns who is signed in."""
from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    has_request_context,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_url
from werkzeug.datastructures import MultiDict

from crm.extensions import db, login_manager
from crm.models import utcnow
from crm.routes.helpers import render, safe_next, see_other
from crm.services import drafts, sessions

bp = Blueprint("sessions", __name__)


@bp.get("/settings/sessions")
@login_required
def index():
    """The browsers and phones where I am signed in; end any of them."""
    return render("sessions/index.html", rows=sessions.live_sessions(current_user), this=sessions.current(),
                  device_label=sessions.device_label)


@bp.post("/settings/sessions/<int:session_id>/end")
@login_required
def end(session_id: int):
    """Sign out one of my sessions (another person's session id is a 404)."""
    if session_id == getattr(sessions.current(), "id", None):
        # Ending this device is signing out here: one audit row (auth.sign_out), not two.
        sessions.sign_out()
        db.session.commit()
        return see_other(url_for("auth.login"))
    row = sessions.end_one(current_user, session_id, current_user)
    if row is None:
        abort(404)
    db.session.commit()
    flash(_("Signed out on %(device)s.", device=sessions.device_label(row.user_agent)), "success")
    return see_other(url_for("sessions.index"))


@bp.post("/settings/sessions/end-others")
@login_required
def end_others():
    """Sign out everywhere except on this device."""
    count = sessions.end_all(current_user, "user", current_user, keep=sessions.current())
    db.session.commit()
    flash(_("Signed out on every other device (%(count)s).", count=count), "success")
    return see_other(url_for("sessions.index"))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/session/keep-alive")
@login_required
def keep_alive():
    """The "stay signed in" button: count now as activity; answers the seconds left (JSON) or goes back."""
    seconds = sessions.keep_alive()
    db.session.commit()
    if _wants_json():
        return jsonify(seconds=seconds, signed_in=True)
    flash(_("You stay signed in."), "success")
    return see_other(safe_next(request.form.get("next")))


@bp.get("/session/status")
def status():
    """How long this session has left; asking does not count as activity."""
    row = sessions.current() if current_user.is_authenticated else None
    seconds = sessions.seconds_left(row) if row is not None else 0
    return jsonify(seconds=seconds, signed_in=row is not None)


def restored_input(endpoint: str) -> MultiDict | None:
    """On a kept form's GET: what the user typed there before their session ended, once, with a message."""
    if request.method != "GET" or not current_user.is_authenticated:
        return None
    data = drafts.take(current_user, endpoint)
    if data is None:
        return None
    db.session.commit()
    flash(_("What you typed before your session ended is back: check it and save."), "info")
    return data


def _timer() -> dict | None:
    """For the page: seconds until an ordinary session ends without activity (none when remembered)."""
    if not current_user.is_authenticated:
        return None
    row = sessions.current()
    if row is None or row.remember_until is not None:
        return None
    return {"seconds": sessions.seconds_left(row), "warn": current_app.config["CRM_SESSION_WARN_SECONDS"],
            "keeps_input": request.endpoint in drafts.KEPT_FORMS}


def _unauthorized():
    """Not signed in: keep a timed-out form's input, then off to the sign-in page (or 401 for the timer)."""
    if request.endpoint == "sessions.keep_alive" and _wants_json():
        return jsonify(seconds=0, signed_in=False), 401
    lapsed = sessions.lapsed()
    if lapsed is not None and request.method == "POST" and request.endpoint in drafts.KEPT_FORMS:
        path = request.full_path.rstrip("?")
        if drafts.keep(lapsed.user_id, request.endpoint, path, request.form) is not None:
            db.session.commit()
            flash(_("Your session ended. Sign in again: what you typed is kept."), "info")
            return see_other(url_for("auth.login", next=path))
    if lapsed is not None:
        flash(_("Your session ended because it was not used for a while. Please sign in again."), "info")
    elif sessions.ended_elsewhere():
        flash(_("You were signed out on this device (from another device, by an administrator, or for safety). "
                "Please sign in again."), "info")
    else:
        flash(str(login_manager.login_message), login_manager.login_message_category)
    return redirect(login_url(login_manager.login_view, next_url=request.url))


def _set_cookies(response):
    """Replace or delete the remember cookie as this request decided; drop Flask-Login's old one."""
    action = sessions.remember_cookie()
    secure = current_app.config["SESSION_COOKIE_SECURE"]
    if action is None:
        response.delete_cookie(sessions.REMEMBER_COOKIE, httponly=True, secure=secure, samesite="Lax")
    elif action:
        value, until = action
        response.set_cookie(sessions.REMEMBER_COOKIE, value, max_age=max(0, int((until - utcnow()).total_seconds())),
                            httponly=True, secure=secure, samesite="Lax")
    if sessions.drop_legacy_cookie():
        response.delete_cookie(sessions.LEGACY_REMEMBER_COOKIE)
    return response


def register(app: Flask) -> None:
    """Every way Flask-Login finds a user goes through the session rows; cookies and timer set here."""
    # Flask-Login asks user_loader when its id is in the session, else request_loader: both check the row.
    login_manager.user_loader(lambda _user_id: sessions.load_user())
    login_manager.request_loader(lambda _request: sessions.load_user())
    login_manager.unauthorized_handler(_unauthorized)
    app.after_request(_set_cookies)

    @app.before_request
    def resolve_session() -> None:
        """Check the cookies against the session rows first, so that what that check writes (a touch, a
        timeout ending, a rotation) commits on its own, before any view has changed anything."""
        if request.endpoint != "static":
            sessions.load_user()

    @app.context_processor
    def session_timer() -> dict:
        return {"session_timer": _timer() if has_request_context() else None}
