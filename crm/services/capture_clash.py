"""撞单: what someone entering a mobile number already on file is told, on the audit trail, limited per hour.

A clash must not be an oracle for whose client a number is. The answer depends on who asks
(docs/access.md, "A number already on file"):

- "visible": the client is one the person may open anyway (their own, their team's for a lead,
  every client for compliance, an assigned one): they are taken to it.
- "team": the owner is in the person's own team: they are told the owner's name (DOMAIN.md §1,
  "the second manager is told who owns it"); their lead can reassign it.
- "elsewhere": anyone else is told only that the number is on file and that a team lead or
  compliance can help: no owner, team or client name.
- "refused": more than `capture_clash_per_hour` clashes of the last two kinds in the past hour:
  the entry is refused with "try later or ask your lead".

Every clash is an audit event `client.capture_clash` on the existing client, with the number masked,
so compliance sees who probed which number. The hourly count is read from those rows, so every web
process shares it. Two requests racing may both pass at the limit: the limit is a brake, not a lock.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from crm.domain.formats import mask_mobile
from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.models import AuditEvent, Client, User, utcnow
from crm.services import audit, settings
from crm.services.access import can_see_client

ACTION = "client.capture_clash"  # (written as a literal in audit.record below, for the label check)
ANSWERS = ("visible", "team", "elsewhere", "refused")
# The answers that tell the person something they could not look up: these count towards the limit.
COUNTED = ("team", "elsewhere", "refused")
# Where the number was typed: the capture form names a team-mate; the edit form never names anyone.
FORMS = ("capture", "edit")
WINDOW = timedelta(hours=1)


def decide(*, can_see: bool, same_team: bool, recent: int, limit: int, names_owner: bool = True) -> str:
    """The answer to a clash, from what the person may see and how many clashes they had this hour."""
    if can_see:
        return "visible"
    if recent >= limit:
        return "refused"
    return "team" if same_team and names_owner else "elsewhere"


def recent_clashes(user: User, now: datetime | None = None) -> int:
    """How many counted clashes the user had in the past hour (read from the audit trail)."""
    since = (now or utcnow()) - WINDOW
    return db.session.execute(
        sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.actor_id == user.id, AuditEvent.action == ACTION, AuditEvent.at >= since,
            AuditEvent.params["answer"].as_string().in_(COUNTED))
    ).scalar_one()


def _same_team(user: User, client: Client) -> bool:
    owner = client.owner
    return owner is not None and owner.team_id is not None and owner.team_id == user.team_id


def answer(actor: User, client: Client, form: str = "capture") -> str:
    """Decide what the actor is told about a number on file and record the clash; the caller commits."""
    if form not in FORMS:
        raise ValueError(form)
    visible = can_see_client(actor, client)
    told = decide(can_see=visible, same_team=_same_team(actor, client),
                  recent=0 if visible else recent_clashes(actor),
                  limit=settings.get_int("capture_clash_per_hour"), names_owner=form == "capture")
    audit.record(actor, "client.capture_clash", "client", client.id,
                 params={"mobile": mask_mobile(client.mobile), "form": form, "answer": told})
    db.session.flush()
    return told


def refusal(told: str, client: Client, form: str = "capture") -> RuleError:
    """What the person is told about a number on file, as a refusal on the mobile field.

    On the capture form "visible" is not shown as an error: the page opens the client with these words.
    The edit form never names anyone and never opens the other client.
    """
    if told == "refused":
        return RuleError("clients.mobile_clashes_refused", "mobile")
    if form == "edit":
        return RuleError("clients.mobile_on_another_file", "mobile")
    if told == "visible":
        return RuleError("clients.mobile_on_file_visible", "mobile")
    if told == "team":
        return RuleError("clients.mobile_on_file_team", "mobile", owner=client.owner.display_name)
    return RuleError("clients.mobile_on_file", "mobile")
