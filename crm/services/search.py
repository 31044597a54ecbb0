"""The one search rule of the lists and pickers (clients, partners, referrers), in index-served SQL."""
from __future__ import annotations

import sqlalchemy as sa

from crm.services import dialect


def starts_with(column, prefix: str) -> sa.ColumnElement[bool]:
    """`column` starts with the ASCII `prefix`, in a form each database serves from its index.

    PostgreSQL uses LIKE 'p%' with the varchar_pattern_ops indexes; SQLite never uses an index for
    LIKE with a bound pattern, but does for the equivalent range [p, p+1).
    """
    if not dialect.is_postgresql():
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return sa.and_(column >= prefix, column < upper)
    return column.startswith(prefix, autoescape=True)


def matches(model, q: str, *also_text) -> sa.ColumnElement[bool] | None:
    """What `q` finds on a model with name, pinyin and reversed-mobile keys; None for an empty `q`.

    Digits match the last digits of the mobile, letters the start of the pinyin initials or full pinyin,
    anything else part of the name (and of the `also_text` columns, e.g. a partner's organisation).
    """
    q = q.strip()
    if not q:
        return None
    if q.isdigit():
        return starts_with(model.mobile_reversed, q[::-1])
    if q.isascii() and q.replace(" ", "").isalpha():
        letters = q.replace(" ", "").lower()
        return sa.or_(starts_with(model.name_initials, letters), starts_with(model.name_pinyin, letters))
    return sa.or_(*(column.contains(q, autoescape=True) for column in (model.name, *also_text)))
