"""Signed-in sessions kept on the server, so that signing out, a password change or an admin can end them."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.models.base import Base, utcnow


class UserSession(Base):
    """One signed-in browser (a phone, a laptop): what its cookies prove and until when.

    The session cookie carries a random key whose SHA-256 is `key_hash`; "keep me signed in" adds a
    second cookie whose token's SHA-256 is `remember_hash`, replaced on every use. Ending the row
    (`ended_at`) makes both cookies worthless at once, wherever they were copied to.
    """

    __tablename__ = "user_sessions"
    __table_args__ = (sa.Index("ix_user_sessions_user_ended", "user_id", "ended_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    key_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    remember_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    # The token it replaced: only that one, used again, is a sign of a copied cookie (any other is a guess).
    previous_remember_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    remember_until: so.Mapped[datetime | None]
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    last_seen_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    expires_at: so.Mapped[datetime]
    user_agent: so.Mapped[str] = so.mapped_column(sa.String(255), default="")
    address: so.Mapped[str] = so.mapped_column(sa.String(64), default="")  # at sign-in, then where last used
    ended_at: so.Mapped[datetime | None]
    end_reason: so.Mapped[str | None] = so.mapped_column(sa.String(30))

    user: so.Mapped["User"] = so.relationship()  # noqa: F821


class SignInAttempt(Base):
    """One try at signing in, kept so that throttling is shared by every web process (no Redis needed)."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        sa.Index("ix_sign_in_attempts_username_at", "username_key", "at"),
        sa.Index("ix_sign_in_attempts_address_at", "address", "at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    username_key: so.Mapped[str] = so.mapped_column(sa.String(80))
    address: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    # The browser's known-device key for this username (set after a success there), so that guesses from
    # elsewhere behind the same address never slow the owner's own phone down.
    device: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    succeeded: so.Mapped[bool] = so.mapped_column(default=False)
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class FormDraft(Base):
    """What someone typed into a form when their session had ended, given back after they sign in again."""

    __tablename__ = "form_drafts"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    endpoint: so.Mapped[str] = so.mapped_column(sa.String(80))
    data: so.Mapped[dict] = so.mapped_column(sa.JSON)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
