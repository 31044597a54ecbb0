"""One-time form tokens: a double tap or a retried POST returns the first result, never a twin.

A token counts for one user on one kind of form: the row's key is sha256 of "user:kind:token", so the
same token sent on another form, or by another user, is a new submission of its own (not a clash).
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError, OperationalError

from crm.extensions import db
from crm.models import FormSubmission, User

TOKEN_BYTES = 16


def new_token() -> str:
    """A fresh random token for a create form."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def submission_key(token: str, user: User, kind: str) -> str:
    """The stored key of a token: 64 hex characters, whatever the token's length."""
    return hashlib.sha256(f"{user.id}:{kind}:{token}".encode()).hexdigest()


def already_submitted(token: str, user: User, kind: str) -> int | None:
    """The id of the object this token created for this user on this kind of form, if it was used."""
    found = db.session.get(FormSubmission, submission_key(token, user, kind))
    if found is None and len(token) < 64:
        # Rows written before tokens were keyed by user and form hold the raw token (22 characters).
        found = db.session.get(FormSubmission, token)
    if found is None or found.user_id != user.id or found.kind != kind:
        return None
    return found.object_id


def submit_once(token: str, user: User, kind: str, create: Callable[[], object]) -> tuple[int, bool]:
    """Run `create` and commit it with the token, or return what the token already created.

    Returns (object id, created). The token row and the new record commit in one transaction,
    so a concurrent twin either sees the token or fails on its primary key and then sees it.
    Domain exceptions raised by `create` propagate after a rollback.
    """
    for attempt in range(3):
        existing = already_submitted(token, user, kind)
        if existing is not None:
            return existing, False
        try:
            obj = create()
            db.session.flush()
            db.session.add(FormSubmission(token=submission_key(token, user, kind), user_id=user.id, kind=kind,
                                          object_id=obj.id))
            db.session.commit()
            return obj.id, True
        except (IntegrityError, OperationalError):
            # A twin request won the race (or SQLite was busy): start again and find its result.
            db.session.rollback()
            if attempt == 2:
                raise
        except Exception:
            db.session.rollback()
            raise
    raise RuntimeError("unreachable")
