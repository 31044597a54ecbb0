"""Labels of administration: roles, languages, and the trail's user, team, outlet and calendar actions."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.labels.maps import EnumLabels
from crm.models import Role

ROLES = EnumLabels(Role, {
    Role.MANAGER: _l("Client manager"),
    Role.LEAD: _l("Team lead"),
    Role.ADMIN: _l("Compliance / admin"),
})

# Each language is named in itself, so it is not translated.
LOCALES = {"zh_CN": "简体中文", "en": "English"}

# The parts crm/labels/audit.py assembles.
ACTIONS = {
    "user.create": _l("User created"),
    "user.update": _l("User changed"),
    "auth.password_changed": _l("Password changed"),
    "team.create": _l("Team created"),
    "team.rename": _l("Team renamed"),
    "team.join": _l("Joined a team"),
    "team.leave": _l("Left a team"),
    "outlet.create": _l("Outlet added"),
    "outlet.update": _l("Outlet changed"),
    "workday.override": _l("Calendar override saved"),
    "workday.override.remove": _l("Calendar override removed"),
    "assets.import": _l("Assets imported"),
    "outbox.requeue": _l("Email sent again"),
}
DETAILS = {
    "user.create": _l("%(username)s, %(role)s"),
    "user.update": _l("%(username)s: %(changes)s"),
    "auth.password_changed": _l("%(username)s; set by an administrator: %(by_admin)s"),
    "team.create": _l("%(name)s"),
    "team.rename": _l("%(from)s → %(to)s"),
    "team.join": _l("%(user)s joined %(team)s"),
    "team.leave": _l("%(user)s left %(team)s"),
    "outlet.create": _l("%(name)s, %(city)s"),
    "outlet.update": _l("%(name)s: %(changes)s"),
    "workday.override": _l("%(day)s: %(kind)s"),
    "workday.override.remove": _l("%(day)s"),
    "assets.import": _l("%(source)s: %(rows)s rows, %(inserted)s new, %(updated)s updated, %(unchanged)s unchanged, "
                        "%(tier_changes)s tier changes"),
    "outbox.requeue": _l("To %(to)s"),
}
PARAM_MAPS = {"role": "ROLES"}
