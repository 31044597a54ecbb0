"""The audit trail: writing events, and reading them back filtered, named and in the reader's language."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask import has_request_context, request
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from crm import labels
from crm.extensions import db
from crm.models import (
    AuditEvent,
    Client,
    Complaint,
    FollowUp,
    Outlet,
    PlanTemplate,
    Product,
    Questionnaire,
    Team,
    User,
)

# Where an event came from when it was not a web request. The scheduler process says so once at
# start (set_process_source); any other process without a request is a command line.
SOURCES = ("web", "scheduler", "cli")
_process_source: str | None = None


def set_process_source(source: str) -> None:
    """Mark every event this process writes outside a request as coming from `source` (e.g. "scheduler")."""
    global _process_source
    if source not in SOURCES:
        raise ValueError(source)
    _process_source = source


@contextmanager
def process_source(source: str) -> Iterator[None]:
    """Events written outside a request inside the block come from `source`; the previous source after it.

    A job command run by cron with `--scheduled` is the scheduler, though it is a `flask` command.
    """
    global _process_source
    before = _process_source
    set_process_source(source)
    try:
        yield
    finally:
        _process_source = before


def _client_of(obj_type: str, obj_id: int | None) -> int | None:
    """The client an object belongs to (usually already in the session, so no query)."""
    if obj_id is None:
        return None
    if obj_type == "client":
        return obj_id
    model = {"complaint": Complaint, "follow_up": FollowUp}.get(obj_type)
    found = db.session.get(model, obj_id) if model is not None else None
    return found.client_id if found is not None else None


def record(actor: User | None, action: str, obj_type: str, obj_id: int | None,
           detail: str = "", remote_addr: str = "", *, params: Mapping | None = None,
           client_id: int | None = None) -> AuditEvent:
    """Append one audit event in the caller's transaction.

    `params` are the structured details, shown through the action's template in labels.AUDIT_DETAILS
    in the reader's language; `detail` then keeps an English rendering for readers of the raw table.
    The address and source are taken from the request, or from the process when there is none.
    """
    if has_request_context():
        source = "web"
        remote_addr = remote_addr or request.remote_addr or ""
    else:
        source = _process_source or "cli"
    plain = dict(params) if params is not None else None
    if plain is not None and not detail:
        with force_locale("en"):
            detail = describe(action, plain, "")
    event = AuditEvent(
        actor_id=actor.id if actor else None, action=action, object_type=obj_type,
        object_id=obj_id, detail=detail, remote_addr=remote_addr[:64], source=source, params=plain,
        client_id=client_id if client_id is not None else _client_of(obj_type, obj_id),
    )
    db.session.add(event)
    return event


# ---------------------------------------------------------------- rendering

def action_label(action: str) -> str:
    """The action in the reader's language (the code itself if it has no label yet)."""
    text = labels.AUDIT_ACTIONS.get(action)
    return str(text) if text is not None else action


def _value_text(key: str, value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return "、".join(_value_text(key, v) for v in value) or "—"
    mapping_name = labels.AUDIT_PARAM_LABELS.get(key)
    if mapping_name is not None:
        mapping = getattr(labels, mapping_name)
        for code, text in mapping.items():
            if str(code) == str(value):
                return str(text)
    if key.endswith(("_on", "day")) and isinstance(value, str):
        try:
            return format_date(date.fromisoformat(value), "yyyy-MM-dd")
        except ValueError:
            pass
    return str(value)


def describe(action: str, params: Mapping | None, detail: str) -> str:
    """An event's details in the current language: its params through the action's template, else `detail`."""
    if params is None:
        return detail
    values = {key: _value_text(key, value) for key, value in params.items()}
    template = labels.AUDIT_DETAILS.get(action)
    if template is not None:
        try:
            return str(template) % values
        except (KeyError, TypeError, ValueError):
            pass
    return "; ".join(f"{key}: {text}" for key, text in values.items())


def source_text(event: AuditEvent) -> str:
    """Where the event came from: the address of a web request, the scheduler or the command line."""
    if event.source == "web" or (not event.source and event.remote_addr):
        return event.remote_addr or _("web (address not recorded)")
    if event.source == "scheduler":
        return _("System (scheduler)")
    if event.source == "cli":
        return _("Command line")
    return _("System (scheduler)") if event.actor_id is None else _("Not recorded")


# ---------------------------------------------------------------- reading

@dataclass
class AuditFilter:
    """The trail's filters, all optional: action code prefix, user, client, and a Shanghai date range."""

    action: str = ""
    actor_id: int | None = None
    client_id: int | None = None
    client_name: str = ""  # part of the client's name
    since: datetime | None = None  # UTC, inclusive
    until: datetime | None = None  # UTC, exclusive


def _query(filters: AuditFilter) -> sa.Select:
    query = sa.select(AuditEvent)
    if filters.action:
        query = query.where(sa.or_(AuditEvent.action == filters.action,
                                   AuditEvent.action.startswith(filters.action + ".", autoescape=True)))
    if filters.actor_id is not None:
        query = query.where(AuditEvent.actor_id == filters.actor_id)
    if filters.client_id is not None:
        query = query.where(AuditEvent.client_id == filters.client_id)
    if filters.client_name:
        query = query.where(AuditEvent.client_id.in_(
            sa.select(Client.id).where(Client.name.contains(filters.client_name, autoescape=True))))
    if filters.since is not None:
        query = query.where(AuditEvent.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEvent.at < filters.until)
    return query


@dataclass
class AuditRow:
    """One event ready to show: names instead of ids, details in the reader's language."""

    event: AuditEvent
    actor_name: str
    action_text: str
    object_text: str
    object_link: tuple[str, dict] | None  # endpoint and its arguments
    client_name: str
    details: str
    source: str


@dataclass
class AuditPage:
    """A page of the trail, newest first, with the id to continue from."""

    rows: list[AuditRow] = field(default_factory=list)
    next_before: int | None = None


# Object kinds the trail names and links: model, the column that names a row, endpoint, its id argument.
_OBJECTS = {
    "client": (Client, Client.name, "clients.show", "client_id"),
    "user": (User, User.display_name, "admin.user_edit", "user_id"),
    "complaint": (Complaint, Complaint.number, "complaints.show", "complaint_id"),
    "follow_up": (FollowUp, FollowUp.title, "followups.show", "followup_id"),
    "product": (Product, Product.name, "admin.product_form", "product_id"),
    "team": (Team, Team.name, "admin.team_edit", "team_id"),
    "outlet": (Outlet, Outlet.bank + " " + Outlet.branch, "admin.outlet_edit", "outlet_id"),
    "questionnaire": (Questionnaire, Questionnaire.title, "admin.questionnaire_show", "questionnaire_id"),
    "plan_template": (PlanTemplate, PlanTemplate.name, None, None),
}


def _names(events: list[AuditEvent]) -> dict[tuple[str, int], str]:
    """Names of every object, client and actor the events mention: one query per kind of object."""
    wanted: dict[str, set[int]] = {}
    for e in events:
        if e.object_id is not None and e.object_type in _OBJECTS:
            wanted.setdefault(e.object_type, set()).add(e.object_id)
        if e.client_id is not None:
            wanted.setdefault("client", set()).add(e.client_id)
        if e.actor_id is not None:
            wanted.setdefault("user", set()).add(e.actor_id)
    names: dict[tuple[str, int], str] = {}
    for kind, ids in wanted.items():
        model, column = _OBJECTS[kind][0], _OBJECTS[kind][1]
        for ident, name in db.session.execute(sa.select(model.id, column).where(model.id.in_(ids))):
            names[(kind, ident)] = str(name)
    return names


def _rows(events: list[AuditEvent]) -> list[AuditRow]:
    names = _names(events)
    rows = []
    for e in events:
        object_text, link = "", None
        kind = str(labels.AUDIT_OBJECT_TYPES.get(e.object_type, e.object_type))
        if e.object_type == "client":
            pass  # the client column names and links it
        elif e.object_id is not None:
            name = names.get((e.object_type, e.object_id))
            object_text = f"{kind} {name}" if name else f"{kind} #{e.object_id}"
            target = _OBJECTS.get(e.object_type)
            if target is not None and target[2] and name is not None:
                link = (target[2], {target[3]: e.object_id})
        else:
            object_text = kind
        rows.append(AuditRow(
            event=e, actor_name=names.get(("user", e.actor_id), "") if e.actor_id else "",
            action_text=action_label(e.action), object_text=object_text, object_link=link,
            client_name=names.get(("client", e.client_id), "") if e.client_id else "",
            details=describe(e.action, e.params, e.detail), source=source_text(e)))
    return rows


def page(filters: AuditFilter, before: int | None = None, limit: int = 100) -> AuditPage:
    """The newest `limit` events matching the filters below id `before` (keyset), with names loaded in bulk."""
    query = _query(filters)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    events = list(db.session.execute(query.order_by(AuditEvent.id.desc()).limit(limit + 1)).scalars())
    more = len(events) > limit
    events = events[:limit]
    return AuditPage(rows=_rows(events), next_before=events[-1].id if more else None)


def iter_rows(filters: AuditFilter, batch: int = 500) -> Iterator[AuditRow]:
    """Every matching event, newest first, read in keyset batches (for the CSV export)."""
    before = None
    while True:
        found = page(filters, before=before, limit=batch)
        yield from found.rows
        if found.next_before is None:
            return
        before = found.next_before


def actors() -> list[User]:
    """Everyone who can appear in the trail, for the user filter."""
    return list(db.session.execute(sa.select(User).order_by(User.active.desc(), User.display_name)).scalars())


def action_codes() -> list[str]:
    """The labelled action codes, for the action filter: those of one kind of record together
    (every `client.*`, then every `complaint.*` …), kinds in the order their features are assembled."""
    codes = list(labels.AUDIT_ACTIONS)
    first: dict[str, int] = {}
    for index, code in enumerate(codes):
        first.setdefault(code.split(".")[0], index)
    return sorted(codes, key=lambda code: first[code.split(".")[0]])  # stable: a kind keeps its order
