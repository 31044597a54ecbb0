"""Typed SQLAlchemy models, one module per aggregate."""
from crm.models.audit import AuditEvent, FormSubmission
from crm.models.base import Base, utcnow
from crm.models.client import Client, OwnerChange, SourceChannel, Stage, StageChange
from crm.models.complaint import (
                                 Complaint,
                                 ComplaintCategory,
                                 ComplaintChannel,
                                 ComplaintEvent,
                                 ComplaintEventKind,
                                 ComplaintSeverity,
                                 ComplaintStatus,
                                 WorkdayOverride,
)
from crm.models.coverage import CheckIn, CoverageException, CoverageExceptionKind, CoveragePattern
from crm.models.followup import (
                                 ClientFlag,
                                 FlagKind,
                                 FollowUp,
                                 FollowUpKind,
                                 FollowUpSource,
                                 FollowUpStatus,
                                 JobRun,
                                 Notification,
                                 OutboxEmail,
)
from crm.models.heartbeat import ProcessHeartbeat
from crm.models.partner import Partner, PartnerContact, PartnerRole
from crm.models.plan import PlanItem, PlanItemKind, PlanStatus, PlanTemplate, PlanTemplateItem, ServicePlan
from crm.models.pool import PoolEvent, PoolEventKind, PoolReleaseReason
from crm.models.profile import InvestorType, InvestorTypeChange, NeedsProfile
from crm.models.qr import QrCard, RegistrationOutcome, SelfRegistration
from crm.models.session import FormDraft, SignInAttempt, UserSession
from crm.models.setting import Setting
from crm.models.suitability import (
                                 AssessmentDraft,
                                 Product,
                                 Question,
                                 Questionnaire,
                                 QuestionOption,
                                 Recommendation,
                                 SuitabilityAssessment,
)
from crm.models.tier import AssetSnapshot, Tier, TierChange
from crm.models.user import Outlet, Role, Team, User
from crm.models.visit import Intent, VisitChannel, VisitLog, VisitOutcome

__all__ = [
    "ClientFlag", "FlagKind", "FollowUp", "FollowUpKind", "FollowUpSource", "FollowUpStatus", "Intent", "JobRun", "Notification",
    "OutboxEmail",
    "AssessmentDraft", "AssetSnapshot", "InvestorType", "InvestorTypeChange", "NeedsProfile", "Product",
    "Question", "QuestionOption", "Questionnaire", "Recommendation", "Setting", "SuitabilityAssessment", "Tier",
    "TierChange",
    "Complaint", "ComplaintCategory", "ComplaintChannel", "ComplaintEvent", "ComplaintEventKind",
    "ComplaintSeverity", "ComplaintStatus", "WorkdayOverride",
    "ProcessHeartbeat",
    "CheckIn", "CoverageException", "CoverageExceptionKind", "CoveragePattern",
    "Partner", "PartnerContact", "PartnerRole",
    "PoolEvent", "PoolEventKind", "PoolReleaseReason",
    "QrCard", "RegistrationOutcome", "SelfRegistration",
    "FormDraft", "SignInAttempt", "UserSession",
    "PlanItem", "PlanItemKind", "PlanStatus", "PlanTemplate", "PlanTemplateItem", "ServicePlan",
    "AuditEvent", "Base", "Client", "FormSubmission", "Outlet", "OwnerChange", "Role", "SourceChannel",
    "Stage", "StageChange", "Team", "User", "VisitChannel", "VisitLog", "VisitOutcome", "utcnow",
]
