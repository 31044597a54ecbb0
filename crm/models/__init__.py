"""Typed SQLAlchemy models, one module per aggregate."""
from crm.models.audit import AuditEvent, FormSubmission
from crm.models.base import Base, utcnow
from crm.models.client import Client, SourceChannel, Stage, StageChange
from crm.models.user import Outlet, Role, Team, User
from crm.models.visit import VisitChannel, VisitLog, VisitOutcome

__all__ = [
    "AuditEvent", "Base", "Client", "FormSubmission", "Outlet", "Role", "SourceChannel",
    "Stage", "StageChange", "Team", "User", "VisitChannel", "VisitLog", "VisitOutcome", "utcnow",
]
