"""Writing to the audit trail."""
from __future__ import annotations

from crm.extensions import db
from crm.models import AuditEvent, User


def record(actor: User | None, action: str, obj_type: str, obj_id: int | None,
           detail: str = "", remote_addr: str = "") -> AuditEvent:
    """Append one audit event in the caller's transaction."""
    event = AuditEvent(
        actor_id=actor.id if actor else None, action=action, object_type=obj_type,
        object_id=obj_id, detail=detail, remote_addr=remote_addr[:64],
    )
    db.session.add(event)
    return event
