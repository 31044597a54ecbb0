"""Today's work for a manager, follow-ups, the team lead's board and in-app notifications."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import orm as so

from crm.domain.formats import parse_id
from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.forms.fields import to_utc
from crm.forms.followups import AssignForm, FollowUpForm, SnoozeForm
from crm.labels import choices
from crm.models import FollowUp, Notification, Role, utcnow
from crm.routes import refusals
from crm.routes.helpers import htmx_target, render, see_other
from crm.routes.loaders import get_followup_or_404, get_owned_client_or_404
from crm.services import coverage, followups, partners, pool, submissions
from crm.services.access import assignable_owners, can_see_client, followup_visibility
from crm.services.scan import flagged_clients, flagged_for_clients

bp = Blueprint("followups", __name__)


@bp.before_request
@login_required
def require_login():
    """Every follow-up page needs a signed-in user."""


@bp.get("/today")
def today():
    """Overdue, today and the next 7 days, for the signed-in user."""
    view = followups.today_view(current_user)
    flagged = flagged_for_clients(f.client_id for f in view.overdue + view.today + view.upcoming if f.source == "flag")
    day = coverage.today()
    return render("followups/today.html", view=view, flagged=flagged,
                  notifications=followups.unread_notifications(current_user, limit=5),
                  my_week=coverage.my_week(current_user, day), check_in=coverage.todays_check_in(current_user, day),
                  due_partners=partners.due_for_contact(current_user, utcnow(), limit=5),
                  pool_count=pool.pool_count(current_user), pool_url=url_for("pool.index"))


@bp.get("/followups/<int:followup_id>")
def show(followup_id: int):
    """One follow-up with its actions: log the visit that does it, snooze, cancel."""
    followup = get_followup_or_404(followup_id, current_user)
    return render("followups/show.html", followup=followup, snooze_form=SnoozeForm(),
                  can_open_client=can_see_client(current_user, followup.client))


@bp.post("/followups/<int:followup_id>/snooze")
def snooze(followup_id: int):
    """Put a follow-up off with a reason."""
    followup = get_followup_or_404(followup_id, current_user)
    form = SnoozeForm()
    if form.validate_on_submit():
        try:
            followups.snooze(followup, current_user, to_utc(form.until.data), form.reason.data)
        except RuleError as refused:
            refusals.show(refused, form)
        else:
            db.session.commit()
            flash(_("Follow-up snoozed."), "success")
            return see_other(url_for("followups.today"))
    return render("followups/show.html", followup=followup, snooze_form=form,
                  can_open_client=can_see_client(current_user, followup.client), status=422)


@bp.post("/followups/<int:followup_id>/cancel")
def cancel(followup_id: int):
    """Drop a follow-up that is no longer needed."""
    followup = get_followup_or_404(followup_id, current_user)
    followups.cancel(followup, current_user)
    db.session.commit()
    flash(_("Follow-up cancelled."), "info")
    return see_other(url_for("followups.today"))


@bp.route("/clients/<int:client_id>/followups/new", methods=["GET", "POST"])
def new(client_id: int):
    """Plan a follow-up on a client in the user's book; a lead may give it to anyone in the team."""
    client = get_owned_client_or_404(client_id, current_user)
    form = FollowUpForm()
    people = assignable_owners(current_user) if current_user.role != Role.MANAGER else [current_user]
    form.assignee_id.choices = choices({u.id: u.display_name for u in people})
    if request.method == "GET":
        form.token.data = submissions.new_token()
        form.assignee_id.data = str(client.owner_id if current_user.role != Role.MANAGER else current_user.id)
    elif form.validate_on_submit():
        assignee = next(u for u in people if str(u.id) == form.assignee_id.data)
        submissions.submit_once(
            form.token.data or submissions.new_token(), current_user, "followup",
            lambda: followups.create(client, assignee, to_utc(form.due_at.data), form.kind.data,
                                     creator=current_user, title=form.title.data, priority=form.priority.data,
                                     note=form.note.data or "", notify_assignee=True))
        flash(_("Follow-up planned."), "success")
        return see_other(url_for("clients.show", client_id=client.id))
    return render("followups/new.html", client=client, form=form, status=422 if form.errors else 200)


FLAGS_PER_PAGE = 20
FOLLOWUPS_PER_PAGE = 50


def _board_filters(members) -> dict:
    """The Team page's filters from the query string: a member of the team, overdue only, picked all."""
    arg = request.args.get("assignee", "")
    ids = {m.id for m in members}

    def page(name: str) -> int:
        value = request.args.get(name, "")
        return max(1, min(parse_id(value) or 1, 10_000))
    return {"assignee": parse_id(arg) if parse_id(arg) in ids else None,
            "overdue": request.args.get("overdue") == "1",
            "select_all": request.args.get("select") == "all",
            "page": page("page"), "flag_page": page("flag_page")}


def board_url(assignee: int | None = None, overdue: bool = False, **extra) -> str:
    """The Team page with these filters (empty ones left out)."""
    args = {"assignee": assignee or None, "overdue": 1 if overdue else None, **extra}
    return url_for("followups.board", **{k: v for k, v in args.items() if v is not None})


@bp.route("/team", methods=["GET", "POST"])
def board():
    """The lead's board: members' load, their follow-ups to hand over, then their flagged clients; filters combine."""
    if current_user.role not in (Role.LEAD, Role.ADMIN):
        abort(403)
    members = assignable_owners(current_user)
    filters = _board_filters(members)
    back = board_url(filters["assignee"], filters["overdue"]) + "#followups"
    form = AssignForm()
    form.assignee_id.choices = choices({u.id: u.display_name for u in members})
    if form.validate_on_submit():
        chosen = list(db.session.execute(
            sa.select(FollowUp).options(so.joinedload(FollowUp.client), so.joinedload(FollowUp.assignee))
            .where(FollowUp.id.in_(form.ids()), followup_visibility(current_user))).scalars())
        assignee = next(u for u in members if str(u.id) == form.assignee_id.data)
        if not chosen:
            flash(_("Tick the follow-ups to hand over."), "error")
        else:
            moved = followups.assign(chosen, current_user, assignee)
            db.session.commit()
            flash(_("%(count)s follow-ups now with %(name)s.", count=moved, name=assignee.display_name), "success")
        return see_other(back)
    now = utcnow()
    rows = followups.team_board(current_user, now=now)
    owners = [filters["assignee"]] if filters["assignee"] else [r.user.id for r in rows]
    page = filters["flag_page"]
    flagged, more_flags = flagged_clients(owners, offset=(page - 1) * FLAGS_PER_PAGE, limit=FLAGS_PER_PAGE, now=now)
    shown = filters["page"]
    items = followups.team_followups(current_user, filters["assignee"], filters["overdue"], now=now,
                                     limit=FOLLOWUPS_PER_PAGE + 1, offset=(shown - 1) * FOLLOWUPS_PER_PAGE)
    more_items, items = len(items) > FOLLOWUPS_PER_PAGE, items[:FOLLOWUPS_PER_PAGE]
    counted = [r for r in rows if filters["assignee"] in (None, r.user.id)]
    target = htmx_target()
    return render("followups/board.html",
                  fragment=target if target in ("work", "more_flags", "more_followups") else None,
                  rows=rows, form=form, flagged=flagged, members=members, items=items,
                  team_week=coverage.week(current_user, coverage.today()) if target is None else None,
                  pool_count=pool.pool_count(current_user), pool_url=url_for("pool.index"),
                  total=sum(r.overdue if filters["overdue"] else r.open for r in counted),
                  more_flags_url=board_url(filters["assignee"], filters["overdue"], flag_page=page + 1)
                  if more_flags else None,
                  more_followups_url=board_url(filters["assignee"], filters["overdue"], page=shown + 1,
                                               select="all" if filters["select_all"] else None)
                  if more_items else None,
                  filters=filters, board_url=board_url, back=back, overdue_before=followups.overdue_before(now),
                  status=422 if form.errors else 200)


@bp.route("/notifications", methods=["GET", "POST"])
def notifications():
    """The user's notifications; POST marks them read."""
    if request.method == "POST":
        db.session.execute(sa.update(Notification).where(Notification.user_id == current_user.id,
                                                         Notification.read_at.is_(None)).values(read_at=utcnow()))
        db.session.commit()
        return see_other(url_for("followups.notifications"))
    rows = list(db.session.execute(sa.select(Notification).where(Notification.user_id == current_user.id)
                                   .order_by(Notification.created_at.desc()).limit(100)).scalars())
    return render("followups/notifications.html", rows=rows)


