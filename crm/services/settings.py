"""Run-time settings with built-in defaults; admins override them on the settings page."""
from __future__ import annotations

from dataclasses import dataclass

from crm.extensions import db
from crm.models import Setting, User, utcnow
from crm.services import audit


@dataclass(frozen=True)
class SettingSpec:
    """A setting's default and allowed range."""

    key: str
    default: int
    minimum: int
    maximum: int


SPECS = {
    spec.key: spec for spec in (
        SettingSpec("assessment_expiry_months", 24, 1, 60),
        SettingSpec("assessment_warning_days", 30, 1, 180),
        SettingSpec("dormant_default_days", 90, 1, 3650),     # no contact, for clients without a tier
        SettingSpec("dormant_asset_days", 180, 1, 3650),      # no change in total assets
        SettingSpec("at_risk_drop_percent", 30, 1, 100),      # assets fell at least this much...
        SettingSpec("at_risk_drop_days", 30, 1, 365),         # ...within this many days
        SettingSpec("at_risk_satisfaction_max", 2, 1, 4),     # last satisfaction score at or below
        SettingSpec("callback_sample_percent", 10, 1, 100),   # yearly call-back sample of active clients
        SettingSpec("flag_followups_per_day", 30, 1, 10000),  # new flag follow-ups per manager and working day
        # Complaint deadlines in working days per severity (DOMAIN.md §9).
        SettingSpec("complaint_ack_days_normal", 1, 0, 10),
        SettingSpec("complaint_ack_days_serious", 1, 0, 10),
        SettingSpec("complaint_ack_days_major", 1, 0, 10),
        SettingSpec("complaint_resolve_days_normal", 15, 1, 60),
        SettingSpec("complaint_resolve_days_serious", 10, 1, 60),
        SettingSpec("complaint_resolve_days_major", 5, 1, 60),
        # Service plans: follow-ups this many days ahead; an open one is missed this many days late.
        SettingSpec("plan_lead_days", 7, 0, 60),
        SettingSpec("plan_grace_days", 7, 1, 60),
        # Reminder emails are handed to the mail server at least this many minutes before the due time.
        SettingSpec("reminder_lead_minutes", 15, 0, 1440),
        # 撞单: clashes with clients a person cannot open, per person and hour, before entries are refused.
        SettingSpec("capture_clash_per_hour", 10, 1, 1000),
        # 保护期: calendar days a prospect stays its owner's without a contact before the team pool.
        SettingSpec("protection_days", 7, 1, 90),
        # A new channel partner is kept in touch with at least every this many days.
        SettingSpec("partner_cadence_days", 30, 7, 365),
    )
}


def get_int(key: str) -> int:
    """The current value of an integer setting."""
    spec = SPECS[key]
    row = db.session.get(Setting, key)
    if row is None:
        return spec.default
    try:
        return int(row.value)
    except ValueError:
        return spec.default


def set_int(key: str, value: int, actor: User) -> None:
    """Change a setting within its range; the change is audited."""
    spec = SPECS[key]
    if not spec.minimum <= value <= spec.maximum:
        raise ValueError(key)
    row = db.session.get(Setting, key)
    before = row.value if row else str(spec.default)
    if row is None:
        row = Setting(key=key, value=str(value))
        db.session.add(row)
    row.value, row.updated_by_id, row.updated_at = str(value), actor.id, utcnow()
    if before != str(value):
        audit.record(actor, "setting.update", "setting", None,
                     params={"setting": key, "from": before, "to": str(value)})
    db.session.flush()


def all_values() -> dict[str, int]:
    """Every setting's current value."""
    return {key: get_int(key) for key in SPECS}
