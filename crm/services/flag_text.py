"""A client's flag reasons in words with their figures: one formatter for the Team page, Today and the emails."""
from __future__ import annotations

from collections.abc import Iterable

from flask_babel import format_date
from flask_babel import gettext as _

from crm.domain.formats import fen_to_yuan
from crm.labels import FLAG_REASONS, INTENTS
from crm.services.scan import FlagFigures


def money(fen: int) -> str:
    """Integer fen as yuan with two decimals and the yuan sign: ¥2,500,000.00."""
    return "¥" + fen_to_yuan(fen)


def drop_percent(peak_fen: int, latest_fen: int) -> int:
    """How far assets fell from the peak, in whole percent rounded down (the scan's integer arithmetic)."""
    return (peak_fen - latest_fen) * 100 // peak_fen


def reason_text(code: str, figures: FlagFigures | None) -> str:
    """One reason in words, with its figures when they are known; the plain label otherwise."""
    f = figures
    if f is not None:
        if code == "no_contact" and f.last_contact_on is not None and not f.ever_contacted:
            # An imported client nobody has contacted yet: "1684 days" would read as a neglected file.
            return _("No contact on record since %(since)s (%(limit)s days allowed)",
                     since=format_date(f.last_contact_on, "medium"), limit=f.contact_limit_days)
        if code == "no_contact" and f.last_contact_on is not None:
            days = (f.today - f.last_contact_on).days
            if f.tier_name:
                return _("%(days)s days without contact (%(tier)s: %(limit)s days)",
                         days=days, tier=f.tier_name, limit=f.contact_limit_days)
            return _("%(days)s days without contact (limit %(limit)s days)", days=days, limit=f.contact_limit_days)
        if code == "no_asset_activity" and f.last_change_on is not None:
            return _("%(days)s days without asset change (setting %(limit)s days)",
                     days=(f.today - f.last_change_on).days, limit=f.asset_limit_days)
        if code == "assets_drop" and f.peak_fen and f.latest_fen is not None:
            return _("Assets %(peak)s → %(latest)s (−%(percent)s %% within %(days)s days)",
                     peak=money(f.peak_fen), latest=money(f.latest_fen),
                     percent=drop_percent(f.peak_fen, f.latest_fen), days=f.drop_days)
        if code == "low_satisfaction" and f.satisfaction is not None:
            return _("Satisfaction score %(score)s of 5", score=f.satisfaction)
        if code == "leaving_intent" and f.intent in INTENTS:
            return str(INTENTS[f.intent])
    return str(FLAG_REASONS.get(code, code))


def reason_texts(codes: Iterable[str], figures: FlagFigures | None) -> list[str]:
    """Each reason code in words, in the order given."""
    return [reason_text(code, figures) for code in codes]
