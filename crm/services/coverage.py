"""Outlet coverage (驻点排班): weekly patterns and their exceptions, the week per outlet with its gaps,
and the manager's check-in and check-out.

Who may do what (docs/access.md): a lead plans the patterns and exceptions of their team's members, an
admin anyone's; a manager sees their own week and records their own exceptions (a day of leave, a swap
agreed with a colleague) so the lead's week is right without a phone call, but never plans patterns.
Anyone signed in checks themselves in and out. Every change is audited.

Times are aware UTC in the database; the day of a check-in is its Asia/Shanghai date.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from crm.domain import coverage as rules
from crm.domain import workdays
from crm.domain.clock import SHANGHAI
from crm.domain.refusals import NotAllowed, NotFound, RuleError
from crm.extensions import db
from crm.models import Outlet, Role, User, utcnow
from crm.models.coverage import CheckIn, CoverageException, CoverageExceptionKind, CoveragePattern
from crm.services import audit
from crm.services.access import coverage_people
from crm.services.complaints import overrides


def shanghai_day(moment: datetime) -> date:
    """The Asia/Shanghai date of an aware moment."""
    return moment.astimezone(SHANGHAI).date()


def today() -> date:
    """Today in Asia/Shanghai."""
    return shanghai_day(utcnow())


def _working():
    calendar = overrides()
    return lambda day: workdays.is_working_day(day, calendar)


# ------------------------------------------------------------------ who

def members(user: User, team_id: int | None = None) -> list[User]:
    """The active people whose coverage the user plans: a lead their team, an admin everyone (or one
    team's); a manager only themselves."""
    query = sa.select(User).where(User.active.is_(True), User.role != Role.ADMIN, coverage_people(user))
    if user.role == Role.ADMIN and team_id is not None:
        query = query.where(User.team_id == team_id)
    return list(db.session.execute(query.order_by(User.display_name)).scalars())


def _check_member(actor: User, member: User, *, own_allowed: bool) -> None:
    """The actor may plan this member's coverage, else NotFound (or NotAllowed for a manager's patterns)."""
    if actor.role == Role.ADMIN:
        return
    if actor.role == Role.LEAD and actor.team_id is not None and member.team_id == actor.team_id:
        return
    if member.id == actor.id and actor.role == Role.MANAGER:
        if own_allowed:
            return
        raise NotAllowed("coverage")
    raise NotFound("user")


def _check_outlet(outlet: Outlet | None, field_name: str = "outlet_id") -> Outlet:
    if outlet is None or not outlet.active:
        raise RuleError("coverage.outlet_inactive", field_name)
    return outlet


# ------------------------------------------------------------------ the week

@dataclass
class Cell:
    """One outlet on one day: who is planned, who checked in, whether it is a gap."""

    day: date
    working: bool
    planned: list[User] = field(default_factory=list)
    checked_in: list[CheckIn] = field(default_factory=list)
    gap: bool = False


@dataclass
class OutletWeek:
    """One outlet's row of the week."""

    outlet: Outlet
    cells: list[Cell]

    @property
    def gap_count(self) -> int:
        return sum(cell.gap for cell in self.cells)


@dataclass
class Week:
    """A lead's week: one row per outlet, the gaps, and the patterns and exceptions behind them."""

    monday: date
    days: list[date]
    working: list[bool]
    outlets: list[OutletWeek]
    gaps: list[tuple[date, Outlet]]
    members: list[User]
    patterns: list[CoveragePattern]
    exceptions: list[CoverageException]
    team_id: int | None = None

    @property
    def previous(self) -> date:
        return self.monday - timedelta(days=7)

    @property
    def next(self) -> date:
        return self.monday + timedelta(days=7)


def _patterns_for(user_ids: list[int], first: date, last: date) -> list[CoveragePattern]:
    return list(db.session.execute(
        sa.select(CoveragePattern).where(
            CoveragePattern.user_id.in_(user_ids), CoveragePattern.starts_on <= last,
            sa.or_(CoveragePattern.ends_on.is_(None), CoveragePattern.ends_on >= first))
        .order_by(CoveragePattern.weekday, CoveragePattern.starts_on, CoveragePattern.id)).scalars())


def _exceptions_for(user_ids: list[int], first: date, last: date) -> list[CoverageException]:
    return list(db.session.execute(
        sa.select(CoverageException).where(CoverageException.user_id.in_(user_ids),
                                           CoverageException.day.between(first, last))
        .order_by(CoverageException.day, CoverageException.id)).scalars())


def _check_ins_for(user_ids: list[int], first: date, last: date) -> list[CheckIn]:
    return list(db.session.execute(
        sa.select(CheckIn).where(CheckIn.user_id.in_(user_ids), CheckIn.day.between(first, last))
        .order_by(CheckIn.checked_in_at)).scalars())


def week(user: User, monday: date, team_id: int | None = None) -> Week:
    """The week from `monday` for a lead (their team) or an admin (everyone, or one team): per outlet
    per day who is planned and who checked in, and the gaps (working days an outlet has nobody).

    The outlets shown are the active outlets the people are based at or planned at that week (and any
    outlet one of them checked in at); gaps are counted at the outlets they are based at or have a
    weekly pattern at. An admin looking at every team sees, and counts gaps at, every active outlet.
    """
    monday = rules.monday_of(monday)
    days = rules.week_days(monday)
    working = _working()
    people = members(user, team_id)
    ids = [p.id for p in people]
    by_id = {p.id: p for p in people}
    patterns = _patterns_for(ids, days[0], days[-1])
    exceptions = _exceptions_for(ids, days[0], days[-1])
    plan = rules.week_plan(patterns, exceptions, days, working)
    check_ins = _check_ins_for(ids, days[0], days[-1])

    if user.role == Role.ADMIN and team_id is None:
        outlet_query = sa.select(Outlet).where(Outlet.active.is_(True))
    else:
        wanted = ({p.outlet_id for p in people if p.outlet_id} | {outlet_id for _, outlet_id in plan}
                  | {c.outlet_id for c in check_ins})
        outlet_query = sa.select(Outlet).where(Outlet.id.in_(wanted),
                                               sa.or_(Outlet.active.is_(True), Outlet.id.in_(
                                                   {outlet_id for _, outlet_id in plan})))
    outlets = list(db.session.execute(outlet_query.order_by(Outlet.bank, Outlet.branch)).scalars())
    # Gaps are counted at the team's own outlets (its people's bases and patterns), or every active one
    # for an admin looking at all teams; an outlet shown only for a swap or a check-in is not the team's.
    own = {p.outlet_id for p in people if p.outlet_id} | {p.outlet_id for p in patterns}
    active = [o.id for o in outlets if o.active and (user.role == Role.ADMIN and team_id is None or o.id in own)]
    gap_set = set(rules.gaps(plan, active, days, working))
    is_working = [working(day) for day in days]
    rows = []
    for outlet in outlets:
        cells = []
        for day, on in zip(days, is_working, strict=True):
            cells.append(Cell(day=day, working=on,
                              planned=[by_id[i] for i in plan.get((day, outlet.id), []) if i in by_id],
                              checked_in=[c for c in check_ins if c.day == day and c.outlet_id == outlet.id],
                              gap=(day, outlet.id) in gap_set))
        rows.append(OutletWeek(outlet=outlet, cells=cells))
    names = {o.id: o for o in outlets}
    gap_list = sorted(((day, names[outlet_id]) for day, outlet_id in gap_set),
                      key=lambda g: (g[0], g[1].bank, g[1].branch))
    return Week(monday=monday, days=days, working=is_working, outlets=rows, gaps=gap_list, members=people,
                patterns=patterns, exceptions=exceptions, team_id=team_id)


@dataclass
class MyDay:
    """One day of a manager's own week."""

    day: date
    working: bool
    outlets: list[Outlet]
    exception: CoverageException | None
    check_ins: list[CheckIn]
    is_today: bool


@dataclass
class MyWeek:
    """A manager's own week: where they are planned each day, their exceptions and check-ins."""

    monday: date
    days: list[MyDay]

    @property
    def today(self) -> MyDay | None:
        return next((d for d in self.days if d.is_today), None)

    @property
    def previous(self) -> date:
        return self.monday - timedelta(days=7)

    @property
    def next(self) -> date:
        return self.monday + timedelta(days=7)


def my_week(user: User, monday: date, on: date | None = None) -> MyWeek:
    """The user's own week from `monday`; `on` (default today) marks today."""
    on = on or today()
    monday = rules.monday_of(monday)
    days = rules.week_days(monday)
    working = _working()
    patterns = _patterns_for([user.id], days[0], days[-1])
    exceptions = _exceptions_for([user.id], days[0], days[-1])
    check_ins = _check_ins_for([user.id], days[0], days[-1])
    outlet_ids = {p.outlet_id for p in patterns} | {e.outlet_id for e in exceptions if e.outlet_id}
    outlets = {o.id: o for o in db.session.execute(sa.select(Outlet).where(Outlet.id.in_(outlet_ids))).scalars()}
    result = []
    for day in days:
        planned = rules.user_day(patterns, exceptions, user.id, day, working)
        result.append(MyDay(day=day, working=working(day), outlets=[outlets[i] for i in planned if i in outlets],
                            exception=next((e for e in exceptions if e.day == day), None),
                            check_ins=[c for c in check_ins if c.day == day], is_today=day == on))
    return MyWeek(monday=monday, days=result)


def planned_outlet_id(user: User, day: date) -> int | None:
    """Where the user is planned on `day` (the first outlet if several), else None."""
    patterns = _patterns_for([user.id], day, day)
    exceptions = _exceptions_for([user.id], day, day)
    planned = rules.user_day(patterns, exceptions, user.id, day, _working())
    return planned[0] if planned else None


# ------------------------------------------------------------------ patterns and exceptions

def current_patterns(user: User, on: date) -> list[CoveragePattern]:
    """The patterns of the people the user plans for that apply on or after `on`, by person and weekday."""
    ids = [m.id for m in members(user)]
    return list(db.session.execute(
        sa.select(CoveragePattern).join(User, User.id == CoveragePattern.user_id).where(
            CoveragePattern.user_id.in_(ids),
            sa.or_(CoveragePattern.ends_on.is_(None), CoveragePattern.ends_on >= on))
        .order_by(User.display_name, CoveragePattern.weekday, CoveragePattern.starts_on)).scalars())


def _overlaps(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    return (a_end is None or b_start <= a_end) and (b_end is None or a_start <= b_end)


def add_pattern(actor: User, member: User, outlet: Outlet | None, weekdays: list[int], starts_on: date,
                ends_on: date | None) -> CoveragePattern:
    """Station `member` at `outlet` on each of `weekdays` from `starts_on` to `ends_on` (None: until
    changed). One pattern row per weekday; the first is returned. A weekday already planned for the
    member in that period is refused (end the old pattern first)."""
    _check_member(actor, member, own_allowed=False)
    problems = []
    if not weekdays:
        problems.append(RuleError("coverage.weekday_required", "weekdays"))
    if ends_on is not None and ends_on < starts_on:
        problems.append(RuleError("coverage.ends_before_starts", "ends_on"))
    if outlet is None or not outlet.active:
        problems.append(RuleError("coverage.outlet_inactive", "outlet_id"))
    if problems:
        raise RuleError.several(problems)
    existing = db.session.execute(sa.select(CoveragePattern).where(
        CoveragePattern.user_id == member.id, CoveragePattern.weekday.in_(weekdays))).scalars()
    for pattern in existing:
        if _overlaps(pattern.starts_on, pattern.ends_on, starts_on, ends_on):
            raise RuleError("coverage.pattern_overlaps", "weekdays", member=member.display_name,
                            outlet=pattern.outlet.label)
    rows = [CoveragePattern(user_id=member.id, outlet_id=outlet.id, weekday=weekday, starts_on=starts_on,
                            ends_on=ends_on, created_by_id=actor.id) for weekday in sorted(set(weekdays))]
    db.session.add_all(rows)
    db.session.flush()
    audit.record(actor, "coverage.pattern_add", "user", member.id, params={
        "member": member.display_name, "outlet": outlet.label,
        "weekdays": ",".join(str(w + 1) for w in sorted(set(weekdays))),
        "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat() if ends_on else "—"})
    return rows[0]


def end_pattern(actor: User, pattern: CoveragePattern, last_day: date) -> CoveragePattern:
    """The pattern applies no more after `last_day` (kept, for the weeks already past)."""
    _check_member(actor, pattern.user, own_allowed=False)
    if pattern.ends_on is not None and pattern.ends_on <= last_day:
        raise RuleError("coverage.pattern_ended", "last_day")
    pattern.ends_on = max(last_day, pattern.starts_on - timedelta(days=1))
    db.session.flush()
    audit.record(actor, "coverage.pattern_end", "user", pattern.user_id, params={
        "member": pattern.user.display_name, "outlet": pattern.outlet.label, "weekdays": str(pattern.weekday + 1),
        "ends_on": pattern.ends_on.isoformat()})
    return pattern


def add_exception(actor: User, member: User, day: date, kind: str, outlet: Outlet | None,
                  note: str = "") -> CoverageException:
    """One day on which `member` is not where the pattern says: on leave, or at `outlet` (a swap).
    A manager records their own; a lead their team's; an admin anyone's."""
    _check_member(actor, member, own_allowed=True)
    if kind not in {k.value for k in CoverageExceptionKind}:
        raise RuleError("coverage.kind_unknown", "kind")
    if kind == CoverageExceptionKind.ELSEWHERE:
        if outlet is None:
            raise RuleError("coverage.outlet_required", "outlet_id")
        _check_outlet(outlet)
    else:
        outlet = None
    taken = db.session.execute(sa.select(CoverageException.id).where(
        CoverageException.user_id == member.id, CoverageException.day == day)).first()
    if taken is not None:
        raise RuleError("coverage.exception_exists", "day", member=member.display_name)
    row = CoverageException(user_id=member.id, day=day, kind=kind, outlet_id=outlet.id if outlet else None,
                            note=(note or "")[:200], created_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "coverage.exception_add", "user", member.id, params={
        "member": member.display_name, "day": day.isoformat(), "exception_kind": kind,
        "outlet": outlet.label if outlet else "—"})
    return row


def remove_exception(actor: User, exception: CoverageException) -> None:
    """The day follows the weekly pattern again."""
    _check_member(actor, exception.user, own_allowed=True)
    audit.record(actor, "coverage.exception_remove", "user", exception.user_id, params={
        "member": exception.user.display_name, "day": exception.day.isoformat(), "exception_kind": exception.kind})
    db.session.delete(exception)
    db.session.flush()


# ------------------------------------------------------------------ check-in

def todays_check_ins(user: User, day: date) -> list[CheckIn]:
    """The user's check-ins on `day`, first first."""
    return list(db.session.execute(sa.select(CheckIn).where(CheckIn.user_id == user.id, CheckIn.day == day)
                                   .order_by(CheckIn.checked_in_at, CheckIn.id)).scalars())


def todays_check_in(user: User, day: date) -> CheckIn | None:
    """The user's check-in of `day` still open, else the last one of the day, else None."""
    rows = todays_check_ins(user, day)
    open_rows = [c for c in rows if c.checked_out_at is None]
    return (open_rows or rows or [None])[-1]


def checked_in_outlet_id(user: User, day: date) -> int | None:
    """The outlet where the user is checked in (and not yet out) on `day`, else None."""
    found = todays_check_in(user, day)
    return found.outlet_id if found is not None and found.checked_out_at is None else None


def check_in(user: User, outlet: Outlet | None, now: datetime, consent: bool,
             latitude: object = None, longitude: object = None) -> CheckIn:
    """Check the user in at `outlet` on the Shanghai day of `now`; a second tap is the same row.

    The location is kept only with `consent`, and coarse (two decimals); without consent the
    coordinates are dropped here, never stored. Checking in at another outlet checks out of the one
    still open that day.
    """
    _check_outlet(outlet)
    day = shanghai_day(now)
    lat = lon = None
    if consent and latitude not in (None, "") and longitude not in (None, ""):
        try:
            lat, lon = rules.coarse(latitude, longitude)
        except RuleError:
            raise RuleError("coverage.location_invalid", "share_location") from None
    rows = todays_check_ins(user, day)
    for other in rows:
        if other.outlet_id != outlet.id and other.checked_out_at is None:
            other.checked_out_at = now
    same = next((c for c in rows if c.outlet_id == outlet.id), None)
    if same is not None:
        if same.checked_out_at is not None:  # back at the same outlet after leaving it
            same.checked_out_at = None
            _store_location(same, consent, lat, lon)
            db.session.flush()
        return same
    row = CheckIn(user_id=user.id, outlet_id=outlet.id, day=day, checked_in_at=now)
    _store_location(row, consent, lat, lon)
    db.session.add(row)
    db.session.flush()
    audit.record(user, "coverage.check_in", "outlet", outlet.id,
                 params={"outlet": outlet.label, "day": day.isoformat(), "location": "yes" if lat is not None
                         else "no"})
    return row


def _store_location(row: CheckIn, consent: bool, lat: Decimal | None, lon: Decimal | None) -> None:
    row.location_consent = bool(consent and lat is not None)
    row.latitude, row.longitude = (lat, lon) if row.location_consent else (None, None)


def check_out(user: User, now: datetime) -> CheckIn:
    """Close the user's open check-in of today; refused when there is none."""
    found = todays_check_in(user, shanghai_day(now))
    if found is None or found.checked_out_at is not None:
        raise RuleError("coverage.not_checked_in")
    found.checked_out_at = now
    db.session.flush()
    audit.record(user, "coverage.check_out", "outlet", found.outlet_id,
                 params={"outlet": found.outlet.label, "day": found.day.isoformat()})
    return found


def get_outlet(outlet_id: int | None) -> Outlet | None:
    """An outlet by id, or None."""
    return db.session.get(Outlet, outlet_id) if outlet_id else None


def get_member(user: User, member_id: int | None) -> User:
    """A person whose coverage the user may see, else NotFound."""
    found = db.session.execute(sa.select(User).where(User.id == (member_id or 0), coverage_people(user))
                               ).scalar_one_or_none()
    if found is None:
        raise NotFound("user")
    return found
