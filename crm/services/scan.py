"""The dormant / at-risk scan: flag clients, clear flags whose reasons went away, one follow-up per new flag.

The rules (DOMAIN.md §8, "Dormant and at risk"), evaluated at `now`, with every threshold read from
the settings and every day counted on the Asia/Shanghai calendar (T = the Shanghai date of `now`):

Scope: clients whose stage is account_opened, active or dormant. Prospects, contacted prospects and
lost clients are never flagged; their open flags are cleared.

dormant
  no_contact         The last contact, COALESCE(last_contact_at, account_opened_at, created_at), fell
                     on a Shanghai date strictly before T - N, with N the client's tier's
                     max_days_between_contacts, or dormant_default_days without a tier. So N whole
                     days of silence is not yet dormant, N + 1 is. In SQL: last contact < 00:00
                     Shanghai of T - N (a UTC instant computed here, one per tier).
  no_asset_activity  The client has snapshots, and none of them with as_of >= T - M
                     (M = dormant_asset_days) is a change: a change is a snapshot that is the client's
                     first or whose total differs from the previous snapshot's (LAG over as_of). Clients
                     without any snapshot are not flagged by this reason.
at_risk
  assets_drop        The latest snapshot L has L.as_of >= T - D (D = at_risk_drop_days), and
                     L.total * 100 <= peak * (100 - P) with peak > L.total, where peak is the highest
                     total among the client's snapshots with as_of in [L.as_of - D, L.as_of] and
                     P = at_risk_drop_percent (integer arithmetic: a 30 % drop flags at P = 30, 29 % not).
  complaint_overdue  An open complaint of the client is past a deadline at `now` (the rule is
                     crm.services.complaints.overdue_condition), plugged in through EXTRA_SOURCES.
  low_satisfaction   last_satisfaction <= at_risk_satisfaction_max.
  leaving_intent     last_intent is transfer_out or close_account.

A flag's `reasons` lists its codes comma-separated, in the order of REASONS.

How it runs (set-based; no statement per client), one step function each:
  1. `_stage_changes`: INSERT INTO a temporary table ... SELECT: one statement computes every
     client's current (kind, reasons) with window functions over the snapshots, compares them with
     the open flags and keeps the differences only: raise (no open flag of that kind), update
     (reasons changed), clear (the open flag's kind has no reason any more).
  2. `_count_changes`: counts of those differences per action and kind, and the clients scanned.
  3. `_clear_flags`, `_update_reasons`: UPDATE ... FROM the differences: clear (cleared_at = now;
     the row keeps since and reasons), then update the reasons of the flags still open.
  4. `_raise_flags`: INSERT INTO client_flags ... SELECT the raises; `_add_flag_followups`: INSERT
     INTO follow_ups ... SELECT one follow-up per flag raised (ids above the largest before) ... ON
     CONFLICT DO NOTHING. Each manager's new follow-ups are ranked (at-risk first) and spread over
     working days, `flag_followups_per_day` per day: the due date is a CASE on rank // per-day.
Statements: 15 to 20 on PostgreSQL, 13 to 18 on SQLite (the settings are read one by one;
steps with nothing to do are skipped), never more with more clients. Clearing is logged by one
audit event per run (action "flags.scan") with every count: the cleared flags themselves stay
in client_flags with cleared_at set, so the table is the history. Stage is never changed: it
stays a human decision. Services flush; the caller commits. Needs SQLite 3.35 or later
(window functions, UPDATE ... FROM, CTEs used twice are materialized).
"""
from __future__ import annotations

import enum
import functools
import operator
import re
import time as timer
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.domain.clock import SHANGHAI
from crm.extensions import db
from crm.models import (
    AssetSnapshot,
    Client,
    ClientFlag,
    FlagKind,
    FollowUp,
    FollowUpKind,
    FollowUpSource,
    FollowUpStatus,
    Intent,
    Stage,
    Tier,
    utcnow,
)
from crm.models.base import UTCDateTime
from crm.services import audit, dialect, followup_sources, settings
from crm.services.followups import insert_ignoring_twins, local_morning

__all__ = [
    "EXTRA_SOURCES",
    "FlagFigures",
    "FlaggedClient",
    "REASONS",
    "SCANNED_STAGES",
    "ReasonSource",
    "ScanContext",
    "ScanReport",
    "current_flags_select",
    "flag_figures",
    "flagged_clients",
    "flagged_for_clients",
    "flags_for_owner_ids",
    "open_flag_kinds",
    "open_flags",
    "reason_codes",
    "scan_clients",
]

# Every reason code, in the order it is written into a flag's reasons, with its flag kind.
REASONS: dict[str, FlagKind] = {
    "no_contact": FlagKind.DORMANT,
    "no_asset_activity": FlagKind.DORMANT,
    "assets_drop": FlagKind.AT_RISK,
    "complaint_overdue": FlagKind.AT_RISK,  # computed by a source in EXTRA_SOURCES (complaints)
    "low_satisfaction": FlagKind.AT_RISK,
    "leaving_intent": FlagKind.AT_RISK,
}

SCANNED_STAGES = (Stage.ACCOUNT_OPENED.value, Stage.ACTIVE.value, Stage.DORMANT.value)
LEAVING_INTENTS = (Intent.TRANSFER_OUT.value, Intent.CLOSE_ACCOUNT.value)
PRIORITY = {FlagKind.AT_RISK: 1, FlagKind.DORMANT: 2}
_LOCK_KEY = 0x5CA9_F1A6  # PostgreSQL advisory lock: one scan at a time


@dataclass(frozen=True)
class ScanContext:
    """The moment of a scan and its thresholds, as the reason sources need them."""

    now: datetime
    today: date  # Shanghai calendar date of `now`
    dormant_default_days: int
    dormant_asset_days: int
    at_risk_drop_percent: int
    at_risk_drop_days: int
    at_risk_satisfaction_max: int

    def day_start(self, days_before: int) -> datetime:
        """00:00 Asia/Shanghai of the date `days_before` days before today, in UTC."""
        day = self.today - timedelta(days=days_before)
        return datetime.combine(day, time(0), SHANGHAI).astimezone(timezone.utc)


@dataclass(frozen=True)
class ReasonSource:
    """An extra reason: `clients(ctx)` selects the ids of the clients for which `code` holds at ctx.now."""

    code: str
    clients: Callable[[ScanContext], sa.Select]


# Extension point: reasons computed from other tables. A source selects the ids of the clients
# for which its code holds; the scan ORs it into that code's condition (an `IN (subquery)`), and
# writes the code in REASONS order, with no other change.
def _overdue_complaint_clients(ctx: ScanContext) -> sa.Select:
    """Clients with an open complaint past its deadline at ctx.now (crm.services.complaints' rule)."""
    from crm.models import Complaint
    from crm.services.complaints import overdue_condition

    return sa.select(Complaint.client_id).where(Complaint.client_id.is_not(None), overdue_condition(ctx.now))


EXTRA_SOURCES: list[ReasonSource] = [ReasonSource("complaint_overdue", _overdue_complaint_clients)]


@dataclass
class ScanReport:
    """What one scan did."""

    raised_dormant: int = 0
    raised_at_risk: int = 0
    cleared: int = 0
    updated: int = 0
    followups_created: int = 0
    scanned: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        return (f"scanned {self.scanned} clients in {self.seconds:.2f} s: dormant raised {self.raised_dormant}, "
                f"at risk raised {self.raised_at_risk}, cleared {self.cleared}, reasons updated {self.updated}, "
                f"follow-ups created {self.followups_created}")


class _Action(enum.StrEnum):
    """What the scan does to a flag (the `action` of a row of `_changes`)."""

    RAISE = "raise"
    UPDATE = "update"
    CLEAR = "clear"


# What this scan changes, one row per flag to raise, update or clear (in steady state: few rows).
# Its own metadata: not part of the app's schema.
_changes = sa.Table(
    "scan_flag_changes", sa.MetaData(),
    sa.Column("action", sa.String(10), nullable=False),  # an _Action
    sa.Column("flag_id", sa.Integer),  # the open flag to update or clear; NULL to raise
    sa.Column("client_id", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("reasons", sa.String(200), nullable=False),
    prefixes=["TEMPORARY"],
)


def _context(now: datetime) -> ScanContext:
    return ScanContext(
        now=now, today=now.astimezone(SHANGHAI).date(),
        dormant_default_days=settings.get_int("dormant_default_days"),
        dormant_asset_days=settings.get_int("dormant_asset_days"),
        at_risk_drop_percent=settings.get_int("at_risk_drop_percent"),
        at_risk_drop_days=settings.get_int("at_risk_drop_days"),
        at_risk_satisfaction_max=settings.get_int("at_risk_satisfaction_max"),
    )


def _due_days(today: date, now: datetime, count: int) -> list[datetime]:
    """09:00 Shanghai today (or now, if later), then 09:00 on each of the next working days."""
    from crm.domain.workdays import is_working_day
    from crm.services.complaints import overrides

    dues = [max(local_morning(today), now)]
    calendar = overrides()  # read even when one day is enough: the statement count stays constant
    day = today
    while len(dues) < count:
        day += timedelta(days=1)
        if is_working_day(day, calendar):
            dues.append(local_morning(day))
    return dues


def _text(value: str) -> sa.ColumnElement[str]:
    """A constant string inlined in the SQL (reason codes, kinds), so PostgreSQL types it as text."""
    if not re.fullmatch(r"[a-z_:, ]*", value):
        raise ValueError(value)
    return sa.literal_column(f"'{value}'", sa.String)


def _conditions(ctx: ScanContext, tier_days: dict[int, int]
                ) -> tuple[dict[str, sa.ColumnElement[bool]], sa.Subquery]:
    """Each reason code's condition on `clients` outer-joined with the returned snapshot summary."""
    c = Client.__table__
    s = AssetSnapshot.__table__
    whole_history = {"partition_by": s.c.client_id, "order_by": s.c.as_of, "rows": (None, None)}
    history = sa.select(
        s.c.client_id, s.c.as_of, s.c.total_assets_fen.label("total"),
        # One window for both (LAG ignores the frame): a single sort and pass over the snapshots.
        sa.func.lag(s.c.total_assets_fen).over(**whole_history).label("previous"),
        sa.func.max(s.c.as_of).over(**whole_history).label("latest_on"),
    ).subquery("history")
    h = history.c
    asset_from = ctx.today - timedelta(days=ctx.dormant_asset_days)
    is_change = sa.and_(h.as_of >= sa.literal(asset_from, sa.Date),
                        sa.or_(h.previous.is_(None), h.previous != h.total))
    summary = sa.select(
        h.client_id,
        sa.func.max(sa.case((is_change, 1), else_=0)).label("changes"),
        sa.func.max(h.latest_on).label("latest_on"),
        sa.func.max(sa.case((h.as_of == h.latest_on, h.total))).label("latest_total"),
        sa.func.max(sa.case((h.as_of >= dialect.days_before(h.latest_on, ctx.at_risk_drop_days), h.total))).label("peak"),
    ).group_by(h.client_id).subquery("assets")
    a = summary.c

    def cutoff(days: int) -> sa.ColumnElement:
        return sa.literal(ctx.day_start(days), UTCDateTime())

    default_cutoff = cutoff(ctx.dormant_default_days)
    contact_cutoff = (sa.case({tier_id: cutoff(days) for tier_id, days in tier_days.items()},
                              value=c.c.tier_id, else_=default_cutoff) if tier_days else default_cutoff)
    last_contact = sa.func.coalesce(c.c.last_contact_at, c.c.account_opened_at, c.c.created_at)
    keep = 100 - ctx.at_risk_drop_percent
    conditions: dict[str, sa.ColumnElement[bool]] = {
        "no_contact": last_contact < contact_cutoff,
        "no_asset_activity": a.changes == 0,  # NULL (no snapshot at all) is not flagged
        "assets_drop": sa.and_(
            a.latest_on >= sa.literal(ctx.today - timedelta(days=ctx.at_risk_drop_days), sa.Date),
            a.latest_total < a.peak,
            # NUMERIC: a BIGINT amount times 100 may exceed BIGINT.
            sa.cast(a.latest_total, sa.Numeric) * 100 <= sa.cast(a.peak, sa.Numeric) * keep),
        "low_satisfaction": c.c.last_satisfaction <= ctx.at_risk_satisfaction_max,
        "leaving_intent": c.c.last_intent.in_(LEAVING_INTENTS),
    }
    for source in EXTRA_SOURCES:
        if source.code not in REASONS:
            raise ValueError(f"unknown reason code {source.code}")
        extra = c.c.id.in_(source.clients(ctx))
        conditions[source.code] = sa.or_(conditions[source.code], extra) if source.code in conditions else extra
    return conditions, summary


def current_flags_select(ctx: ScanContext, tier_days: dict[int, int]) -> sa.CompoundSelect:
    """SELECT (client_id, kind, reasons, owner_id) of every flag the rules raise at ctx.now."""
    c = Client.__table__
    conditions, summary = _conditions(ctx, tier_days)

    def reasons(kind: str) -> sa.ColumnElement[str]:
        parts = [sa.case((conditions[code], _text(code + ",")), else_=_text(""))
                 for code, of_kind in REASONS.items() if of_kind == kind and code in conditions]
        return sa.func.rtrim(functools.reduce(operator.add, parts), ",")

    per_client = (
        sa.select(c.c.id.label("client_id"), c.c.owner_id,
                  reasons(FlagKind.DORMANT).label(FlagKind.DORMANT.value),
                  reasons(FlagKind.AT_RISK).label(FlagKind.AT_RISK.value))
        .select_from(c.outerjoin(summary, summary.c.client_id == c.c.id))
        .where(c.c.stage.in_(SCANNED_STAGES))
        .cte("per_client"))
    p = per_client.c
    return sa.union_all(*(
        sa.select(p.client_id, _text(kind).label("kind"), p[kind].label("reasons"), p.owner_id)
        .where(p[kind] != _text(""))
        for kind in FlagKind))


def _tier_days() -> dict[int, int]:
    return dict(db.session.execute(sa.select(Tier.id, Tier.max_days_between_contacts)).all())


def _changes_select(ctx: ScanContext, tier_days: dict[int, int]) -> sa.CompoundSelect:
    """(action, flag_id, client_id, kind, reasons): the current flags compared with the open ones.

    raise: a current (client, kind) without an open flag; update: an open flag whose reasons
    differ; clear: an open flag whose (client, kind) is no longer current. No FULL JOIN (SQLite
    has it only since 3.39): a LEFT JOIN and an anti-join over the same two CTEs.
    """
    flags = ClientFlag.__table__
    current = current_flags_select(ctx, tier_days).cte("current_flags")
    opened = (sa.select(flags.c.id, flags.c.client_id, flags.c.kind, flags.c.reasons)
              .where(flags.c.cleared_at.is_(None)).cte("open_flags"))
    cur, op = current.c, opened.c
    same = sa.and_(op.client_id == cur.client_id, op.kind == cur.kind)
    new_or_changed = (
        sa.select(sa.case((op.id.is_(None), _text(_Action.RAISE)), else_=_text(_Action.UPDATE)), op.id,
                  cur.client_id, cur.kind, cur.reasons)
        .select_from(current.outerjoin(opened, same))
        .where(sa.or_(op.id.is_(None), op.reasons != cur.reasons)))
    gone = (sa.select(_text(_Action.CLEAR), op.id, op.client_id, op.kind, op.reasons)
            .where(~sa.exists().where(same)))
    return sa.union_all(new_or_changed, gone)


def scan_clients(now: datetime | None = None) -> ScanReport:
    """Flag dormant and at-risk clients, update and clear open flags, add one follow-up per new flag.

    Set-based: a constant number of statements whatever the number of clients (see the module
    docstring). Flushes; the caller commits. Re-running it creates nothing while the flags stay open.
    """
    started = timer.perf_counter()
    if now is not None and now.tzinfo is None:
        raise ValueError("scan_clients needs an aware datetime")
    now = (now or utcnow()).astimezone(timezone.utc)
    db.session.flush()
    _take_turns()
    ctx = _context(now)
    _stage_changes(ctx)
    report = _count_changes()
    stamp = sa.literal(now, UTCDateTime())
    if report.cleared:
        _clear_flags(stamp)
    if report.updated:
        _update_reasons()
    if report.raised_dormant or report.raised_at_risk:
        last_id = _raise_flags(stamp)
        report.followups_created = _add_flag_followups(ctx, last_id, stamp)
    db.session.execute(sa.text(f"DROP TABLE {_changes.name}"))
    report.seconds = timer.perf_counter() - started
    _record(report)
    return report


def _take_turns() -> None:
    """PostgreSQL: wait for any other scan to finish (two at once would both raise the same flag)."""
    if dialect.is_postgresql():
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))


def _stage_changes(ctx: ScanContext) -> None:
    """Fill the temporary `_changes` with the differences between the current flags and the open ones."""
    dialect.drop_temporary_table(_changes.name)
    _changes.create(db.session.connection())
    db.session.execute(sa.insert(_changes).from_select(
        ["action", "flag_id", "client_id", "kind", "reasons"], _changes_select(ctx, _tier_days())))
    if dialect.is_postgresql():
        # Temporary tables are never analyzed automatically; the joins below need its size.
        db.session.execute(sa.text(f"ANALYZE {_changes.name}"))


def _count_changes() -> ScanReport:
    """A report with the staged changes counted by action and kind, and the clients in scope."""
    changes, clients = _changes, Client.__table__
    counts = {(action, kind): n for action, kind, n in db.session.execute(
        sa.select(changes.c.action, changes.c.kind, sa.func.count()).group_by(changes.c.action, changes.c.kind))}
    by_action = {action: sum(n for (done, _), n in counts.items() if done == action) for action in _Action}
    return ScanReport(
        raised_dormant=counts.get((_Action.RAISE, FlagKind.DORMANT), 0),
        raised_at_risk=counts.get((_Action.RAISE, FlagKind.AT_RISK), 0),
        updated=by_action[_Action.UPDATE], cleared=by_action[_Action.CLEAR],
        scanned=db.session.execute(sa.select(sa.func.count()).select_from(clients)
                                   .where(clients.c.stage.in_(SCANNED_STAGES))).scalar_one())


def _clear_flags(stamp: sa.ColumnElement) -> None:
    """Clear the flags whose reasons went away, and cancel their follow-ups still to do (done ones stay).

    A cleared flag keeps its row, since and reasons; cleared_at says when its reasons went away.
    """
    flags, changes, followups = ClientFlag.__table__, _changes, FollowUp.__table__
    db.session.execute(sa.update(flags).values(cleared_at=stamp).where(
        flags.c.id == changes.c.flag_id, changes.c.action == _text(_Action.CLEAR)))
    db.session.execute(sa.update(followups).values(status=_text(FollowUpStatus.CANCELLED)).where(
        followups.c.source == _text(FollowUpSource.FLAG),
        followups.c.status.in_([_text(FollowUpStatus.OPEN), _text(FollowUpStatus.SNOOZED)]),
        followups.c.flag_id.in_(sa.select(changes.c.flag_id).where(changes.c.action == _text(_Action.CLEAR)))))


def _update_reasons() -> None:
    """Write the new reasons of the open flags whose reasons changed, in place."""
    flags, changes = ClientFlag.__table__, _changes
    db.session.execute(sa.update(flags).values(reasons=changes.c.reasons).where(
        flags.c.id == changes.c.flag_id, changes.c.action == _text(_Action.UPDATE)))


def _raise_flags(stamp: sa.ColumnElement) -> int:
    """Insert the new flags; returns the largest flag id before them (the new ones are above it).

    Reads from the changes only, never from client_flags while inserting into it.
    """
    flags, changes = ClientFlag.__table__, _changes
    last_id = db.session.execute(sa.select(sa.func.coalesce(sa.func.max(flags.c.id), 0))).scalar_one()
    db.session.execute(sa.insert(flags).from_select(
        ["client_id", "kind", "reasons", "since"],
        sa.select(changes.c.client_id, changes.c.kind, changes.c.reasons, stamp)
        .where(changes.c.action == _text(_Action.RAISE))))
    return last_id


def _add_flag_followups(ctx: ScanContext, last_id: int, stamp: sa.ColumnElement) -> int:
    """One follow-up per flag raised (ids above last_id) for the client's owner; returns how many were added.

    Due 09:00 Shanghai today, or now if later. The unique (source, source_key) makes a repeat impossible.
    A manager gets at most `flag_followups_per_day` of them per working day (at-risk first); the rest are
    due on the next working days, so a go-live scan does not bury anyone.
    """
    flags, clients = ClientFlag.__table__, Client.__table__
    priority = sa.case((flags.c.kind == _text(FlagKind.AT_RISK), PRIORITY[FlagKind.AT_RISK]),
                       else_=PRIORITY[FlagKind.DORMANT])
    raised = (sa.select(flags.c.id, flags.c.client_id, flags.c.kind, flags.c.reasons, clients.c.owner_id,
                        priority.label("priority"),
                        sa.func.row_number().over(partition_by=clients.c.owner_id,
                                                  order_by=(priority, flags.c.id)).label("rank"))
              .join_from(flags, clients, clients.c.id == flags.c.client_id)
              .where(flags.c.id > last_id, flags.c.cleared_at.is_(None)).subquery("raised"))
    per_day = settings.get_int("flag_followups_per_day")
    most = db.session.execute(sa.select(sa.func.max(raised.c.rank))).scalar_one() or 0
    dues = _due_days(ctx.today, ctx.now, (most - 1) // per_day + 1)
    day = (raised.c.rank - 1) // per_day

    def on_day(offset: timedelta) -> sa.ColumnElement:
        return sa.case({n: sa.literal(due - offset, UTCDateTime()) for n, due in enumerate(dues)}, value=day,
                       else_=sa.literal(dues[-1] - offset, UTCDateTime()))
    origin = followup_sources.flag_columns(raised.c.id)  # source, source_key, flag_id
    return db.session.execute(insert_ignoring_twins().from_select(
        ["client_id", "assignee_id", "due_at", "kind", "priority", "status", *origin,
         "title", "note", "snooze_reason", "reminder_at", "created_at", "version"],
        sa.select(
            raised.c.client_id, raised.c.owner_id, on_day(timedelta(0)), _text(FollowUpKind.FLAG),
            raised.c.priority, _text(FollowUpStatus.OPEN), *origin.values(),
            raised.c.kind + _text(": ") + raised.c.reasons, _text(""), _text(""),
            on_day(timedelta(minutes=30)), stamp, sa.literal(1, sa.Integer),
        ).select_from(raised).where(sa.true()),  # SQLite needs a WHERE before ON CONFLICT
    ), execution_options={"preserve_rowcount": True}).rowcount


def _record(report: ScanReport) -> None:
    """One audit event with every count (the cleared flags stay in client_flags: the table is the history)."""
    audit.record(None, "flags.scan", "client_flags", None, params={
        "raised_dormant": report.raised_dormant, "raised_at_risk": report.raised_at_risk,
        "updated": report.updated, "cleared": report.cleared, "followups": report.followups_created,
        "scanned": report.scanned})
    db.session.flush()
    # The statements bypassed the ORM: loaded flags must be read again.
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, ClientFlag):
            db.session.expire(obj)


# --------------------------------------------------------------------------- reading


def reason_codes(flag: ClientFlag) -> list[str]:
    """A flag's reason codes, in REASONS order."""
    return [code for code in flag.reasons.split(",") if code]


def open_flags(client_id: int) -> list[ClientFlag]:
    """A client's open flags, at_risk first."""
    query = (sa.select(ClientFlag).where(ClientFlag.client_id == client_id, ClientFlag.cleared_at.is_(None))
             .order_by(ClientFlag.kind, ClientFlag.since))
    return list(db.session.execute(query).scalars())


def open_flag_kinds(client_ids: Iterable[int]) -> dict[int, set[str]]:
    """For a page of clients, the kinds of their open flags (one query; clients without flags are absent)."""
    ids = sorted(set(client_ids))
    if not ids:
        return {}
    found: dict[int, set[str]] = {}
    rows = db.session.execute(sa.select(ClientFlag.client_id, ClientFlag.kind).where(
        ClientFlag.client_id.in_(ids), ClientFlag.cleared_at.is_(None)))
    for client_id, kind in rows:
        found.setdefault(client_id, set()).add(kind)
    return found


def flags_for_owner_ids(owner_ids: Iterable[int], kind: str | None = None, limit: int = 200) -> list[ClientFlag]:
    """Open flags of the clients these users own (a lead's dashboard): at_risk first, oldest first.

    The client is loaded with each flag (one query). The caller decides which owners the user may see.
    """
    ids = sorted(set(owner_ids))
    if not ids:
        return []
    query = (sa.select(ClientFlag).join(Client, Client.id == ClientFlag.client_id)
             .options(so.contains_eager(ClientFlag.client))
             .where(Client.owner_id.in_(ids), ClientFlag.cleared_at.is_(None)))
    if kind is not None:
        query = query.where(ClientFlag.kind == kind)
    # "at_risk" sorts before "dormant".
    query = query.order_by(ClientFlag.kind, ClientFlag.since, ClientFlag.id).limit(limit)
    return list(db.session.execute(query).scalars())


@dataclass(frozen=True)
class FlagFigures:
    """The figures behind a client's flags, read at display time (money in fen, days on the Shanghai calendar)."""

    today: date
    last_contact_on: date | None
    contact_limit_days: int  # the tier's interval, or dormant_default_days without a tier
    tier_name: str | None
    last_change_on: date | None  # the last snapshot whose total changed (or the first one)
    asset_limit_days: int  # dormant_asset_days
    peak_fen: int | None  # highest total within drop_days before the latest snapshot
    latest_fen: int | None
    drop_days: int  # at_risk_drop_days
    satisfaction: int | None
    intent: str | None
    ever_contacted: bool = True  # False: last_contact_on is the account opening (or the record's creation)


@dataclass
class FlaggedClient:
    """One client on the lead's list: all its open flags (at_risk first) and their figures."""

    client: Client
    flags: list[ClientFlag]
    figures: FlagFigures

    @property
    def codes(self) -> list[str]:
        """Every reason code of the client's open flags, in REASONS order."""
        held = {code for flag in self.flags for code in reason_codes(flag)}
        return [code for code in REASONS if code in held]


def _asset_figures(client_ids: list[int], drop_days: int) -> dict[int, tuple]:
    """(latest total, peak within drop_days before it, last change date) per client: one query."""
    s = AssetSnapshot.__table__
    per_client = {"partition_by": s.c.client_id, "order_by": s.c.as_of, "rows": (None, None)}
    history = sa.select(
        s.c.client_id, s.c.as_of, s.c.total_assets_fen.label("total"),
        sa.func.lag(s.c.total_assets_fen).over(**per_client).label("previous"),
        sa.func.max(s.c.as_of).over(**per_client).label("latest_on"),
    ).where(s.c.client_id.in_(client_ids)).subquery("history")
    h = history.c
    rows = db.session.execute(sa.select(
        h.client_id,
        sa.func.max(sa.case((h.as_of == h.latest_on, h.total))),
        sa.func.max(sa.case((h.as_of >= dialect.days_before(h.latest_on, drop_days), h.total))),
        sa.func.max(sa.case((sa.or_(h.previous.is_(None), h.previous != h.total), h.as_of))),
    ).group_by(h.client_id))
    return {client_id: (latest, peak, changed) for client_id, latest, peak, changed in rows}


def flag_figures(clients: Iterable[Client], now: datetime | None = None) -> dict[int, FlagFigures]:
    """The figures behind the flags of these clients (tier and owner loaded): one snapshot query and the settings."""
    clients = list(clients)
    if not clients:
        return {}
    now = now or utcnow()
    today = now.astimezone(SHANGHAI).date()
    default_days = settings.get_int("dormant_default_days")
    asset_days = settings.get_int("dormant_asset_days")
    drop_days = settings.get_int("at_risk_drop_days")
    assets = _asset_figures(sorted({c.id for c in clients}), drop_days)
    found = {}
    for c in clients:
        contact = c.last_contact_at or c.account_opened_at or c.created_at
        latest, peak, changed = assets.get(c.id, (None, None, None))
        if isinstance(changed, str):  # SQLite returns the CASE over a DATE as text
            changed = date.fromisoformat(changed)
        found[c.id] = FlagFigures(
            today=today, last_contact_on=contact.astimezone(SHANGHAI).date() if contact else None,
            contact_limit_days=c.tier.max_days_between_contacts if c.tier else default_days,
            tier_name=c.tier.name if c.tier else None, last_change_on=changed, asset_limit_days=asset_days,
            peak_fen=peak, latest_fen=latest, drop_days=drop_days,
            satisfaction=c.last_satisfaction, intent=c.last_intent, ever_contacted=c.last_contact_at is not None)
    return found


def flagged_clients(owner_ids: Iterable[int], offset: int = 0, limit: int = 20,
                    now: datetime | None = None) -> tuple[list[FlaggedClient], bool]:
    """A page of the flagged clients these users own, one entry per client, and whether more follow.

    At-risk clients first, then the longest flagged. Three queries (the page of clients, their flags
    with client, owner and tier, the snapshot figures) and the settings, whatever the page size.
    The caller decides which owners the user may see.
    """
    ids = sorted(set(owner_ids))
    if not ids:
        return [], False
    flags = ClientFlag.__table__
    page = list(db.session.execute(
        sa.select(flags.c.client_id).join(Client.__table__, Client.id == flags.c.client_id)
        .where(Client.owner_id.in_(ids), flags.c.cleared_at.is_(None))
        .group_by(flags.c.client_id)
        # "at_risk" sorts before "dormant".
        .order_by(sa.func.min(flags.c.kind), sa.func.min(flags.c.since), flags.c.client_id)
        .offset(offset).limit(limit + 1)).scalars())
    more, page = len(page) > limit, page[:limit]
    if not page:
        return [], more
    found = flagged_for_clients(page, now)
    return [found[i] for i in page if i in found], more


def flagged_for_clients(client_ids: Iterable[int], now: datetime | None = None) -> dict[int, FlaggedClient]:
    """These clients' open flags with their figures, by client id (clients without flags are absent).

    Two queries (the flags with client, owner and tier; the snapshot figures) and the settings.
    """
    ids = sorted(set(client_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(ClientFlag).options(so.joinedload(ClientFlag.client).joinedload(Client.owner),
                                      so.joinedload(ClientFlag.client).joinedload(Client.tier))
        .where(ClientFlag.client_id.in_(ids), ClientFlag.cleared_at.is_(None))
        .order_by(ClientFlag.kind, ClientFlag.id)).scalars()
    by_client: dict[int, list[ClientFlag]] = {}
    for flag in rows:
        by_client.setdefault(flag.client_id, []).append(flag)
    figures = flag_figures([found[0].client for found in by_client.values()], now)
    return {i: FlaggedClient(found[0].client, found, figures[i]) for i, found in by_client.items()}
