"""Template filters and globals, and the render/redirect helpers every route uses."""
from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlsplit

from flask import Flask, current_app, has_app_context, redirect, render_template, request, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user
from jinja2_fragments.flask import render_block
from werkzeug.routing import IntegerConverter

from crm import labels
from crm.domain.formats import MAX_ID, fen_to_yuan, mask_id_number, mask_mobile
from crm.services import flag_text


class IdConverter(IntegerConverter):
    """`<int:…>` in our URLs names a database id (at most MAX_ID): a larger number is a 404, never a 500."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def is_htmx() -> bool:
    """True for an htmx request that is not a boosted full-page navigation."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def htmx_target() -> str | None:
    """The element id an htmx request will swap, if it is a fragment request."""
    return request.headers.get("HX-Target") if is_htmx() else None


def render(template: str, fragment: str | None = None, status: int = 200, **context):
    """Render the whole page, or only the named block when an htmx request targets it."""
    if fragment and htmx_target() == fragment:
        return render_block(template, fragment, **context), status
    return render_template(template, **context), status


def see_other(url: str):
    """303 after a POST so a reload never re-submits."""
    return redirect(url, code=303)


def safe_next(target: str | None) -> str:
    """Follow a ?next= or next field only to a path on this site, else go to the start page.

    Browsers drop tabs and newlines inside URLs, so "/\t/evil.com" would become "//evil.com": any control
    character or backslash makes the target refused.
    """
    if target and target.startswith("/") and not any(ch < " " or ch in "\\\x7f" for ch in target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and not target.startswith("//"):
            return target
    return url_for("main.home")


def local_datetime(value: datetime | None, fmt: str = "short") -> str:
    """A UTC datetime shown in Asia/Shanghai in the user's language."""
    if value is None:
        return ""
    if fmt == "input":
        return format_datetime(value, "yyyy-MM-dd'T'HH:mm")
    return format_datetime(value, fmt)


def local_date(value: date | None, fmt: str = "medium") -> str:
    """A date in the user's language."""
    return "" if value is None else format_date(value, fmt)


def label(code: str | None, mapping_name: str) -> str:
    """The translated label of a stored code, from the crm.labels map named `mapping_name`.

    A name that is not a label map raises LookupError everywhere: it is a template bug, and the pages'
    tests render it. A code missing from a map of a stored enum (EnumLabels) raises LookupError in tests
    and debug, so a member added without a label fails there; in production it shows the code itself, so
    a value written by a newer worker during a deploy never turns a page into a 500. A code missing from
    any other map (codes without an enum, such as flag reasons) shows as itself.
    """
    mapping = getattr(labels, mapping_name, None) if mapping_name.isupper() else None
    if not isinstance(mapping, dict):
        raise LookupError(f"crm.labels has no label map named {mapping_name!r}")
    if code is None or code == "":
        return ""
    for key, text in mapping.items():
        if str(key) == str(code):
            return str(text)
    if isinstance(mapping, labels.EnumLabels) and has_app_context() and (current_app.testing or current_app.debug):
        raise LookupError(f"{code!r} has no label in crm.labels.{mapping_name} ({mapping.enum.__name__})")
    return str(code)


PROFILE_VALUE_LABELS = {
    "income_band": "INCOME_BANDS", "assets_band": "ASSETS_BANDS", "product_types": "PRODUCT_TYPES",
    "goals": "GOALS", "horizon": "HORIZONS", "liquidity_need": "LIQUIDITY_NEEDS",
    "preference": "PREFERENCES", "contact_channel": "CONTACT_CHANNELS",
}


def profile_value(value, field: str) -> str:
    """A needs-profile value in words (comma lists become 、-joined labels)."""
    if value in (None, ""):
        return ""
    mapping = PROFILE_VALUE_LABELS.get(field)
    if mapping is None:
        return str(value)
    return "、".join(label(code, mapping) for code in str(value).split(",") if code)


def followup_title(followup) -> str:
    """A follow-up's title; a scan flag's stored codes ("at_risk: assets_drop,...") in words."""
    title = followup.title or ""
    if followup.source == "flag" and ":" in title:
        kind, _, codes = title.partition(":")
        reasons = "、".join(label(code.strip(), "FLAG_REASONS") for code in codes.split(",") if code.strip())
        return f"{label(kind.strip(), 'FLAG_KINDS')}：{reasons}"
    return title


def yuan(fen: int | None) -> str:
    """Integer fen as yuan with two decimals."""
    return "" if fen is None else fen_to_yuan(fen)


def register(app: Flask) -> None:
    """Install filters and globals."""
    app.jinja_env.filters.update(
        local_datetime=local_datetime, local_date=local_date, mask_mobile=mask_mobile,
        mask_id=mask_id_number, label=label, profile_value=profile_value, yuan=yuan, followup_title=followup_title,
        flag_reasons=flag_text.reason_texts,
    )
    app.jinja_env.globals.update(labels=labels, is_htmx=is_htmx, get_locale=get_locale,
                                 current_user=current_user)
