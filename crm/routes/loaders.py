"""Load a record for a route through the visibility rules (`crm.services.access`): a record the user has
no business with is a 404, never a 403 that would confirm it exists (flaskr's `get_post`, by role)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import abort

from crm.domain.refusals import NotAllowed, NotFound
from crm.models import Client, Complaint, FollowUp, Partner, PlanItem, ServicePlan, User, VisitLog
from crm.models.coverage import CoverageException, CoveragePattern
from crm.models.qr import QrCard
from crm.services import access

T = TypeVar("T")


def _or_404(find: Callable[..., T], *args) -> T:
    """The record `find` loads; NotFound is a 404, NotAllowed a 403."""
    try:
        return find(*args)
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)


def get_client_or_404(client_id: int, user: User) -> Client:
    """A client the user may see, else 404."""
    return _or_404(access.find_client, client_id, user)


def get_owned_client_or_404(client_id: int, user: User) -> Client:
    """A client in the user's book, else 404 (unseen) or 403 (an assignee, who knows it exists)."""
    return _or_404(access.find_owned_client, client_id, user)


def get_visit_or_404(visit_id: int, user: User) -> VisitLog:
    """A visit log whose client the user may see, else 404."""
    return _or_404(access.find_visit, visit_id, user)


def get_complaint_or_404(complaint_id: int, user: User) -> Complaint:
    """A complaint the user may see, else 404."""
    return _or_404(access.find_complaint, complaint_id, user)


def get_followup_or_404(followup_id: int, user: User) -> FollowUp:
    """A follow-up the user may see, else 404."""
    return _or_404(access.find_followup, followup_id, user)


def get_plan_item_or_404(plan: ServicePlan, item_id: int) -> PlanItem:
    """An item of this plan (loaded through its client), else 404."""
    return _or_404(access.find_plan_item, plan, item_id)


def get_partner_or_404(partner_id: int, user: User) -> Partner:
    """A channel partner the user may see, else 404."""
    return _or_404(access.find_partner, partner_id, user)


def get_pool_client_or_404(client_id: int, user: User) -> Client:
    """A prospect in a team pool the user may see (their team's; any for an admin), else 404."""
    return _or_404(access.find_pool_client, client_id, user)


def get_coverage_pattern_or_404(pattern_id: int, user: User) -> CoveragePattern:
    """A weekly coverage pattern of someone whose coverage the user may see, else 404."""
    return _or_404(access.find_coverage_pattern, pattern_id, user)


def get_coverage_exception_or_404(exception_id: int, user: User) -> CoverageException:
    """A coverage exception of someone whose coverage the user may see, else 404."""
    return _or_404(access.find_coverage_exception, exception_id, user)


def get_qr_card_or_404(card_id: int, user: User) -> QrCard:
    """A QR card the user may see (own, the team's for a lead, any for an admin), else 404."""
    return _or_404(access.find_qr_card, card_id, user)
