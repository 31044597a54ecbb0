"""Signed-in browsers kept on the server: sign-in, sign-out, timeouts, "keep me signed in", ending sessions.

Guarantee: a request is signed in only when its session cookie names (by a random `sid` whose SHA-256
is stored) a `UserSession` row of an active user that has not ended, is not past `expires_at` and, unless
remembered, has been used within the idle timeout; or when its `crm_remember` cookie holds the row's
current remember token, which is then replaced (with a new `sid`) on that use. Ending a row makes every
copy of both cookies worthless at once. The token a live row's current one replaced, used again (a copy
used after the real browser rotated it, and not seconds after: see ROTATION_GRACE), ends that row as
probable theft; any other token is only refused, so guessing row ids signs nobody out.

Flask-Login's own remember cookie is never used: it is the same on every sign-in and cannot be revoked.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request, session
from flask_babel import force_locale
from flask_login import login_user, logout_user

from crm import labels
from crm.domain.devices import read_device
from crm.domain.formats import parse_id
from crm.extensions import db
from crm.models import User, UserSession, utcnow
from crm.services import audit, drafts

SID_KEY = "sid"
REMEMBER_COOKIE = "crm_remember"
LEGACY_REMEMBER_COOKIE = "remember_token"  # Flask-Login's, from before server-side sessions
# Kept across a sign-in: the language chosen on the sign-in page, the form input waiting to be given back.
_KEPT_ON_SIGN_IN = ("locale", drafts.SESSION_KEY)
# Ended rows are kept this long for "my sessions" and investigations, then deleted at the user's next sign-in.
PURGE_AFTER = timedelta(days=30)
# An old remember token arriving this soon after the session was last used is refused without
# calling it theft: two tabs of one browser may race after the session cookie lapsed.
ROTATION_GRACE = timedelta(seconds=10)
# Requests that must not count as activity (a page asking how long it has left).
BACKGROUND_HEADER = "X-Session-Background"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def idle_limit() -> timedelta:
    """How long an ordinary session may go unused (CRM_SESSION_IDLE_MINUTES)."""
    return timedelta(seconds=current_app.config["CRM_SESSION_IDLE_SECONDS"])


def _touch_every() -> timedelta:
    return timedelta(seconds=current_app.config.get("CRM_SESSION_TOUCH_SECONDS", 60))


def device_label(user_agent: str | None) -> str:
    """A short name of the device, in the current language: "iPhone · 微信", "Windows · Edge"."""
    platform, browser = read_device(user_agent)
    parts = [platform, str(labels.DEVICE_BROWSERS.get(browser, "")) if browser else ""]
    text = " · ".join(part for part in parts if part)
    return text or str(labels.DEVICE_BROWSERS[""])


def _device_in_english(user_agent: str | None) -> str:
    with force_locale("en"):
        return device_label(user_agent)


# ---------------------------------------------------------------- rules on one row

def end_reason_now(row: UserSession, now: datetime) -> str | None:
    """Why the row can no longer sign anyone in ("ended" if it already ended, "idle", "expired"), or None."""
    if row.ended_at is not None:
        return "ended"
    if now >= row.expires_at:
        return "expired"
    if row.remember_until is None and now - row.last_seen_at >= idle_limit():
        return "idle"
    return None


def seconds_left(row: UserSession, now: datetime | None = None) -> int:
    """Seconds until the row ends if nothing more happens: the idle deadline or the absolute one."""
    now = now or utcnow()
    deadline = row.expires_at
    if row.remember_until is None:
        deadline = min(deadline, row.last_seen_at + idle_limit())
    return max(0, math.ceil((deadline - now).total_seconds()))  # 0 only once it has ended


def _wrote() -> None:
    """Note that resolving this request's session changed a row (committed before the request goes on)."""
    if has_request_context():
        g._crm_wrote = True


def _end(row: UserSession, reason: str, now: datetime | None = None) -> None:
    _wrote()
    row.ended_at = now or utcnow()
    row.end_reason = reason
    row.remember_hash = None


# ---------------------------------------------------------------- this request

@dataclass
class _Resolved:
    """What this request's cookies proved: the session row and its user, or the row that just ran out."""

    row: UserSession | None = None
    user: User | None = None
    lapsed: UserSession | None = None  # the cookie's row, ended by a timeout: its user may get input back
    ended_elsewhere: bool = False  # the cookie's row was ended from another device, by an admin or for safety


def current() -> UserSession | None:
    """The signed-in session of this request, if any."""
    if not has_request_context():
        return None
    resolved = g.get("_crm_session")
    return resolved.row if resolved is not None else None


def lapsed() -> UserSession | None:
    """The row this request's session cookie names when it ended by the idle or absolute timeout."""
    resolved = g.get("_crm_session") if has_request_context() else None
    return resolved.lapsed if resolved is not None else None


def ended_elsewhere() -> bool:
    """Whether this request's session cookie names a session someone ended (not a timeout, not a sign-out here)."""
    resolved = g.get("_crm_session") if has_request_context() else None
    return bool(resolved is not None and resolved.ended_elsewhere)


def load_user() -> User | None:
    """The user this request is signed in as, checked once per request against the session rows."""
    resolved = g.get("_crm_session")
    if resolved is None:
        resolved = g._crm_session = _resolve()
        if g.pop("_crm_wrote", False):
            db.session.commit()  # a touch, an ending or a rotation: at the start of the request, alone
    return resolved.user


def _resolve() -> _Resolved:
    now = utcnow()
    if LEGACY_REMEMBER_COOKIE in request.cookies:
        g._crm_drop_legacy_cookie = True
    found = _from_sid(session.get(SID_KEY), now)
    if found.user is not None:
        return found
    remembered = _from_remember_cookie(request.cookies.get(REMEMBER_COOKIE), now)
    if remembered.user is not None:
        return remembered
    return found


def _live_user(row: UserSession) -> User | None:
    user = db.session.get(User, row.user_id)
    return user if user is not None and user.active else None


def _from_sid(sid: object, now: datetime) -> _Resolved:
    if not isinstance(sid, str) or not sid:
        return _Resolved()
    row = db.session.execute(sa.select(UserSession).where(UserSession.key_hash == _hash(sid))).scalar_one_or_none()
    if row is None:
        return _Resolved()
    reason = end_reason_now(row, now)
    if reason in ("idle", "expired"):
        _end(row, reason, now)
    if reason is not None:
        timed_out = row.end_reason in ("idle", "expired")
        return _Resolved(lapsed=row if timed_out and _live_user(row) is not None else None,
                         ended_elsewhere=not timed_out and row.end_reason != "sign-out")
    user = _live_user(row)
    if user is None:
        return _Resolved()
    if now - row.last_seen_at >= _touch_every() and not _is_background():
        row.last_seen_at = now
        row.address = (request.remote_addr or "")[:64]  # where it was last used (a phone moves between networks)
        _wrote()
    return _Resolved(row=row, user=user)


def _is_background() -> bool:
    return request.headers.get(BACKGROUND_HEADER) == "1" or request.endpoint == "sessions.status"


def _from_remember_cookie(value: str | None, now: datetime) -> _Resolved:
    """Sign in again from "keep me signed in": the token must be the row's current one; it is replaced."""
    if not value:
        return _Resolved()
    g._crm_remember = None  # whatever happens next, this cookie is answered (replaced or deleted)
    ident, _, token = value.partition(".")
    session_id = parse_id(ident)  # not isdigit()/int(): "²" is a digit to Python, 10**10 too big for the column
    row = db.session.get(UserSession, session_id) if session_id is not None else None
    if row is None or not token or row.remember_until is None:
        return _Resolved()
    if row.remember_hash is None or not hmac.compare_digest(row.remember_hash, _hash(token)):
        replaced = row.previous_remember_hash is not None and hmac.compare_digest(
            row.previous_remember_hash, _hash(token))
        if not replaced:
            # Not a token this session ever had since its last rotation: a guess at the row id (ids are
            # sequential) or a long-stale copy. Refused, and the session is left alone: a guess must not
            # be able to sign anyone out.
            return _Resolved()
        if end_reason_now(row, now) is None and now - row.last_seen_at < ROTATION_GRACE:
            # Most likely the same browser's second tab, sent before the new cookie arrived: refused,
            # and its cookie left alone so that this answer cannot delete the new one.
            g._crm_remember = False
        elif end_reason_now(row, now) is None:
            # The browser it belongs to has moved on to a newer token: this one was copied.
            _end(row, "token-reuse", now)
            audit.record(None, "auth.session_ended", "user", row.user_id, params={
                "device": _device_in_english(row.user_agent), "end_reason": "token-reuse"})
        return _Resolved()
    reason = end_reason_now(row, now)
    user = _live_user(row)
    if reason is not None or user is None:
        if reason == "expired":
            _end(row, reason, now)
        return _Resolved()
    sid, new_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    # Conditional: of two requests racing with the same token, one rotates, the other is refused.
    claimed = db.session.execute(
        sa.update(UserSession).where(UserSession.id == row.id, UserSession.remember_hash == row.remember_hash)
        .values(key_hash=_hash(sid), remember_hash=_hash(new_token), previous_remember_hash=row.remember_hash,
                last_seen_at=now)
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        # The twin request rotated first: its answer carries the new cookie, which this one must not delete.
        g._crm_remember = False
        return _Resolved()
    _wrote()
    db.session.refresh(row)
    _start_flask_session(user, sid)
    g._crm_remember = (f"{row.id}.{new_token}", row.remember_until)
    return _Resolved(row=row, user=user)


def _start_flask_session(user: User, sid: str) -> None:
    kept = {key: session[key] for key in _KEPT_ON_SIGN_IN if key in session}
    session.clear()
    session.update(kept)
    session[SID_KEY] = sid
    session.permanent = True
    login_user(user, remember=False, fresh=True)


def remember_cookie() -> tuple[str, datetime] | None | bool:
    """What to do with the remember cookie after this request: (value, until) to set, None to delete it,
    False to leave it alone."""
    return g.get("_crm_remember", False)


def drop_legacy_cookie() -> bool:
    """Whether this request carried Flask-Login's old remember cookie (deleted in the answer)."""
    return bool(g.get("_crm_drop_legacy_cookie"))


# ---------------------------------------------------------------- sign-in and sign-out

def sign_in(user: User, remember: bool) -> UserSession:
    """Start a new session for the user in this browser (a fresh sid; with `remember`, a remember token)."""
    now = utcnow()
    config = current_app.config
    agent = (request.user_agent.string or "")[:255]
    row = UserSession(user_id=user.id, key_hash="", created_at=now, last_seen_at=now,
                      expires_at=now + timedelta(hours=config["CRM_SESSION_HOURS"]),
                      user_agent=agent, address=(request.remote_addr or "")[:64])
    sid = secrets.token_urlsafe(32)
    row.key_hash = _hash(sid)
    token = None
    if remember:
        token = secrets.token_urlsafe(32)
        row.remember_hash = _hash(token)
        row.remember_until = row.expires_at = now + timedelta(days=config["CRM_REMEMBER_DAYS"])
    db.session.add(row)
    db.session.flush()
    _start_flask_session(user, sid)
    g._crm_session = _Resolved(row=row, user=user)
    g._crm_remember = (f"{row.id}.{token}", row.remember_until) if token else None
    audit.record(user, "auth.sign_in", "user", user.id,
                 params={"remember": remember, "device": _device_in_english(agent)})
    _purge(user, now)
    drafts.claim(user)
    return row


def _purge(user: User, now: datetime) -> None:
    """Forget this user's sessions that ended (or ran out) more than 30 days ago, and stale drafts."""
    cutoff = now - PURGE_AFTER
    db.session.execute(sa.delete(UserSession).where(
        UserSession.user_id == user.id,
        sa.or_(UserSession.ended_at < cutoff, UserSession.expires_at < cutoff)))
    drafts.purge_old(now)


def sign_out() -> None:
    """End this browser's session (both cookies stop working everywhere) and forget who was signed in."""
    row = current()
    user = db.session.get(User, row.user_id) if row is not None else None
    if row is not None:
        _end(row, "sign-out")
        audit.record(user, "auth.sign_out", "user", row.user_id,
                     params={"device": _device_in_english(row.user_agent)})
    logout_user()
    session.clear()
    g._crm_remember = None
    g._crm_drop_legacy_cookie = True
    g._crm_session = _Resolved()
    db.session.flush()


# ---------------------------------------------------------------- several sessions

def live_sessions(user: User) -> list[UserSession]:
    """The user's sessions that can still sign in, most recently used first (timeouts applied)."""
    now = utcnow()
    rows = db.session.execute(sa.select(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())).scalars()
    return [row for row in rows if end_reason_now(row, now) is None]


def end_one(user: User, session_id: int, actor: User) -> UserSession | None:
    """End one of the user's live sessions; None when the user has no such live session."""
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != user.id or end_reason_now(row, utcnow()) is not None:
        return None
    _end(row, "user" if actor.id == user.id else "admin")
    audit.record(actor, "auth.session_ended", "user", user.id, params={
        "device": _device_in_english(row.user_agent), "end_reason": row.end_reason})
    db.session.flush()
    return row


def end_all(user: User, reason: str, actor: User | None, keep: UserSession | None = None,
            record_none: bool = True) -> int:
    """End every live session of the user except `keep`; audited with how many and why (when none was live,
    only if `record_none`: an explicit "sign out everywhere" is recorded, a password change's no-op is not).
    Returns the count."""
    now = utcnow()
    rows = db.session.execute(sa.select(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None))).scalars().all()
    count = 0
    for row in rows:
        if keep is not None and row.id == keep.id:
            continue
        if end_reason_now(row, now) is None:
            count += 1
        _end(row, reason, now)
    if count or record_none:
        audit.record(actor, "auth.sessions_ended", "user", user.id, params={"count": count, "end_reason": reason})
    db.session.flush()
    return count


def rotate_current() -> None:
    """Give this browser's session a new sid (and remember token): copies of its old cookies stop working."""
    row = current()
    if row is None:
        return
    sid = secrets.token_urlsafe(32)
    row.key_hash = _hash(sid)
    session[SID_KEY] = sid
    if row.remember_until is not None:
        token = secrets.token_urlsafe(32)
        row.previous_remember_hash, row.remember_hash = row.remember_hash, _hash(token)
        g._crm_remember = (f"{row.id}.{token}", row.remember_until)
    db.session.flush()


def keep_alive() -> int:
    """Count now as activity on this session (the "stay signed in" button); the seconds it has left."""
    row = current()
    if row is None:
        return 0
    row.last_seen_at = utcnow()
    db.session.flush()
    return seconds_left(row)
