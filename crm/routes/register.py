"""The public self-registration form a QR card opens: no sign-in, no link into the signed-in app."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("register", __name__)
