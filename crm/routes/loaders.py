"""Load a record for a route through the visibility rules (`crm.services.access`): a record the user has
no business with is a 404, never a 403 that would confirm it exists (flaskr's `get_post`, by role)."""
from __future__ import annotations

from flask import abort

from crm.domain.refusals import NotAllowed, NotFound
from crm.models import Client, Complaint, FollowUp, PlanItem, ServicePlan, User, VisitLog
from crm.services import access


def get_client_or_404(client_id: int, user: User) -> Client:
    """A client the user may see, else 404."""
    try:
        return access.find_client(client_id, user)
    except NotFound:
        abort(404)


def get_owned_client_or_404(client_id: int, user: User) -> Client:
    """A client in the user's book, else 404 (unseen) or 403 (an assignee, who knows it exists)."""
    try:
        return access.find_owned_client(client_id, user)
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)


def get_visit_or_404(visit_id: int, user: User) -> VisitLog:
    """A visit log whose client the user may see, else 404."""
    try:
        return access.find_visit(visit_id, user)
    except NotFound:
        abort(404)


def get_complaint_or_404(complaint_id: int, user: User) -> Complaint:
    """A complaint the user may see, else 404."""
    try:
        return access.find_complaint(complaint_id, user)
    except NotFound:
        abort(404)


def get_followup_or_404(followup_id: int, user: User) -> FollowUp:
    """A follow-up the user may see, else 404."""
    try:
        return access.find_followup(followup_id, user)
    except NotFound:
        abort(404)


def get_plan_item_or_404(plan: ServicePlan, item_id: int) -> PlanItem:
    """An item of this plan (loaded through its client), else 404."""
    try:
        return access.find_plan_item(plan, item_id)
    except NotFound:
        abort(404)
