"""One-time form tokens: a double tap or a retried POST returns the first result, never a twin."""
from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError, OperationalError

from crm.extensions import db
from crm.models import FormSubmission, User

TOKEN_BYTES = 16


def new_token() -> str:
    """A fresh random token for a create form."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def already_submitted(token: str, user: User, kind: str) -> int | None:
    """The id of the object this token created for this user, if it was used."""
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
            db.session.add(FormSubmission(token=token, user_id=user.id, kind=kind, object_id=obj.id))
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
