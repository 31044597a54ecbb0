"""Form input kept across a re-sign-in: what was typed into a form after the session timed out.

Guarantee: the input is kept on the server (never in the browser's storage), under the user whose
session ran out; it is given back once, on that form, to that same user signing in again in the same
browser, and deleted when anyone else signs in there, when it is given back, or after a day.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import request, session
from werkzeug.datastructures import MultiDict

from crm.extensions import db
from crm.models import FormDraft, User

SESSION_KEY = "draft_id"
# The forms whose input is worth keeping: a prospect captured at the counter, a visit just logged.
KEPT_FORMS = frozenset({"clients.new", "visits.new"})
# Never kept: the form check and the one-time submission token belong to the old page.
_NOT_KEPT = frozenset({"csrf_token", "token"})
KEEP_FOR = timedelta(days=1)
MAX_BYTES = 32_000


def keep(user_id: int, endpoint: str, path: str, form: MultiDict) -> FormDraft | None:
    """Keep a submitted form for `user_id` (one draft per form and user); None when it is too large."""
    fields = {name: form.getlist(name) for name in form if name not in _NOT_KEPT}
    data = {"path": path, "fields": fields}
    if len(json.dumps(data, ensure_ascii=False).encode()) > MAX_BYTES:
        return None
    db.session.execute(sa.delete(FormDraft).where(FormDraft.user_id == user_id, FormDraft.endpoint == endpoint))
    draft = FormDraft(user_id=user_id, endpoint=endpoint, data=data)
    db.session.add(draft)
    db.session.flush()
    session[SESSION_KEY] = draft.id
    return draft


def claim(user: User) -> None:
    """After a sign-in: keep this browser's draft if it is the user's, delete it if it is someone else's."""
    draft_id = session.get(SESSION_KEY)
    if draft_id is None:
        return
    draft = db.session.get(FormDraft, draft_id) if isinstance(draft_id, int) else None
    if draft is None or draft.user_id != user.id:
        if draft is not None:
            db.session.delete(draft)
        session.pop(SESSION_KEY, None)


def take(user: User, endpoint: str) -> MultiDict | None:
    """The kept input of this form (at this URL) for this user, deleted as it is given back; else None."""
    draft_id = session.get(SESSION_KEY)
    if draft_id is None or not isinstance(draft_id, int):
        return None
    draft = db.session.get(FormDraft, draft_id)
    if draft is None or draft.user_id != user.id:
        session.pop(SESSION_KEY, None)
        return None
    if draft.endpoint != endpoint or draft.data.get("path") != request.full_path.rstrip("?"):
        return None
    session.pop(SESSION_KEY, None)
    fields = draft.data.get("fields") or {}
    db.session.delete(draft)
    db.session.flush()
    return MultiDict([(name, value) for name, values in fields.items() for value in values])


def purge_old(now: datetime) -> None:
    """Delete drafts older than a day: nobody came back for them."""
    db.session.execute(sa.delete(FormDraft).where(FormDraft.created_at < now - KEEP_FOR))
